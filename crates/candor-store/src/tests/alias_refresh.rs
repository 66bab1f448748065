//! New serials for zones whose ALIAS targets' addresses changed.

use super::{actor, input, store};
use crate::{AuditEntry, AuditQuery, Store};

/// Zones whose ALIAS answers the signer signed anew get the next serial
/// (compiled and stored) with an audit entry; unknown names are skipped.
#[test]
fn zones_with_newly_signed_alias_answers_get_a_new_serial() {
    let s = store();
    let account = s.create_account("a@example.org").unwrap();
    let one = s
        .create_zone(account.id, "one.test", &actor())
        .unwrap()
        .zone
        .serial;
    let other = s
        .create_zone(account.id, "other.test", &actor())
        .unwrap()
        .zone
        .serial;
    assert!(s.bump_signed_alias_zones(&[]).unwrap().is_empty());
    let changes = s
        .bump_signed_alias_zones(&["one.test".into(), "gone.test".into()])
        .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].zone.name, "one.test");
    assert_eq!(changes[0].zone.serial, one + 1);
    assert_eq!(changes[0].compiled.as_ref().unwrap().serial(), one + 1);
    assert_eq!(s.zone(account.id, "one.test").unwrap().serial, one + 1);
    assert_eq!(s.zone(account.id, "other.test").unwrap().serial, other);
    let entries = audit_entries(&s, account.id);
    assert!(
        entries
            .iter()
            .any(|e| e.action == "zone.alias_refresh" && e.detail.contains("signed anew")),
        "{entries:?}"
    );
}

/// Zones named by the caller (the served zones pointing at a target whose
/// addresses changed) get the next serial, compiled and stored, patched
/// from the version kept, with an audit entry naming the targets; names
/// of zones that do not exist are skipped.
#[test]
fn named_zones_of_a_changed_target_get_a_new_serial() {
    let s = store();
    let account = s.create_account("a@example.org").unwrap();
    for zone in ["a.test", "b.test"] {
        s.create_zone(account.id, zone, &actor()).unwrap();
    }
    s.create_record(
        account.id,
        "b.test",
        &input("host", "A", "192.0.2.1"),
        &actor(),
    )
    .unwrap();
    let a = s
        .create_record(
            account.id,
            "a.test",
            &input("www", "ALIAS", "host.b.test"),
            &actor(),
        )
        .unwrap()
        .1
        .zone
        .serial;
    let b = s.zone(account.id, "b.test").unwrap().serial;
    assert!(
        s.bump_alias_zones_named(&[], &["host.b.test".into()])
            .unwrap()
            .is_empty()
    );
    let changes = s
        .bump_alias_zones_named(
            &["a.test".into(), "gone.test".into()],
            &["host.b.test".into()],
        )
        .unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].zone.name, "a.test");
    assert_eq!(changes[0].zone.serial, a + 1);
    assert_eq!(changes[0].compiled.as_ref().unwrap().serial(), a + 1);
    assert_eq!(s.zone(account.id, "a.test").unwrap().serial, a + 1);
    assert_eq!(s.zone(account.id, "b.test").unwrap().serial, b);
    // The next write patches from the bumped version.
    let (_, next) = s
        .create_record(account.id, "a.test", &input("txt", "TXT", "hi"), &actor())
        .unwrap();
    assert_eq!(next.zone.serial, a + 2);
    let entries = audit_entries(&s, account.id);
    assert!(
        entries.iter().any(|e| e.action == "zone.alias_refresh"
            && e.target == "a.test"
            && e.detail.contains("host.b.test")),
        "{entries:?}"
    );
}

/// The account's audit entries (the first 100).
fn audit_entries(s: &Store, account: i64) -> Vec<AuditEntry> {
    s.audit(&AuditQuery {
        account_id: Some(account),
        since: None,
        page: 1,
        per_page: 100,
    })
    .unwrap()
    .items
}
