//! The audit log as read back: who (token, user), what, when, from where.

use super::{actor, store};
use crate::{Actor, AuditQuery, Role};

/// Entries name the token and its user and keep the client's address;
/// a query filters by account and by time, newest first.
#[test]
fn audit_names_token_user_and_address_and_filters() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap();
    let b = s.create_account("b@example.org").unwrap();
    let user = s.create_user("ops@example.org").unwrap();
    s.add_member(a.id, user.id, Role::Member).unwrap();
    let (token, _secret) = s.create_user_token(a.id, user.id, "deploy").unwrap();
    let api = Actor {
        token_id: Some(token.id),
        via: "api",
        remote: Some("192.0.2.7".to_owned()),
    };
    s.create_zone(a.id, "one.com", &api).unwrap();
    s.create_zone(b.id, "two.com", &actor()).unwrap();

    let of_a = s
        .audit(&AuditQuery {
            account_id: Some(a.id),
            since: None,
            page: 1,
            per_page: 10,
        })
        .unwrap();
    assert_eq!(of_a.total_entries, 1);
    let e = &of_a.items[0];
    assert_eq!(
        (e.action.as_str(), e.target.as_str(), e.via.as_str()),
        ("zone.create", "one.com", "api")
    );
    assert_eq!(e.token_id, Some(token.id));
    assert_eq!(e.token_name.as_deref(), Some("deploy"));
    assert_eq!(e.user_email.as_deref(), Some("ops@example.org"));
    assert_eq!(e.remote.as_deref(), Some("192.0.2.7"));

    let all = s
        .audit(&AuditQuery {
            account_id: None,
            since: None,
            page: 1,
            per_page: 10,
        })
        .unwrap();
    let targets: Vec<&str> = all.items.iter().map(|e| e.target.as_str()).collect();
    assert_eq!(targets, ["two.com", "one.com"], "newest first");
    assert_eq!(all.items[0].token_name, None);

    let future = s
        .audit(&AuditQuery {
            account_id: None,
            since: Some(i64::from(u32::MAX)),
            page: 1,
            per_page: 10,
        })
        .unwrap();
    assert_eq!(future.total_entries, 0);
    let past = s
        .audit(&AuditQuery {
            account_id: None,
            since: Some(0),
            page: 1,
            per_page: 1,
        })
        .unwrap();
    assert_eq!((past.total_entries, past.items.len()), (2, 1));
    assert!(
        s.audit(&AuditQuery {
            account_id: Some(9999),
            since: None,
            page: 1,
            per_page: 10,
        })
        .is_err(),
        "an unknown account is an error, not an empty log"
    );
}
