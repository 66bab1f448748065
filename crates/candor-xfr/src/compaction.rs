//! Background compaction of a secondary zone, sans I/O: the primary's
//! (`candor_store::Compactor`, docs/incremental.md) for the zone a Candor
//! secondary holds.
//!
//! IXFRs patch the held zone (`client::apply_steps_patched`), so its
//! overlay grows by the names each one changes; an overlay past
//! `candor_zone::MAX_OVERLAY_NAMES` makes the next IXFR compile the whole
//! zone (seconds for a million records) while the primary waits for it.
//! Instead, once the overlay holds `threshold` names, [`Compaction::due`]
//! starts one: the caller compiles the version of that moment afresh off
//! its task ([`Compaction::compile`], `Zone::compact`: a new base with no
//! overlay), IXFRs go on patching the old base meanwhile, and
//! [`Compaction::finish`] brings what they changed since onto the new base
//! (`Zone::catch_up`, in proportion to their names). The result reads
//! exactly as the zone held at that moment, at the same serial: the caller
//! holds it in its place and serves it (no new copy on disk: the records
//! are the same). A full transfer meanwhile (AXFR, or an IXFR that did not
//! patch) is not related to the compacted version: the compaction is
//! dropped, and the new zone has no overlay anyway.

use std::sync::Arc;

use candor_zone::{PatchError, Zone, ZoneError};

/// One compaction of a held zone: the version it compiles.
#[derive(Debug)]
pub struct Compaction {
    /// The version being compiled afresh.
    from: Arc<Zone>,
}

impl Compaction {
    /// A compaction of `held` when its overlay holds `threshold` names or
    /// more (a threshold of 0 counts as 1).
    pub fn due(held: &Arc<Zone>, threshold: usize) -> Option<Compaction> {
        (held.overlay_names() >= threshold.max(1)).then(|| Compaction {
            from: Arc::clone(held),
        })
    }

    /// The version being compacted.
    pub fn from(&self) -> &Arc<Zone> {
        &self.from
    }

    /// Compiles the version afresh: the slow part (a full compile), for a
    /// blocking thread.
    pub fn compile(&self) -> Result<Zone, Vec<ZoneError>> {
        self.from.compact()
    }

    /// The compacted zone to hold instead of `held`, the version held now
    /// (`made` is [`compile`](Self::compile)'s result): `made` itself when
    /// nothing arrived meanwhile, else `made` patched with what changed
    /// from the compacted version to `held`. Reads exactly as `held`.
    /// [`PatchError::Rebuild`] when `held` is not related to the compacted
    /// version (a full transfer meanwhile: drop the compaction).
    pub fn finish(self, made: Zone, held: &Arc<Zone>) -> Result<Zone, PatchError> {
        if Arc::ptr_eq(&self.from, held) {
            return Ok(made);
        }
        Arc::new(made).catch_up(&self.from, held)
    }
}

#[cfg(test)]
mod tests;
