//! Candor's durable state and the zone-editing domain logic.
//!
//! A [`Store`] keeps accounts, API tokens, zones, records, a per-zone change
//! journal and an audit log in one SQLite file (WAL mode, `synchronous=FULL`,
//! so everything acknowledged survives `kill -9` and power loss). Every
//! operation is one transaction, committed before the call returns.
//!
//! Records use DNSimple's API v2 text conventions (see [`RecordInput`]).
//! Validation is done by compiling: each write feeds the zone as it would be
//! after the write into a [`candor_zone::ZoneBuilder`] inside the
//! transaction, and commits only if the zone compiles. The compiled zone is
//! returned in a [`ZoneChange`], so the caller publishes exactly what was
//! committed.
//!
//! Codemap: `db` opens the database and migrates the schema; `content`
//! converts record text to and from wire RDATA and checks names, types and
//! TTLs; `compile` builds zones from rows; `accounts`, `zones`, `records`,
//! `transfer` (import and export), `history` (journal and audit) and `tsig`
//! (TSIG keys for zone transfers) hold the operations; `query` does paging
//! and sorting; `backup` copies and checks live database files; `time` and
//! `token` are small helpers. `incremental` makes record writes patch the
//! last compiled version (`Zone::patch`) instead of compiling every row.

#![forbid(unsafe_code)]

mod accounts;
mod alias_refresh;
mod backup;
mod compaction;
mod compile;
mod content;
mod db;
mod dnssec;
mod dnssec_keys;
mod history;
mod incremental;
mod query;
mod records;
mod regions;
mod time;
mod token;
mod transfer;
mod tsig;
mod users;
mod zones;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use candor_wire::Name;
use rusqlite::{Connection, Transaction, TransactionBehavior};

pub use backup::{DatabaseCheck, backup_database, check_database, store_schema_version};
pub use compaction::{COMPACT_OVERLAY_NAMES, Compactor};
pub use compile::{input_owner_name, owner_name};
pub use content::is_region_label;
pub use dnssec::{DnssecState, DsRecordInfo, set_signing_deferred, set_signing_threads};
pub use dnssec_keys::{KeyStatus, KeysStatus};
pub use transfer::ZoneText;
pub use tsig::{TSIG_ALGORITHMS, TsigKeyInfo, TsigSecret};

//----------- Configuration ---------------------------------------------------

/// Settings that shape every zone's system records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreConfig {
    /// The name servers: the apex NS records of every zone; the first is
    /// the SOA MNAME.
    pub nameservers: Vec<Name>,
    /// The SOA RNAME (the hostmaster's mailbox as a name).
    pub hostmaster: Name,
    /// The TTL of records created without one, and of system records.
    pub default_ttl: u32,
    /// SOA REFRESH.
    pub soa_refresh: u32,
    /// SOA RETRY.
    pub soa_retry: u32,
    /// SOA EXPIRE.
    pub soa_expire: u32,
    /// SOA MINIMUM (the negative-caching TTL).
    pub soa_minimum: u32,
    /// Addresses of the HTTP redirector: a name with a URL record answers
    /// A/AAAA queries with these. Empty: new URL records are refused, and
    /// stored ones give their names no addresses.
    pub redirector: Vec<std::net::IpAddr>,
    /// The region of the name server compiling zones (`serve --region`):
    /// zones compile to its view, the records whose regions are `global`
    /// or contain it (docs/regions.md). `None`: the global view.
    pub region: Option<String>,
}

//----------- Public data types -----------------------------------------------

/// Who makes a change, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    /// The API token used, if any.
    pub token_id: Option<i64>,
    /// The channel: `"api"`, `"cli"` or `"seed"`.
    pub via: &'static str,
    /// The client's address, if known.
    pub remote: Option<String>,
}

/// A person who can act for accounts (through tokens made for them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// E-mail address (unique, case-insensitive).
    pub email: String,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last update time (RFC 3339).
    pub updated_at: String,
}

