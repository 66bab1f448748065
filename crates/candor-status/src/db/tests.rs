use super::*;

fn specs() -> Vec<ComponentSpec> {
    vec![
        ComponentSpec {
            key: "ns:127.0.0.1:53".into(),
            name: "ns1".into(),
            location: Some("Amsterdam".into()),
            description: None,
            kind: ComponentKind::NameServer,
        },
        ComponentSpec {
            key: "api".into(),
            name: "API".into(),
            location: None,
            description: None,
            kind: ComponentKind::Api,
        },
    ]
}

fn operator() -> UpdateSource {
    UpdateSource::Operator("ops@example.net".into())
}

fn incident(db: &mut StatusDb, components: Vec<(i64, ComponentStatus)>, zones: &[&str]) -> Written {
    db.create_incident(
        &NewIncident {
            name: "ns1 not answering".into(),
            status: IncidentStatus::Investigating,
            impact: None,
            automatic: false,
            started_at: None,
            scheduled_for: None,
            scheduled_until: None,
            components,
            zones: zones.iter().map(|z| (*z).to_owned()).collect(),
            body: "We are looking into it.".into(),
            source: operator(),
        },
        1_000,
    )
    .unwrap()
}

fn webhook(n: u32) -> Channel {
    Channel::Webhook {
        url: format!("http://127.0.0.1:9/{n}"),
        secret: "0123456789abcdef".into(),
    }
}

#[test]
fn components_sync_keeps_history_and_retires() {
    let mut db = StatusDb::open_memory().unwrap();
    let c = db.sync_components(&specs(), 10).unwrap();
    assert_eq!(c.len(), 2);
    db.record_round(&[(c[0].id, ComponentStatus::Operational)], 86_400 * 5)
        .unwrap();
    db.record_round(&[(c[0].id, ComponentStatus::MajorOutage)], 86_400 * 5 + 3)
        .unwrap();
    let again = db.sync_components(&specs()[..1], 20).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].id, c[0].id);
    let days = db.uptime(c[0].id, 86_400 * 5 + 10).unwrap();
    assert_eq!(days.len(), HISTORY_DAYS as usize);
    let today = days.last().unwrap();
    assert_eq!((today.day, today.ok, today.major), (5, 1, 1));
    assert_eq!(today.percent(), Some(50.0));
}

