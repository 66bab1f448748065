//! Accounts and tokens.

use super::*;
use crate::Role;

#[test]
fn accounts_are_created_listed_and_unique() {
    let s = store();
    let a = s.create_account("Alice@Example.org").unwrap();
    assert_eq!(a.email, "Alice@Example.org");
    assert!(a.created_at.ends_with('Z') && a.created_at.len() == 20);
    assert_eq!(
        s.create_account("alice@example.ORG"),
        Err(StoreError::Conflict(
            "an account with e-mail alice@example.ORG already exists".to_owned()
        ))
    );
    let b = s.create_account("bob@example.org").unwrap();
    assert_eq!(s.account(a.id).unwrap(), Some(a.clone()));
    assert_eq!(s.account(999).unwrap(), None);
    assert_eq!(s.accounts().unwrap(), vec![a, b]);
}

#[test]
fn account_email_is_checked() {
    let s = store();
    assert_eq!(
        invalid(s.create_account("  ")),
        vec![fe("email", "can't be blank")]
    );
    for bad in ["nobody", "@x", "x@", "a b@x.org", "a@b@c"] {
        assert_eq!(
            invalid(s.create_account(bad)),
            vec![fe("email", "is not a valid e-mail address")],
            "{bad}"
        );
    }
}

#[test]
fn tokens_authenticate_until_revoked() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap();
    let b = s.create_account("b@example.org").unwrap();
    let (token, secret) = s.create_token(a.id, " deploy ").unwrap();
    assert_eq!(token.name, "deploy");
    assert_eq!(token.last_used_at, None);
    assert!(secret.starts_with("cnd_"));

    let found = s.authenticate(&secret).unwrap().unwrap();
    assert_eq!((found.id, found.account_id), (token.id, a.id));
    assert!(found.last_used_at.is_some());
    assert_eq!(s.tokens(a.id).unwrap()[0].last_used_at, found.last_used_at);
    assert_eq!(s.authenticate("cnd_wrong").unwrap(), None);
    assert_eq!(s.authenticate("").unwrap(), None);

    // Another account cannot revoke it.
    assert_eq!(
        s.revoke_token(b.id, token.id),
        Err(StoreError::NotFound("token"))
    );
    s.revoke_token(a.id, token.id).unwrap();
    assert_eq!(s.authenticate(&secret).unwrap(), None);
    assert_eq!(s.tokens(a.id).unwrap(), vec![]);
    assert_eq!(
        s.revoke_token(a.id, token.id),
        Err(StoreError::NotFound("token"))
    );
}

#[test]
fn token_checks() {
    let s = store();
    let a = s.create_account("a@example.org").unwrap();
    assert_eq!(
        invalid(s.create_token(a.id, " ")),
        vec![fe("name", "can't be blank")]
    );
    assert_eq!(
        invalid(s.create_token(a.id, &"x".repeat(101))),
        vec![fe(
            "name",
            "must be at most 100 characters, without control characters"
        )]
    );
    assert_eq!(
        s.create_token(a.id + 1, "x").map(|_| ()),
        Err(StoreError::NotFound("account"))
    );
    assert_eq!(s.tokens(a.id + 1), Err(StoreError::NotFound("account")));
    let (t1, s1) = s.create_token(a.id, "one").unwrap();
    let (t2, s2) = s.create_token(a.id, "two").unwrap();
    assert_ne!(s1, s2);
    let ids: Vec<i64> = s.tokens(a.id).unwrap().iter().map(|t| t.id).collect();
    assert_eq!(ids, vec![t1.id, t2.id]);
}

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_database_never_holds_a_secret() {
    let dir = TempDir::new("secrets");
    let path = dir.path().join("candor.db");
    let s = Store::open(&path, config()).unwrap();
    let a = s.create_account("a@example.org").unwrap();
    let (_, secret) = s.create_token(a.id, "ci").unwrap();
    assert!(s.authenticate(&secret).unwrap().is_some());

    // Scan the files while the store is open (the WAL not yet
    // checkpointed) and again after it is closed.
    let hash = crate::token::hash(&secret);
    let scan = |seen_hash: &mut bool| {
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(!contains(&bytes, secret.as_bytes()), "secret on disk");
            assert!(!contains(&bytes, &secret.as_bytes()[4..]), "secret on disk");
            *seen_hash |= contains(&bytes, &hash);
        }
    };
    let mut seen_hash = false;
    scan(&mut seen_hash);
    drop(s);
    scan(&mut seen_hash);
    assert!(seen_hash, "the scan did not even find the hash");
}