/// An account: the owner of zones and tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The account id.
    pub id: i64,
    /// The e-mail address (unique, compared without case).
    pub email: String,
    /// When it was created (RFC 3339 UTC).
    pub created_at: String,
    /// When it last changed (RFC 3339 UTC).
    pub updated_at: String,
    /// When it was suspended (RFC 3339 UTC); `None` while it is active.
    pub suspended_at: Option<String>,
}

/// What a member may do in an account (see the README's role table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads everything in the account and changes records of its zones.
    Member,
    /// Everything in the account: zones, records, tokens, members.
    Owner,
}

impl Role {
    /// The role's name as stored and shown: `owner` or `member`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
        }
    }

    /// The role with this name, if any.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "owner" => Some(Role::Owner),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a live token may do: found by [`Store::grant`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The token.
    pub token: TokenInfo,
    /// Its role in its account: [`Role::Owner`] for account tokens (as
    /// DNSimple's account tokens have full access), the user's membership
    /// role for user tokens.
    pub role: Role,
    /// Whether the token's account is the operator's (the first account).
    pub operator: bool,
    /// Whether the token's account is suspended.
    pub suspended: bool,
}

/// An API token, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenInfo {
    /// The user the token acts for, if it was created for one (else it
    /// is an account token, as DNSimple's account access tokens are).
    pub user_id: Option<i64>,
    /// The token id.
    pub id: i64,
    /// The account it acts for.
    pub account_id: i64,
    /// A label chosen by the user.
    pub name: String,
    /// When it was created (RFC 3339 UTC).
    pub created_at: String,
    /// When it was last used to authenticate (RFC 3339 UTC).
    pub last_used_at: Option<String>,
}

/// A zone as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneInfo {
    /// The zone id.
    pub id: i64,
    /// The owning account.
    pub account_id: i64,
    /// The zone name: lower case, no trailing dot.
    pub name: String,
    /// The current SOA serial.
    pub serial: u32,
    /// Whether this is a reverse zone (under `in-addr.arpa` or `ip6.arpa`).
    pub reverse: bool,
    /// When it was created (RFC 3339 UTC).
    pub created_at: String,
    /// When it last changed (RFC 3339 UTC).
    pub updated_at: String,
}

/// A record as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordInfo {
    /// The record id.
    pub id: i64,
    /// The zone's name.
    pub zone_name: String,
    /// The owner relative to the zone, lower case; `""` is the apex.
    pub name: String,
    /// The content in DNSimple's text conventions.
    pub content: String,
    /// The TTL in seconds.
    pub ttl: u32,
    /// The MX preference or SRV priority; `None` for other types.
    pub priority: Option<u16>,
    /// The record type mnemonic, upper case.
    pub rtype: String,
    /// Where the record is served; always `["global"]` for now.
    pub regions: Vec<String>,
    /// Whether this is a SOA or apex NS record managed by Candor.
    pub system_record: bool,
    /// When it was created (RFC 3339 UTC).
    pub created_at: String,
    /// When it last changed (RFC 3339 UTC).
    pub updated_at: String,
}

/// A record to create.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordInput {
    /// The owner relative to the zone (`""` or `"@"` for the apex); an
    /// absolute name (trailing dot) must be inside the zone.
    pub name: String,
    /// The type mnemonic, any case.
    pub rtype: String,
    /// The content in DNSimple's text conventions.
    pub content: String,
    /// The TTL; the configured default if `None`.
    pub ttl: Option<u32>,
    /// The MX preference or SRV priority (0 if `None`); ignored for other
    /// types.
    pub priority: Option<u16>,
    /// Where the record is served; only `["global"]` is supported.
    pub regions: Option<Vec<String>>,
}

/// Changes to one record; `None` fields stay as they are. The type cannot
/// change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordPatch {
    /// A new owner name.
    pub name: Option<String>,
    /// New content.
    pub content: Option<String>,
    /// A new TTL.
    pub ttl: Option<u32>,
    /// A new MX preference or SRV priority.
    pub priority: Option<u16>,
    /// New regions.
    pub regions: Option<Vec<String>>,
}