#[test]
fn incident_lifecycle_and_deliveries() {
    let mut db = StatusDb::open_memory().unwrap();
    let c = db.sync_components(&specs(), 10).unwrap();
    let all = db.add_subscriber(&webhook(1), None, &[], 10).unwrap();
    let other_zone = db
        .add_subscriber(&webhook(2), Some(7), &["other.test".into()], 10)
        .unwrap();
    let mail = db
        .add_subscriber(
            &Channel::Email {
                address: "a@b.test".into(),
            },
            Some(8),
            &["Demo.Test.".into()],
            10,
        )
        .unwrap();
    assert_eq!(mail.zones, vec!["demo.test".to_owned()]);

    // An incident naming no zone reaches everyone.
    let w = incident(&mut db, vec![(c[0].id, ComponentStatus::MajorOutage)], &[]);
    assert_eq!(w.queued, 3);
    assert_eq!(w.incident.incident.impact, Impact::Critical);
    assert_eq!(w.incident.incident.public_id.len(), 12);
    let id = w.incident.incident.id;

    // One naming a zone reaches only the unfiltered and that zone's owner.
    let w2 = incident(&mut db, vec![], &["demo.test"]);
    let who: Vec<i64> = db
        .deliveries(w2.incident.incident.id)
        .unwrap()
        .iter()
        .map(|d| d.subscriber_id)
        .collect();
    assert_eq!(who, vec![all.id, mail.id]);
    assert!(!who.contains(&other_zone.id));

    let w = db
        .post_update(
            id,
            &NewUpdate {
                status: IncidentStatus::Identified,
                body: "A broken switch.".into(),
                source: operator(),
                impact: None,
                components: None,
            },
            1_100,
        )
        .unwrap();
    assert_eq!(w.incident.incident.status, IncidentStatus::Identified);
    assert_eq!(w.incident.updates.len(), 2);
    assert_eq!(w.incident.updates[0].body, "A broken switch.");

    // Maintenance statuses are refused on incidents.
    let err = db
        .post_update(
            id,
            &NewUpdate {
                status: IncidentStatus::Completed,
                body: "x".into(),
                source: operator(),
                impact: None,
                components: None,
            },
            1_150,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("status: must be one of: investigating"),
        "{err}"
    );

    // A postmortem needs the incident resolved.
    assert!(
        db.attach_postmortem(id, "What happened.", "ops", 1_180)
            .is_err()
    );
    let w = db
        .post_update(
            id,
            &NewUpdate {
                status: IncidentStatus::Resolved,
                body: "Fixed.".into(),
                source: operator(),
                impact: None,
                components: None,
            },
            1_200,
        )
        .unwrap();
    assert_eq!(w.incident.incident.resolved_at, Some(1_200));
    let deliveries = db.deliveries(id).unwrap();
    assert_eq!(deliveries.len(), 9);
    assert_eq!(deliveries.last().unwrap().event, Event::IncidentResolved);
    let keys: std::collections::HashSet<_> = deliveries.iter().map(|d| &d.key).collect();
    assert_eq!(keys.len(), 9, "idempotency keys are unique per delivery");

    // Closed incidents take no more updates, but a postmortem.
    assert!(
        db.post_update(
            id,
            &NewUpdate {
                status: IncidentStatus::Investigating,
                body: "again".into(),
                source: operator(),
                impact: None,
                components: None,
            },
            1_300,
        )
        .is_err()
    );
    let v = db
        .attach_postmortem(id, "What happened.", "ops", 1_400)
        .unwrap();
    assert_eq!(v.incident.postmortem.as_deref(), Some("What happened."));
    assert_eq!(
        db.find_incident(&v.incident.public_id).unwrap().incident.id,
        id
    );
    assert_eq!(db.find_incident(&id.to_string()).unwrap().incident.id, id);
}

#[test]
fn edits_keep_earlier_wording() {
    let mut db = StatusDb::open_memory().unwrap();
    let c = db.sync_components(&specs(), 10).unwrap();
    let w = incident(
        &mut db,
        vec![(c[0].id, ComponentStatus::PartialOutage)],
        &[],
    );
    let update = w.incident.updates[0].id;
    let v = db
        .edit_update(update, "We are looking into timeouts.", "ops", 1_050)
        .unwrap();
    let v = {
        let _ = v;
        db.edit_update(update, "Timeouts from Frankfurt.", "ops2", 1_060)
            .unwrap()
    };
    let u = &v.updates[0];
    assert_eq!(u.body, "Timeouts from Frankfurt.");
    assert_eq!(u.revisions.len(), 2);
    assert_eq!(u.revisions[0].body, "We are looking into it.");
    assert_eq!(u.revisions[1].replaced_by, "ops2");
    assert_eq!(u.edited_at(), Some(1_060));
    let v = db
        .edit_incident(
            v.incident.id,
            Some("Timeouts"),
            Some(Impact::Minor),
            "ops",
            1_070,
        )
        .unwrap();
    assert_eq!(
        (v.incident.name.as_str(), v.incident.impact),
        ("Timeouts", Impact::Minor)
    );
    // Edits queue no deliveries.
    assert_eq!(db.deliveries(v.incident.id).unwrap().len(), 0);
}

