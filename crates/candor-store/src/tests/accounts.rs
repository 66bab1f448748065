//! Accounts and tokens.

use super::*;

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