/// Record changes applied together, all or nothing, as one new serial.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordBatch {
    /// Records to create.
    pub creates: Vec<RecordInput>,
    /// Records to change, by id.
    pub updates: Vec<(i64, RecordPatch)>,
    /// Records to delete, by id.
    pub deletes: Vec<i64>,
}

/// Which zones to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneQuery {
    /// Only zones whose name contains this (no case).
    pub name_like: Option<String>,
    /// Sort keys `id` or `name`, each `:asc` or `:desc`, comma-separated.
    pub sort: Option<String>,
    /// The page, from 1.
    pub page: u32,
    /// Entries per page, 1..=100.
    pub per_page: u32,
}

/// Which records to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordQuery {
    /// Only records with exactly this name (`""` or `"@"` for the apex).
    pub name: Option<String>,
    /// Only records whose name contains this (no case).
    pub name_like: Option<String>,
    /// Only records of this type (no case).
    pub rtype: Option<String>,
    /// Sort keys `id`, `name`, `content` or `type`, each `:asc` or `:desc`,
    /// comma-separated.
    pub sort: Option<String>,
    /// The page, from 1.
    pub page: u32,
    /// Entries per page, 1..=100.
    pub per_page: u32,
}

/// One page of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The entries on this page.
    pub items: Vec<T>,
    /// This page's number, from 1.
    pub current_page: u32,
    /// Entries per page.
    pub per_page: u32,
    /// Entries on all pages.
    pub total_entries: u64,
    /// Number of pages (0 when there are no entries).
    pub total_pages: u32,
}

/// A zone's identity and serial (see `Store::zone_versions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneVersion {
    /// Zone id.
    pub id: i64,
    /// Zone name.
    pub name: String,
    /// Current SOA serial.
    pub serial: u32,
}

/// What a write did to a zone: the new state to publish to the name
/// servers (`compiled` is `None` when the zone was deleted).
#[derive(Clone)]
pub struct ZoneChange {
    /// The zone after the write (before it, for a deletion).
    pub zone: ZoneInfo,
    /// The compiled zone exactly as committed.
    pub compiled: Option<Arc<candor_zone::Zone>>,
}

impl fmt::Debug for ZoneChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZoneChange")
            .field("zone", &self.zone)
            .field(
                "compiled",
                &self.compiled.as_ref().map(|z| z.record_count()),
            )
            .finish()
    }
}

/// One problem with one input field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field (`"content"`, `"ttl"`, `"creates[2].name"`, ...).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why an operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The thing does not exist, or belongs to another account: `"zone"`,
    /// `"record"`, `"account"` or `"token"`.
    NotFound(&'static str),
    /// The input is wrong; nothing was changed.
    Invalid(Vec<FieldError>),
    /// The change clashes with existing data (a taken zone name or e-mail).
    Conflict(String),
    /// The database failed.
    Db(String),
    /// There is no database file at this path, and the store was opened
    /// with [`Store::open_existing`], which creates none.
    Missing(PathBuf),
}

impl StoreError {
    /// An `Invalid` error about one field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> StoreError {
        StoreError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NotFound(what) => write!(f, "{what} not found"),
            StoreError::Invalid(errors) => {
                f.write_str("validation failed")?;
                for (i, e) in errors.iter().enumerate() {
                    let sep = if i == 0 { ": " } else { "; " };
                    write!(f, "{sep}{} {}", e.field, e.message)?;
                }
                Ok(())
            }
            StoreError::Conflict(message) => f.write_str(message),
            StoreError::Db(message) => write!(f, "database error: {message}"),
            StoreError::Missing(path) => write!(f, "no store at {}", path.display()),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> StoreError {
        StoreError::Db(err.to_string())
    }
}

/// An entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// The entry id.
    pub id: i64,
    /// The account whose data changed.
    pub account_id: i64,
    /// The token used, if any.
    pub token_id: Option<i64>,
    /// The channel (`"api"`, `"cli"`, `"seed"`).
    pub via: String,
    /// The client's address, if known.
    pub remote: Option<String>,
    /// What was done (`"zone.create"`, `"record.update"`, ...).
    pub action: String,
    /// What it was done to (`"example.com"`, `"example.com/records/7"`).
    pub target: String,
    /// A human-readable summary.
    pub detail: String,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// The token's name, if a token was used (revoked tokens keep theirs).
    pub token_name: Option<String>,
    /// The e-mail address of the user the token acts for, if any.
    pub user_email: Option<String>,
}

