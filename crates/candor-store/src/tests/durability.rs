//! Durability: settings of the database file, and data surviving a
//! reopen.

use super::*;

#[test]
fn the_file_uses_wal_full_sync_and_foreign_keys() {
    let dir = TempDir::new("pragmas");
    let path = dir.path().join("nested").join("candor.db");
    let s = Store::open(&path, config()).unwrap();
    assert!(path.exists());
    let conn = s.lock();
    let get = |pragma: &str| -> String {
        conn.query_row(&format!("PRAGMA {pragma}"), [], |r| {
            r.get::<_, rusqlite::types::Value>(0)
        })
        .map(|v| match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            other => format!("{other:?}"),
        })
        .unwrap()
    };
    assert_eq!(get("journal_mode"), "wal");
    assert_eq!(get("synchronous"), "2");
    assert_eq!(get("foreign_keys"), "1");
    assert_eq!(get("user_version"), crate::db::latest_version().to_string());
    assert!(get("busy_timeout").parse::<u64>().unwrap() >= 1000);
}

#[test]
fn everything_survives_a_reopen() {
    let dir = TempDir::new("reopen");
    let path = dir.path().join("candor.db");
    let (account, token, secret, zone, record) = {
        let s = Store::open(&path, config()).unwrap();
        let account = s.create_account("a@example.org").unwrap();
        let (token, secret) = s.create_token(account.id, "ci").unwrap();
        s.create_zone(account.id, "example.com", &actor()).unwrap();
        let (record, change) = s
            .create_record(
                account.id,
                "example.com",
                &input("www", "A", "192.0.2.1"),
                &actor(),
            )
            .unwrap();
        (account, token, secret, change.zone, record)
        // The store is dropped here without any explicit flush.
    };
    let s = Store::open(&path, config()).unwrap();
    assert_eq!(s.accounts().unwrap(), vec![account.clone()]);
    assert_eq!(
        s.authenticate(&secret).unwrap().map(|t| t.id),
        Some(token.id)
    );
    assert_eq!(s.zone(account.id, "example.com").unwrap(), zone);
    assert_eq!(
        s.record(account.id, "example.com", record.id).unwrap(),
        record
    );
    assert_eq!(s.changes(account.id, "example.com", 0).unwrap().len(), 3);
    assert_eq!(s.audit_log(account.id, 1, 10).unwrap().total_entries, 2);
    let all = s.compile_all().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].compiled.as_ref().unwrap().serial(), zone.serial);
}

#[test]
fn two_stores_on_one_file_see_each_others_commits() {
    let dir = TempDir::new("shared");
    let path = dir.path().join("candor.db");
    let one = Store::open(&path, config()).unwrap();
    let two = Store::open(&path, config()).unwrap();
    let account = one.create_account("a@example.org").unwrap();
    two.create_zone(account.id, "example.com", &actor())
        .unwrap();
    assert_eq!(
        one.zone(account.id, "example.com").unwrap().name,
        "example.com"
    );
}

/// `open_existing` creates neither the database nor its directory: a
/// missing file is `Missing` with the path it looked at, and a store made
/// by `open` opens with everything in it.
#[test]
fn open_existing_creates_nothing_and_opens_what_open_made() {
    let dir = TempDir::new("existing");
    let path = dir.path().join("nested").join("candor.db");
    match Store::open_existing(&path, config()) {
        Err(StoreError::Missing(p)) => assert_eq!(p, path),
        other => panic!("expected Missing, got {:?}", other.map(|_| ())),
    }
    assert!(!dir.path().exists(), "open_existing created the directory");
    let err = Store::open_existing(&path, config()).err().unwrap();
    assert_eq!(err.to_string(), format!("no store at {}", path.display()));

    let account = {
        let s = Store::open(&path, config()).unwrap();
        s.create_account("a@example.org").unwrap()
    };
    let s = Store::open_existing(&path, config()).unwrap();
    assert_eq!(s.accounts().unwrap(), vec![account]);

    // A directory where the file should be is refused, not opened.
    let odd = dir.path().join("dir.db");
    std::fs::create_dir_all(&odd).unwrap();
    match Store::open_existing(&odd, config()) {
        Err(StoreError::Db(m)) => assert!(m.contains("is not a database file"), "{m}"),
        other => panic!("expected Db error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = TempDir::new("newer");
    let path = dir.path().join("candor.db");
    drop(Store::open(&path, config()).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    match Store::open(&path, config()) {
        Err(StoreError::Db(m)) => assert!(m.contains("schema version 99"), "{m}"),
        other => panic!("expected Db error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn bad_configuration_is_refused() {
    let mut c = config();
    c.nameservers.clear();
    c.default_ttl = 10;
    match Store::open_in_memory(c) {
        Err(StoreError::Invalid(errors)) => assert_eq!(
            errors,
            vec![
                fe("nameservers", "must name at least one name server"),
                fe("default_ttl", "must be between 60 and 2592000"),
            ]
        ),
        other => panic!("expected Invalid, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn the_store_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Store>();
    let (s, a) = store_with_zone();
    let s = std::sync::Arc::new(s);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let s = s.clone();
            std::thread::spawn(move || {
                for j in 0..5 {
                    let name = format!("t{i}-{j}");
                    s.create_record(a, "example.com", &input(&name, "A", "192.0.2.1"), &actor())
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let zone = s.zone(a, "example.com").unwrap();
    assert_eq!(user_records(&s, a, "example.com").len(), 20);
    assert_eq!(s.changes(a, "example.com", 0).unwrap().len(), 22);
    assert_eq!(zone.serial % 100, 21);
}

#[test]
fn commits_survive_without_a_clean_close() {
    // Like `kill -9`: the first store is never closed, so its WAL is never
    // checkpointed and nothing runs at exit.
    let dir = TempDir::new("forget");
    let path = dir.path().join("candor.db");
    let s = Store::open(&path, config()).unwrap();
    let account = s.create_account("a@example.org").unwrap();
    s.create_zone(account.id, "example.com", &actor()).unwrap();
    let (record, _) = s
        .create_record(
            account.id,
            "example.com",
            &input("www", "A", "192.0.2.1"),
            &actor(),
        )
        .unwrap();
    std::mem::forget(s);
    assert!(dir.path().join("candor.db-wal").exists());
    let reopened = Store::open(&path, config()).unwrap();
    assert_eq!(
        reopened
            .record(account.id, "example.com", record.id)
            .unwrap(),
        record
    );
}
