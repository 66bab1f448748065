//! Wiring of zone transfers out and NOTIFY into `candor serve`: the TSIG
//! keys from the store (followed while the server runs, so `candor tsig
//! add` in another process takes effect within a second), the primary,
//! the journal follower and the notifier.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use candor_answer::SharedAliases;
use candor_server::{SecondarySide, SharedZones, Transfers, follow_zones, run_notifier};
use candor_store::{Store, TsigSecret};
use candor_wire::Name;
use candor_xfr::secondary::Primaries;
use candor_xfr::{Acl, Algorithm, Key, KeyRing, Limits, Notifier, Primary, Timing};
use tokio::sync::{mpsc, watch};

use crate::XfrArgs;

/// The server's TSIG keys as the store holds them.
fn key_ring(secrets: &[TsigSecret]) -> KeyRing {
    KeyRing::new(secrets.iter().filter_map(|s| {
        let algorithm = Algorithm::from_name(&s.info.algorithm)?;
        let name = Name::from_text(&s.info.name, None).ok()?;
        Some(Key::new(&name, algorithm, s.secret.clone()))
    }))
}

/// What the transfer side needs while the server runs.
pub(crate) struct Wiring {
    /// The decisions, shared with the TCP listener.
    pub(crate) primary: Arc<Primary>,
    /// The TCP listener's transfer handler.
    pub(crate) transfers: Arc<Transfers>,
    /// The TSIG keys.
    pub(crate) keys: Arc<ArcSwap<KeyRing>>,
    /// The secondary zones, with `--secondary`.
    pub(crate) secondary: Option<SecondaryWiring>,
}

/// What the secondary zones' tasks need from the wiring.
pub(crate) struct SecondaryWiring {
    /// The zones and their primaries (catalogs included; their members
    /// join as they are learned).
    pub(crate) primaries: Arc<ArcSwap<Primaries>>,
    /// The zones of NOTIFYs the listeners accepted.
    pub(crate) notifies: mpsc::UnboundedReceiver<Name>,
    /// The zones that expired.
    pub(crate) expired: Arc<ArcSwap<Vec<Name>>>,
}

/// Sets up transfers: the keys from `store` (if the store is served), the
/// ACL from the flags. Logs who may transfer, and warns about key names
/// that no stored key has.
pub(crate) fn setup(
    args: &XfrArgs,
    store: Option<&Store>,
    zones: SharedZones,
    aliases: SharedAliases,
) -> anyhow::Result<Wiring> {
    let secrets = match store {
        Some(store) => store.tsig_secrets()?,
        None => Vec::new(),
    };
    let ring = key_ring(&secrets);
    let named = args
        .allow
        .iter()
        .filter_map(|r| r.key.as_ref())
        .chain(args.notify.iter().filter_map(|t| t.key.as_ref()))
        .chain(args.secondary.iter().filter_map(|u| u.key.as_ref()))
        .chain(args.secondary_catalog.iter().filter_map(|u| u.key.as_ref()));
    let mut warned = Vec::new();
    for name in named {
        if ring.get(name).is_none() && !warned.contains(&name) {
            warned.push(name);
            tracing::warn!(
                key = %name,
                "no TSIG key of this name (add it with `candor tsig add`): what needs it \
                 does not work until it exists"
            );
        }
    }
    if args.allow.is_empty() {
        tracing::info!("zone transfers are refused to everyone (no --xfr-allow)");
    } else {
        let rules: Vec<String> = args.allow.iter().map(ToString::to_string).collect();
        tracing::info!(allow = ?rules, "zone transfers allowed");
    }
    let keys = Arc::new(ArcSwap::from_pointee(ring));
    let limits = Limits {
        max_steps: args.ixfr_history,
        ..Limits::DEFAULT
    };
    let acl = Acl::new(args.allow.clone());
    let primary = Arc::new(Primary::new(zones, aliases, acl, keys.clone(), limits));
    let mut transfers = Transfers::new(primary.clone(), args.max_concurrent);
    let secondary = if args.secondary.is_empty() && args.secondary_catalog.is_empty() {
        None
    } else {
        let all: Vec<_> = args
            .secondary
            .iter()
            .chain(&args.secondary_catalog)
            .cloned()
            .collect();
        let primaries = Arc::new(ArcSwap::from_pointee(Primaries::new(&all)));
        let (tx, notifies) = mpsc::unbounded_channel();
        let expired = Arc::new(ArcSwap::from_pointee(Vec::new()));
        let side = SecondarySide::new(primaries.clone(), tx, expired.clone());
        transfers = transfers.with_secondary(side);
        let upstreams: Vec<String> = all.iter().map(ToString::to_string).collect();
        tracing::info!(primaries = ?upstreams, "secondary zones");
        Some(SecondaryWiring {
            primaries,
            notifies,
            expired,
        })
    };
    Ok(Wiring {
        primary,
        transfers: Arc::new(transfers),
        keys,
        secondary,
    })
}

/// Starts the tasks: the journal follower, the notifier (with `--notify`)
/// and the key follower (with a store).
pub(crate) fn spawn(
    wiring: &Wiring,
    args: &XfrArgs,
    store: Option<Arc<Store>>,
    changes: watch::Receiver<u64>,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let notify = if args.notify.is_empty() {
        None
    } else {
        let (tx, rx) = mpsc::unbounded_channel();
        // Message IDs must not be guessable: seeded from the randomness
        // the standard library keys its hash maps with.
        let seed = RandomState::new().build_hasher().finish();
        let notifier = Notifier::new(args.notify.clone(), Timing::DEFAULT, seed);
        let targets: Vec<String> = args.notify.iter().map(ToString::to_string).collect();
        tracing::info!(secondaries = ?targets, "NOTIFY on every zone change");
        tasks.push(tokio::spawn(run_notifier(
            notifier,
            wiring.keys.clone(),
            rx,
            stop.clone(),
        )));
        Some(tx)
    };
    tasks.push(tokio::spawn(follow_zones(
        wiring.primary.clone(),
        changes,
        notify,
        stop.clone(),
    )));
    if let Some(store) = store {
        tasks.push(tokio::spawn(follow_keys(
            store,
            wiring.keys.clone(),
            stop.clone(),
        )));
    }
    tasks
}

/// Reads the store's TSIG keys every second and swaps in the new ring
/// when they changed (names are logged, secrets never).
async fn follow_keys(
    store: Arc<Store>,
    keys: Arc<ArcSwap<KeyRing>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut last: Option<Vec<TsigSecret>> = None;
    loop {
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.tsig_secrets()).await {
            Ok(Ok(secrets)) => {
                if last.as_ref() != Some(&secrets) {
                    if last.is_some() {
                        let names: Vec<&str> =
                            secrets.iter().map(|k| k.info.name.as_str()).collect();
                        tracing::info!(keys = ?names, "TSIG keys changed");
                    }
                    keys.store(Arc::new(key_ring(&secrets)));
                    last = Some(secrets);
                }
            }
            Ok(Err(e)) => tracing::warn!("cannot read the TSIG keys: {e}"),
            Err(e) => tracing::warn!("cannot read the TSIG keys: {e}"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}