/// Which audit entries [`Store::audit`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditQuery {
    /// One account's entries (`None`: every account's).
    pub account_id: Option<i64>,
    /// Only entries at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// The page, from 1.
    pub page: u32,
    /// Entries per page (at most 100).
    pub per_page: u32,
}

/// An entry of a zone's change journal: one record changed at one serial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeEntry {
    /// The serial the change produced.
    pub serial: u32,
    /// `"create"`, `"update"` or `"delete"`.
    pub action: String,
    /// The record after the change (before it, for a deletion).
    pub record: RecordInfo,
    /// When (RFC 3339 UTC).
    pub at: String,
}

/// What a zone-file import did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records now in the zone from the file (duplicates counted once).
    pub records: usize,
    /// Records that were removed: the zone's records the file does not
    /// have (one whose TTL, priority or regions changed is removed and
    /// added again). Records the file repeats exactly stay as they are,
    /// ids included.
    pub removed: usize,
}

//----------- Store -----------------------------------------------------------

/// The durable store. One connection behind a mutex: SQLite serialises
/// writers anyway, and every operation is short.
pub struct Store {
    /// The connection.
    conn: Mutex<Connection>,
    /// System-record settings.
    config: StoreConfig,
    /// The last version of each zone compiled by a record write, which
    /// the next one patches (see `incremental`).
    compiled: incremental::Compiled,
}

/// Creates `dir` and its missing parents, private to the owner (0700) on
/// Unix; an existing directory is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

impl Store {
    /// Opens (creating if needed) the database at `path`, creating parent
    /// directories (private: 0700), and brings its schema up to date. The
    /// file is made private (0600).
    pub fn open(path: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        check_config(&config)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir).map_err(|e| {
                StoreError::Db(format!("cannot create directory {}: {e}", dir.display()))
            })?;
        }
        let conn = db::open_file(path)?;
        Ok(Store {
            conn: Mutex::new(conn),
            config,
            compiled: Default::default(),
        })
    }

    /// Opens the database at `path`, which must exist (it is
    /// [`StoreError::Missing`] if not), and brings its schema up to date.
    /// Nothing is created: this is for tools that work on a store a server
    /// made, where a missing file means a wrong path.
    pub fn open_existing(path: &Path, config: StoreConfig) -> Result<Store, StoreError> {
        check_config(&config)?;
        let conn = db::open_existing_file(path)?;
        Ok(Store {
            conn: Mutex::new(conn),
            config,
            compiled: Default::default(),
        })
    }

    /// A store that lives in memory only (for tests and tools).
    pub fn open_in_memory(config: StoreConfig) -> Result<Store, StoreError> {
        check_config(&config)?;
        let conn = db::open_memory()?;
        Ok(Store {
            conn: Mutex::new(conn),
            config,
            compiled: Default::default(),
        })
    }

    /// The connection. A panic while it was held cannot have left a
    /// transaction half-applied (dropping a transaction rolls it back), so a
    /// poisoned lock is still safe to use.
    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` in a write transaction and commits if it succeeds. The
    /// write lock is taken at the start, so concurrent writers from other
    /// processes wait instead of failing halfway.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in a read transaction, so that several queries see one
    /// state.
    fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Checks that the configuration can produce valid zones.
fn check_config(config: &StoreConfig) -> Result<(), StoreError> {
    let mut errors = Vec::new();
    if config.nameservers.is_empty() {
        errors.push(FieldError::new(
            "nameservers",
            "must name at least one name server",
        ));
    }
    if content::check_ttl(config.default_ttl).is_err() {
        errors.push(FieldError::new(
            "default_ttl",
            content::TTL_RANGE_MESSAGE.to_owned(),
        ));
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(errors))
    }
}
