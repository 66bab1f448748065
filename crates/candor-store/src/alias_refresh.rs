//! New serials for zones whose flattened ALIAS data changed: when the
//! addresses of an ALIAS target outside the stored zones change, standard
//! secondaries (which receive ALIAS flattened to those addresses) must see
//! a new version of every zone pointing at it, or they keep the old
//! addresses forever. The zone's records do not change; its serial does,
//! so the primary's next IXFR carries the new flattened records and its
//! NOTIFY makes the secondaries ask.

use rusqlite::params;

use crate::history::{Audit, audit};
use crate::incremental;
use crate::time::now;
use crate::zones::{self, ZONE_COLUMNS, ZoneRow, zone_from_row};
use crate::{Actor, Store, StoreError, ZoneChange};

impl Store {
    /// Moves each zone named in `zones` (lower case, no final dot) to its
    /// next serial because ALIAS targets of it inside the served zones,
    /// `targets` (as the audit entry names them), changed their addresses:
    /// the caller knows which zones point at them (the served zones' ALIAS
    /// records, `candor_alias::served`), so this costs those zones, not a
    /// read of every ALIAS record. One transaction; an audit entry per
    /// zone; names of zones that no longer exist are skipped. Returns the
    /// changes to publish.
    pub fn bump_alias_zones_named(
        &self,
        zones: &[String],
        targets: &[String],
    ) -> Result<Vec<ZoneChange>, StoreError> {
        let why = format!(
            "the addresses of ALIAS target {} changed",
            targets.join(", ")
        );
        self.bump_named(zones, &why)
    }

    /// Moves each zone named in `zones` to its next serial with an audit
    /// entry saying `why`, in one transaction, and remembers the new
    /// compiled versions; names of zones that no longer exist are
    /// skipped. Returns the changes to publish.
    fn bump_named(&self, zones: &[String], why: &str) -> Result<Vec<ZoneChange>, StoreError> {
        if zones.is_empty() {
            return Ok(Vec::new());
        }
        let actor = Actor {
            token_id: None,
            via: "system",
            remote: None,
        };
        self.write(|tx| {
            let sql = format!("SELECT {ZONE_COLUMNS} FROM zones WHERE name = ?1");
            let at = now();
            let mut changes = Vec::with_capacity(zones.len());
            let mut kept = Vec::with_capacity(zones.len());
            for name in zones {
                let found = {
                    let mut stmt = tx.prepare_cached(&sql)?;
                    stmt.query_map(params![name], zone_from_row)?
                        .collect::<rusqlite::Result<Vec<_>>>()?
                };
                for zone in found {
                    let (key, change) = self.bump_one(tx, zone, why, &actor, at)?;
                    kept.push((key, change.clone()));
                    changes.push(change);
                }
            }
            Ok((changes, kept))
        })
        .map(|(changes, kept)| {
            // The next write patches from these versions.
            for (key, change) in &kept {
                self.compiled.remember(*key, change);
            }
            changes
        })
    }

    /// Gives one zone its next serial (only the SOA changes: patched from
    /// the version kept, so a signed zone re-signs its SOA alone, not
    /// every RRset) with an audit entry saying `why`; the key to remember
    /// the compiled version by, and the change.
    fn bump_one(
        &self,
        tx: &rusqlite::Transaction<'_>,
        mut zone: ZoneRow,
        why: &str,
        actor: &Actor,
        at: i64,
    ) -> Result<(incremental::ZoneKey, ZoneChange), StoreError> {
        let base = incremental::Base::find(&self.compiled, tx, &zone)?;
        zones::bump_serial(tx, &self.config, &mut zone, at)?;
        let change = base.compile(tx, &zone, &self.config, &[])?;
        audit(
            tx,
            &Audit {
                account_id: zone.account_id,
                actor,
                action: "zone.alias_refresh",
                target: &zone.name,
                detail: &format!("{why}: serial {} for secondaries", zone.serial),
                at,
            },
        )?;
        Ok((incremental::key(&zone), change))
    }

    /// Moves each zone named in `zones` (lower case, no final dot) to its
    /// next serial because the ALIAS signer made new signed answers for
    /// it (docs/dnssec.md, "Synthesized answers"): standard secondaries
    /// receive ALIAS owners' addresses with those signatures, and a new
    /// serial is how they learn of new ones (new addresses, an owner
    /// signed for the first time, signatures refreshed before they
    /// expire). One transaction; an audit entry per zone; names of zones
    /// that no longer exist are skipped. Returns the changes to publish.
    pub fn bump_signed_alias_zones(&self, zones: &[String]) -> Result<Vec<ZoneChange>, StoreError> {
        self.bump_named(zones, "ALIAS answers signed anew")
    }
}
