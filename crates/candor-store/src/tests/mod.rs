//! Tests of the store's operations, through its public API.

mod accounts;
mod alias_refresh;
mod audit;
mod batch;
mod durability;
mod records;
mod transfer;
mod url;
mod zones;

use std::path::{Path, PathBuf};

use candor_wire::Name;

use crate::{
    Actor, FieldError, RecordInfo, RecordInput, RecordQuery, Store, StoreConfig, StoreError,
    ZoneQuery,
};

/// A name from text.
fn n(s: &str) -> Name {
    Name::from_text(s, None).unwrap()
}

/// The configuration used by the tests.
pub(crate) fn config() -> StoreConfig {
    StoreConfig {
        nameservers: vec![n("ns1.candor.test."), n("ns2.candor.test.")],
        hostmaster: n("admin.candor.test."),
        default_ttl: 3600,
        soa_refresh: 86400,
        soa_retry: 7200,
        soa_expire: 604_800,
        soa_minimum: 300,
        redirector: vec!["192.0.2.80".parse().unwrap()],
        region: None,
    }
}

/// An in-memory store.
pub(crate) fn store() -> Store {
    Store::open_in_memory(config()).unwrap()
}

/// The actor of test changes.
pub(crate) fn actor() -> Actor {
    Actor {
        token_id: None,
        via: "cli",
        remote: None,
    }
}

/// A store with one account (id returned) and zone `example.com`.
fn store_with_zone() -> (Store, i64) {
    let s = store();
    let account = s.create_account("a@example.org").unwrap();
    s.create_zone(account.id, "example.com", &actor()).unwrap();
    (s, account.id)
}

/// A record input.
fn input(name: &str, rtype: &str, content: &str) -> RecordInput {
    RecordInput {
        name: name.to_owned(),
        rtype: rtype.to_owned(),
        content: content.to_owned(),
        ttl: None,
        priority: None,
        regions: None,
    }
}

/// A zone listing request.
fn zq(page: u32, per_page: u32) -> ZoneQuery {
    ZoneQuery {
        name_like: None,
        sort: None,
        page,
        per_page,
    }
}

/// A record listing request for everything on one page.
fn rq() -> RecordQuery {
    RecordQuery {
        name: None,
        name_like: None,
        rtype: None,
        sort: None,
        page: 1,
        per_page: 100,
    }
}

/// All records of a zone.
fn all_records(s: &Store, account: i64, zone: &str) -> Vec<RecordInfo> {
    s.records(account, zone, &rq()).unwrap().items
}

/// The non-system records as (name, type, content, ttl, priority).
fn user_records(
    s: &Store,
    account: i64,
    zone: &str,
) -> Vec<(String, String, String, u32, Option<u16>)> {
    all_records(s, account, zone)
        .into_iter()
        .filter(|r| !r.system_record)
        .map(|r| (r.name, r.rtype, r.content, r.ttl, r.priority))
        .collect()
}

/// The single field error of an `Invalid` result.
fn invalid<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Vec<FieldError> {
    match result {
        Err(StoreError::Invalid(errors)) => errors,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// A field error.
fn fe(field: &str, message: &str) -> FieldError {
    FieldError::new(field, message)
}

/// A directory removed when dropped.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    /// A fresh directory for test `name`.
    pub(crate) fn new(name: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("candor-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