#[test]
fn bad_input_names_the_field() {
    let mut db = StatusDb::open_memory().unwrap();
    let err = db
        .add_subscriber(
            &Channel::Webhook {
                url: "ftp://x/y/z".into(),
                secret: "0123456789abcdef".into(),
            },
            None,
            &[],
            1,
        )
        .unwrap_err();
    assert_eq!(err.to_string(), "url: must be an http:// or https:// URL");
    let err = db
        .add_subscriber(
            &Channel::Email {
                address: "nobody".into(),
            },
            None,
            &[],
            1,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "email: \"nobody\" is not an e-mail address"
    );
    let err = db
        .add_subscriber(&webhook(1), None, &["a..b".into()], 1)
        .unwrap_err();
    assert_eq!(err.to_string(), "zones: \"a..b\" is not a domain name");
    let mut new = NewIncident {
        name: " ".into(),
        status: IncidentStatus::Investigating,
        impact: None,
        automatic: false,
        started_at: None,
        scheduled_for: None,
        scheduled_until: None,
        components: vec![],
        zones: vec![],
        body: "b".into(),
        source: operator(),
    };
    assert_eq!(
        db.create_incident(&new, 1).unwrap_err().to_string(),
        "name: must not be empty"
    );
    new.name = "n".into();
    new.components = vec![(99, ComponentStatus::MajorOutage)];
    assert_eq!(
        db.create_incident(&new, 1).unwrap_err().to_string(),
        "components: no component with id 99"
    );
    new.components = vec![];
    new.scheduled_for = Some(100);
    new.scheduled_until = Some(50);
    new.status = IncidentStatus::Scheduled;
    assert_eq!(
        db.create_incident(&new, 1).unwrap_err().to_string(),
        "scheduled_until: must be after scheduled_for"
    );
}

#[test]
fn delivery_retry_disable_and_removal() {
    let mut db = StatusDb::open_memory().unwrap();
    let c = db.sync_components(&specs(), 10).unwrap();
    let s = db.add_subscriber(&webhook(1), None, &[], 10).unwrap();
    let w = incident(&mut db, vec![(c[0].id, ComponentStatus::MajorOutage)], &[]);
    let due = db.due_deliveries(1_000, 10).unwrap();
    assert_eq!(due.len(), 1);
    let d = &due[0].0;
    db.delivery_failed(d.id, "HTTP 500", Some(1_010), false, 1_000)
        .unwrap();
    assert!(db.due_deliveries(1_005, 10).unwrap().is_empty());
    assert_eq!(db.next_due().unwrap(), Some(1_010));
    let again = db.due_deliveries(1_010, 10).unwrap();
    assert_eq!(
        (again[0].0.attempts, again[0].0.key.as_str()),
        (1, d.key.as_str())
    );
    assert_eq!(again[0].1.failures, 1);
    db.delivery_succeeded(d.id, 1_011).unwrap();
    assert_eq!(db.subscriber(s.id).unwrap().failures, 0);
    assert!(db.due_deliveries(2_000, 10).unwrap().is_empty());

    // Disabling abandons what is pending and stops new deliveries.
    let id = w.incident.incident.id;
    let up = NewUpdate {
        status: IncidentStatus::Identified,
        body: "x".into(),
        source: operator(),
        impact: None,
        components: None,
    };
    db.post_update(id, &up, 1_100).unwrap();
    let d = db.due_deliveries(1_100, 10).unwrap().remove(0).0;
    db.delivery_failed(d.id, "HTTP 500", Some(1_200), true, 1_100)
        .unwrap();
    assert!(db.subscriber(s.id).unwrap().disabled_at.is_some());
    assert!(db.due_deliveries(5_000, 10).unwrap().is_empty());
    assert_eq!(db.post_update(id, &up, 1_300).unwrap().queued, 0);
    db.enable_subscriber(s.id, None).unwrap();
    assert_eq!(db.post_update(id, &up, 1_400).unwrap().queued, 1);
    // Another account cannot remove it; the operator can.
    assert!(db.remove_subscriber(s.id, Some(3), 1_500).is_err());
    db.remove_subscriber(s.id, None, 1_500).unwrap();
    assert!(db.due_deliveries(5_000, 10).unwrap().is_empty());
    assert!(db.subscribers(None).unwrap().is_empty());
}

