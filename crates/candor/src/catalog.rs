//! The catalog zone (RFC 9432) of `candor serve --catalog NAME`: follows
//! the served set and publishes a new catalog version whenever the set of
//! member zones changes (a zone created or deleted through the API or the
//! CLI, zone files reloaded). The new version is an ordinary zone change,
//! so the transfer journal turns it into an IXFR and the notifier into
//! NOTIFYs to every `--notify` secondary.
//!
//! Members are every served zone except the catalog itself and the zones
//! this server is a secondary of (their primary catalogs them).

use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use candor_publish::Publisher;
use candor_wire::Name;
use candor_xfr::catalog;
use tokio::sync::watch;

/// Names of zones that are not members (the secondary zones), swapped as
/// a whole when they change.
pub(crate) type Excluded = Arc<ArcSwap<Vec<Name>>>;

/// Publishes the catalog `name` of the zones `publisher` serves, until
/// `stop` turns.
pub(crate) async fn run(
    publisher: Publisher,
    name: Name,
    excluded: Excluded,
    mut stop: watch::Receiver<bool>,
) {
    let mut changes = publisher.subscribe();
    let mut last: Option<Vec<Name>> = None;
    let mut serial = None;
    tracing::info!(catalog = %name, "publishing a catalog zone of the served zones (RFC 9432)");
    loop {
        changes.mark_unchanged();
        let members = members(&publisher, &name, &excluded.load());
        if last.as_ref() != Some(&members) {
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let next = catalog::next_serial(serial, now);
            match catalog::build(&name, &members, next) {
                Ok(zone) => {
                    tracing::info!(
                        catalog = %name,
                        serial = next,
                        members = members.len(),
                        "catalog zone published"
                    );
                    serial = Some(next);
                    last = Some(members);
                    publisher.serve_other(Arc::new(zone));
                }
                Err(errors) => {
                    for e in errors {
                        tracing::error!(catalog = %name, "cannot build the catalog zone: {e}");
                    }
                }
            }
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = stop.changed() => return,
        }
    }
}

/// The member zones: every served zone but the catalog and `excluded`,
/// sorted.
fn members(publisher: &Publisher, catalog: &Name, excluded: &[Name]) -> Vec<Name> {
    let set = publisher.zones().load();
    let mut members: Vec<Name> = set
        .zones()
        .iter()
        .map(|z| z.apex().to_lowercase())
        .filter(|apex| apex != catalog && !excluded.contains(apex))
        .collect();
    members.sort();
    members
}
