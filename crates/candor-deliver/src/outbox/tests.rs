//! The outbox's bookkeeping on a simulated clock: rows in, sends out,
//! writes made out.

use candor_notify::FailureKind;
use candor_status::model::{Event, MessageKind};

use super::*;

/// The operator's account in these tests.
const OPERATOR: i64 = 1;

/// A webhook subscriber of `account` (`None`: the command line's).
fn webhook(id: i64, account: Option<i64>) -> Subscriber {
    Subscriber {
        id,
        channel: Channel::Webhook {
            url: format!("https://hooks.example/{id}"),
            secret: "s".into(),
        },
        account_id: account,
        zones: Vec::new(),
        created_at: 0,
        failures: 0,
        failing_since: None,
        disabled_at: None,
        disabled_reason: None,
        token: format!("t{id}"),
        public: false,
        confirmed_at: None,
    }
}

/// Delivery `id` to `subscriber`, due at `due` (Unix seconds).
fn delivery(id: i64, subscriber: i64, due: i64) -> Delivery {
    Delivery {
        id,
        key: format!("k{id}"),
        subscriber_id: subscriber,
        incident_id: 7,
        update_id: 70 + id,
        event: Event::IncidentCreated,
        attempts: 0,
        next_attempt_at: due,
        delivered_at: None,
        last_error: None,
        abandoned_at: None,
    }
}

/// An e-mail to an account, due at `due`.
fn message(id: i64, due: i64) -> Message {
    Message {
        id,
        key: format!("m{id}"),
        kind: MessageKind::SubscriberDisabled,
        account_id: Some(2),
        subscriber_id: None,
        address: None,
        subject: "[Example status] Subscription 3 disabled".into(),
        body: "...".into(),
        list_unsubscribe: None,
        attempts: 0,
        next_attempt_at: due,
    }
}

/// A transient failure.
fn http_500() -> Sent {
    Sent::Failed(DeliveryError {
        kind: FailureKind::Transient,
        message: "HTTP 500 Internal Server Error from https://hooks.example/3".into(),
    })
}

/// An outbox with the default limits and back-off.
fn outbox() -> Outbox {
    Outbox::new(Limits::default(), Backoff::default(), Some(OPERATOR))
}

/// Whose lane: the operator's account and the command line's subscribers
/// are the operator's; the public's are the public's.
#[test]
fn owners() {
    let mut public = webhook(4, None);
    public.public = true;
    let cases = [
        (webhook(1, Some(OPERATOR)), Owner::Operator),
        (webhook(2, None), Owner::Operator),
        (webhook(3, Some(9)), Owner::Account(9)),
        (public, Owner::Public),
    ];
    for (s, want) in cases {
        assert_eq!(owner(&s, Some(OPERATOR)), want, "{}", s.id);
        assert_eq!(medium(&s), Medium::Webhook);
    }
    assert_eq!(
        owner(&webhook(1, Some(OPERATOR)), None),
        Owner::Account(OPERATOR)
    );
}