#[test]
fn snapshot_indicator_and_generation() {
    let mut db = StatusDb::open_memory().unwrap();
    let c = db.sync_components(&specs(), 10).unwrap();
    db.set_page("Example status", "https://status.example.net/")
        .unwrap();
    let g0 = db.generation().unwrap();
    let s = db.snapshot(100).unwrap();
    assert_eq!(
        (s.indicator, s.url.as_str()),
        (Indicator::None, "https://status.example.net")
    );
    db.set_component_status(&[(c[0].id, ComponentStatus::PartialOutage)], 120)
        .unwrap();
    assert!(db.generation().unwrap() > g0);
    incident(
        &mut db,
        vec![(c[0].id, ComponentStatus::PartialOutage)],
        &[],
    );
    let s = db.snapshot(2_000).unwrap();
    assert_eq!(s.indicator, Indicator::Major);
    assert_eq!(s.open_incidents.len(), 1);
    assert_eq!(
        s.components[0].component.status,
        ComponentStatus::PartialOutage
    );
}

/// `open_existing` creates no file: a missing one is `Missing` with the
/// path it looked at; a database made by `open` opens with its data.
#[test]
fn open_existing_creates_nothing() {
    let dir =
        std::env::temp_dir().join(format!("candor-status-db-existing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("status.db");
    match StatusDb::open_existing(&path) {
        Err(StatusError::Missing(p)) => assert_eq!(p, path),
        Err(e) => panic!("expected Missing, got {e}"),
        Ok(_) => panic!("opened a database that does not exist"),
    }
    assert!(!path.exists(), "open_existing created the file");
    let id = {
        let mut db = StatusDb::open(&path).unwrap();
        let c = db.sync_components(&specs(), 10).unwrap();
        incident(&mut db, vec![(c[0].id, ComponentStatus::MajorOutage)], &[])
            .incident
            .incident
            .id
    };
    let db = StatusDb::open_existing(&path).unwrap();
    assert_eq!(db.incident(id).unwrap().updates.len(), 1);
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reopens_file_and_keeps_everything() {
    let dir = std::env::temp_dir().join(format!("candor-status-db-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("status.sqlite3");
    let id = {
        let mut db = StatusDb::open(&path).unwrap();
        let c = db.sync_components(&specs(), 10).unwrap();
        incident(&mut db, vec![(c[0].id, ComponentStatus::MajorOutage)], &[])
            .incident
            .incident
            .id
    };
    let db = StatusDb::open(&path).unwrap();
    assert_eq!(db.incident(id).unwrap().updates.len(), 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the file with the webhook secrets is private"
        );
    }
    drop(db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn accounts_have_a_subscription_limit_and_the_outbox_reads_on() {
    let mut db = StatusDb::open_memory().unwrap();
    let c = db.sync_components(&specs(), 10).unwrap();
    db.set_max_subscriptions(2).unwrap();
    db.add_subscriber(&webhook(1), Some(7), &[], 10).unwrap();
    let second = db.add_subscriber(&webhook(2), Some(7), &[], 10).unwrap();
    assert_eq!(
        db.add_subscriber(&webhook(3), Some(7), &[], 10)
            .unwrap_err()
            .to_string(),
        "subscriptions: an account may have at most 2 subscriptions; remove one first"
    );
    // Other accounts and the operator are not affected; a removal frees a place.
    db.add_subscriber(&webhook(4), Some(8), &[], 10).unwrap();
    for i in 5..10 {
        db.add_subscriber(&webhook(i), None, &[], 10).unwrap();
    }
    db.remove_subscriber(second.id, Some(7), 11).unwrap();
    db.add_subscriber(&webhook(3), Some(7), &[], 12).unwrap();

    // The notifier reads what is pending, then only what was added since.
    incident(&mut db, vec![(c[0].id, ComponentStatus::MajorOutage)], &[]);
    let pending = db.pending_deliveries(0, 100).unwrap();
    assert_eq!(pending.len(), 8);
    let last = pending.last().unwrap().id;
    assert!(db.pending_deliveries(last, 100).unwrap().is_empty());
    assert_eq!(db.pending_deliveries(0, 3).unwrap().len(), 3);
    assert!(db.delivery_pending(pending[0].id).unwrap());
    db.delivery_failed(pending[0].id, "timed out", Some(20), false, 15)
        .unwrap();
    let s = db.subscriber(pending[0].subscriber_id).unwrap();
    assert_eq!((s.failures, s.failing_since), (1, Some(15)));
    db.delivery_failed(pending[0].id, "timed out", Some(30), false, 25)
        .unwrap();
    let s = db.subscriber(pending[0].subscriber_id).unwrap();
    assert_eq!(
        (s.failures, s.failing_since),
        (2, Some(15)),
        "the run started at 15"
    );
    db.delivery_succeeded(pending[0].id, 31).unwrap();
    assert!(!db.delivery_pending(pending[0].id).unwrap());
    let s = db.subscriber(pending[0].subscriber_id).unwrap();
    assert_eq!((s.failures, s.failing_since), (0, None));
}

#[test]
fn disabling_tells_the_account_and_enabling_clears_the_reason() {
    let mut db = StatusDb::open_memory().unwrap();
    db.set_page("Example status", "https://status.example.net")
        .unwrap();
    let c = db.sync_components(&specs(), 10).unwrap();
    let s = db.add_subscriber(&webhook(1), Some(7), &[], 10).unwrap();
    incident(&mut db, vec![(c[0].id, ComponentStatus::MajorOutage)], &[]);
    let d = db.pending_deliveries(0, 10).unwrap().remove(0);
    db.delivery_failed(d.id, "HTTP 500", Some(100), false, 50)
        .unwrap();
    db.delivery_failed(d.id, "timed out after 10000 ms", None, true, 50 + 86_400)
        .unwrap();
    let s = db.subscriber(s.id).unwrap();
    assert_eq!(s.disabled_at, Some(50 + 86_400));
    let reason = s.disabled_reason.clone().expect("a reason");
    assert!(
        reason.starts_with("2 deliveries in a row failed over 24 h 0 min, since"),
        "{reason}"
    );
    assert!(
        reason.ends_with("the last error: timed out after 10000 ms"),
        "{reason}"
    );
    let messages = db.messages_about(s.id).unwrap();
    assert_eq!(messages.len(), 1);
    let m = &messages[0];
    assert_eq!(
        (m.kind, m.account_id, m.address.as_deref()),
        (MessageKind::SubscriberDisabled, Some(7), None)
    );
    assert_eq!(
        m.subject,
        format!("[Example status] Subscription {} disabled", s.id)
    );
    assert!(m.body.contains(&reason), "{}", m.body);
    assert!(
        m.body
            .contains(&format!("/status/subscriptions/{}/enable", s.id)),
        "{}",
        m.body
    );
    db.message_sent(m.id, 100_000).unwrap();
    assert!(db.pending_messages(0, 10).unwrap().is_empty());
    let s = db.enable_subscriber(s.id, Some(7)).unwrap();
    assert_eq!(
        (s.disabled_at, s.disabled_reason, s.failures),
        (None, None, 0)
    );
}

#[test]
fn a_new_component_has_no_uptime_figure_before_a_day_of_data() {
    let mut db = StatusDb::open_memory().unwrap();
    let c = db.sync_components(&specs(), 1_000_000).unwrap();
    db.record_round(&[(c[0].id, ComponentStatus::Operational)], 1_000_060)
        .unwrap();
    let s = db.snapshot(1_000_060).unwrap();
    assert_eq!(s.components[0].uptime_percent, None, "a minute is not 100%");
    let page = crate::render::html::index(&s);
    assert!(
        page.contains("Uptime not shown yet (under a day of data)"),
        "{page}"
    );
    db.record_round(&[(c[0].id, ComponentStatus::Operational)], 1_086_400)
        .unwrap();
    let s = db.snapshot(1_086_400).unwrap();
    assert_eq!(s.components[0].uptime_percent, Some(100.0));
}

#[test]
fn maintenance_in_the_past_is_refused_and_windows_move_and_cancel() {
    let mut db = StatusDb::open_memory().unwrap();
    let c = db.sync_components(&specs(), 10).unwrap();
    db.add_subscriber(&webhook(1), None, &[], 10).unwrap();
    let window = |from, until, status| NewIncident {
        name: "New disks".into(),
        status,
        impact: None,
        automatic: false,
        started_at: None,
        scheduled_for: Some(from),
        scheduled_until: Some(until),
        components: vec![(c[0].id, ComponentStatus::UnderMaintenance)],
        zones: vec![],
        body: "ns1 restarts.".into(),
        source: operator(),
    };
    let now = 100_000;
    for (from, until, status, expected) in [
        (
            now - 7_200,
            now - 3_600,
            IncidentStatus::Scheduled,
            "scheduled_until: is in the past; a maintenance window must end in the future",
        ),
        (
            now - 3_600,
            now + 3_600,
            IncidentStatus::Scheduled,
            "scheduled_for: is in the past; schedule a window that has begun with status in_progress",
        ),
    ] {
        assert_eq!(
            db.create_incident(&window(from, until, status), now)
                .unwrap_err()
                .to_string(),
            expected
        );
    }
    // Begun already: fine as in_progress; a few seconds of skew: fine.
    db.create_incident(
        &window(now - 3_600, now + 3_600, IncidentStatus::InProgress),
        now,
    )
    .unwrap();
    let id = db
        .create_incident(
            &window(now - 10, now + 3_600, IncidentStatus::Scheduled),
            now,
        )
        .unwrap()
        .incident
        .incident
        .id;
    assert_eq!(db.open_maintenance().unwrap().len(), 2);
    // Moved: logged, and subscribers told.
    let moved = db
        .reschedule_maintenance(id, now + 7_200, now + 10_800, "ops", now + 1)
        .unwrap();
    assert_eq!(moved.queued, 1);
    let i = &moved.incident.incident;
    assert_eq!(
        (i.scheduled_for, i.scheduled_until),
        (Some(now + 7_200), Some(now + 10_800))
    );
    assert!(
        moved.incident.updates[0]
            .body
            .starts_with("Rescheduled: the window is now")
    );
    assert!(
        db.reschedule_maintenance(id, now + 7_200, now - 1, "ops", now + 2)
            .is_err()
    );
    // Cancelled: completed with a word why; then nothing more.
    let cancelled = db
        .cancel_maintenance(id, Some("The disks arrived broken."), "ops", now + 3)
        .unwrap();
    assert_eq!(
        cancelled.incident.incident.status,
        IncidentStatus::Completed
    );
    assert_eq!(
        cancelled.incident.updates[0].body,
        "Cancelled: The disks arrived broken."
    );
    assert!(db.cancel_maintenance(id, None, "ops", now + 4).is_err());
    assert_eq!(db.open_maintenance().unwrap().len(), 1);
}

/// The outbox counts follow each delivery from queued through retrying to
/// sent or failed, by channel.
#[test]
fn outbox_counts_by_channel_and_state() {
    let mut db = StatusDb::open_memory().unwrap();
    let c = db.sync_components(&specs(), 10).unwrap();
    db.add_subscriber(&webhook(1), None, &[], 10).unwrap();
    db.add_subscriber(&webhook(2), None, &[], 10).unwrap();
    assert_eq!(db.outbox_counts().unwrap(), vec![]);
    incident(&mut db, vec![(c[0].id, ComponentStatus::MajorOutage)], &[]);
    let counts = |db: &StatusDb| {
        let mut v: Vec<(String, &str, &str, u64)> = db
            .outbox_counts()
            .unwrap()
            .into_iter()
            .map(|c| (c.channel, c.what, c.state, c.count))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        counts(&db),
        [("webhook".to_owned(), "notification", "queued", 2)]
    );
    let due = db.due_deliveries(1_000, 10).unwrap();
    db.delivery_failed(due[0].0.id, "HTTP 500", Some(1_010), false, 1_000)
        .unwrap();
    db.delivery_succeeded(due[1].0.id, 1_000).unwrap();
    assert_eq!(
        counts(&db),
        [
            ("webhook".to_owned(), "notification", "retrying", 1),
            ("webhook".to_owned(), "notification", "sent", 1),
        ]
    );
    db.delivery_failed(due[0].0.id, "HTTP 500", None, false, 1_010)
        .unwrap();
    assert_eq!(
        counts(&db),
        [
            ("webhook".to_owned(), "notification", "failed", 1),
            ("webhook".to_owned(), "notification", "sent", 1),
        ]
    );
}