#[test]
fn the_first_account_is_the_operators_and_tokens_carry_roles() {
    let s = store();
    assert_eq!(s.operator_account().unwrap(), None);
    let operator = s.create_account("ops@example.org").unwrap();
    let customer = s.create_account("customer@example.org").unwrap();
    assert_eq!(s.operator_account().unwrap(), Some(operator.id));
    let grant = |secret: &str| {
        let token = s.authenticate(secret).unwrap().expect("live token");
        s.grant(token).unwrap()
    };
    // Account tokens are owners, as DNSimple's account tokens have full
    // access to their account.
    let (_, ops) = s.create_token(operator.id, "ops").unwrap();
    let g = grant(&ops).unwrap();
    assert_eq!(
        (g.role, g.operator, g.suspended),
        (Role::Owner, true, false)
    );
    // User tokens carry their membership's role.
    let bob = s.create_user("bob@example.org").unwrap();
    s.add_member(customer.id, bob.id, Role::Member).unwrap();
    let (_, bobs) = s.create_user_token(customer.id, bob.id, "bob").unwrap();
    let g = grant(&bobs).unwrap();
    assert_eq!((g.role, g.operator), (Role::Member, false));
    s.add_member(customer.id, bob.id, Role::Owner).unwrap();
    assert_eq!(grant(&bobs).unwrap().role, Role::Owner);
    assert_eq!(
        s.members(customer.id).unwrap(),
        vec![(bob.clone(), Role::Owner)]
    );
    // Leaving the account revokes the user's tokens in it.
    s.remove_member(customer.id, bob.id).unwrap();
    assert_eq!(s.authenticate(&bobs).unwrap(), None);
    assert_eq!(
        s.remove_member(customer.id, bob.id),
        Err(StoreError::NotFound("user"))
    );
    assert_eq!(
        s.user_by_email("BOB@example.org").unwrap().map(|u| u.id),
        Some(bob.id)
    );
    assert_eq!(s.user_by_email("nobody@example.org").unwrap(), None);
}

#[test]
fn customer_accounts_are_suspended_and_deleted_with_their_zones() {
    let s = store();
    let operator = s.create_account("ops@example.org").unwrap();
    let customer = s.create_account("customer@example.org").unwrap();
    s.create_zone(customer.id, "example.com", &actor()).unwrap();
    s.create_zone(customer.id, "example.net", &actor()).unwrap();
    let (_, secret) = s.create_token(customer.id, "ci").unwrap();

    let suspended = s.suspend_account(customer.id, &actor()).unwrap();
    assert!(suspended.suspended_at.is_some());
    // Suspending twice changes nothing.
    assert_eq!(s.suspend_account(customer.id, &actor()).unwrap(), suspended);
    let token = s.authenticate(&secret).unwrap().unwrap();
    assert!(s.grant(token.clone()).unwrap().unwrap().suspended);
    // The zones are still there to be served.
    assert_eq!(s.zone_versions().unwrap().len(), 2);
    let active = s.unsuspend_account(customer.id, &actor()).unwrap();
    assert_eq!(active.suspended_at, None);
    assert!(!s.grant(token).unwrap().unwrap().suspended);

    // The operator's account is neither suspended nor deleted.
    for result in [
        s.suspend_account(operator.id, &actor()).map(|_| ()),
        s.delete_account(operator.id, &actor()).map(|_| ()),
    ] {
        assert!(
            matches!(&result, Err(StoreError::Invalid(e)) if e[0].field == "account"),
            "{result:?}"
        );
    }

    let deleted = s.delete_account(customer.id, &actor()).unwrap();
    let names: Vec<(&str, bool)> = deleted
        .iter()
        .map(|c| (c.zone.name.as_str(), c.compiled.is_none()))
        .collect();
    assert_eq!(names, [("example.com", true), ("example.net", true)]);
    assert!(s.zone_versions().unwrap().is_empty());
    assert_eq!(s.authenticate(&secret).unwrap(), None);
    assert_eq!(s.account(customer.id).unwrap(), None);
    assert!(matches!(
        s.delete_account(customer.id, &actor()),
        Err(StoreError::NotFound("account"))
    ));
    assert_eq!(s.accounts().unwrap(), vec![operator]);
}