/// Rows read once: the cursor moves past them, subscribers with a queue
/// are not read again; a delivery starts when due, and is written as
/// sent.
#[test]
fn rows_in_sends_out_writes_made_out() {
    let mut o = outbox();
    assert_eq!(o.cursor(), Cursor::default());
    let more = o.take(Loaded {
        deliveries: vec![delivery(10, 3, 100), delivery(11, 3, 100)],
        subscribers: vec![webhook(3, Some(9))],
        messages: vec![message(5, 100)],
        more: false,
    });
    assert!(!more);
    let c = o.cursor();
    assert_eq!(
        (c.deliveries_read, c.messages_read, c.queued),
        (11, 5, vec![3])
    );
    assert!(o.start(ms(99)).is_empty());
    // One at a time per subscriber, in order; the message in its own queue.
    let mut started: Vec<JobKey> = o.start(ms(100)).into_iter().map(|(j, _)| j).collect();
    started.sort();
    assert_eq!(started, [JobKey::Delivery(10), JobKey::Message(5)]);
    let (record, note) = o.finish(JobKey::Delivery(10), Sent::Ok, ms(100) + 250);
    assert_eq!(record, Some(Record::Sent));
    assert_eq!(
        note,
        Note::Delivered {
            subscriber: 3,
            event: "incident.created",
            incident: 7,
            attempt: 1,
            since_due_ms: 250,
        }
    );
    let started: Vec<JobKey> = o.start(ms(101)).into_iter().map(|(j, _)| j).collect();
    assert_eq!(started, [JobKey::Delivery(11)]);
    // A skipped send (its subscriber removed meanwhile) writes nothing.
    assert_eq!(
        o.finish(JobKey::Delivery(11), Sent::Skipped, ms(101)),
        (None, Note::Quiet)
    );
    assert_eq!(
        o.finish(JobKey::Message(5), Sent::Ok, ms(101)).0,
        Some(Record::Sent)
    );
    assert_eq!(o.pending(), 0);
}

/// A receiver that always answers 500: retried with back-off, not
/// disabled after ten failures in minutes, disabled at the first failure
/// a day after the first one, with its other deliveries.
#[test]
fn a_day_of_failures_disables_the_subscriber() {
    let mut o = outbox();
    o.take(Loaded {
        deliveries: vec![delivery(10, 3, 0), delivery(11, 3, 0)],
        subscribers: vec![webhook(3, Some(9))],
        ..Loaded::default()
    });
    let mut now: Millis = 0;
    let mut attempts = 0;
    let disabled_at = loop {
        let started = o.start(now);
        if let Some((job, _)) = started.first() {
            assert_eq!(*job, JobKey::Delivery(10), "in order, one at a time");
            attempts += 1;
            match o.finish(*job, http_500(), now) {
                (
                    Some(Record::Failed {
                        retry: Some(at),
                        disable: false,
                        ..
                    }),
                    _,
                ) => assert!(ms(at) > now),
                (
                    Some(Record::Failed {
                        retry: None,
                        disable: true,
                        message,
                    }),
                    Note::Disabled { abandoned, .. },
                ) => {
                    assert!(message.contains("HTTP 500"));
                    assert_eq!(abandoned, 2, "delivery 11 goes with it");
                    break now;
                }
                other => panic!("{other:?}"),
            }
        }
        now = o.next_wake(now).expect("a retry is waiting").max(now + 1);
        assert!(now < 3 * 86_400_000, "never disabled");
    };
    assert!(
        (86_400_000..86_400_000 + 3_600_000).contains(&disabled_at),
        "disabled after {} s",
        disabled_at / 1000
    );
    assert!(attempts >= 10, "{attempts} attempts");
    assert_eq!(o.pending(), 0);
    assert!(o.start(disabled_at + 86_400_000).is_empty());
    // Read again afterwards (it may have been enabled).
    assert!(o.cursor().queued.is_empty());
}

/// A permanent failure gives the one delivery up, not the subscriber.
#[test]
fn a_permanent_failure_gives_up_the_delivery() {
    let mut o = outbox();
    o.take(Loaded {
        deliveries: vec![delivery(10, 3, 0), delivery(11, 3, 0)],
        subscribers: vec![webhook(3, Some(9))],
        ..Loaded::default()
    });
    let (job, _) = o.start(0).remove(0);
    let gone = Sent::Failed(DeliveryError {
        kind: FailureKind::Permanent,
        message: "HTTP 410 Gone".into(),
    });
    assert_eq!(
        o.finish(job, gone, 0).0,
        Some(Record::Failed {
            message: "HTTP 410 Gone".into(),
            retry: None,
            disable: false
        })
    );
    assert_eq!(
        o.start(0).first().map(|(j, _)| *j),
        Some(JobKey::Delivery(11))
    );
}
