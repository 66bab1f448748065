//! DNSSEC key states on time inside `candor serve`: every few seconds,
//! each zone with DNSSEC that is served signed is asked what its key
//! state machine (`candor_dnssec::rollover`) wants now, with the timing
//! taken from the zone as served (DNSKEY TTL, largest TTL) and from the
//! options below; due steps are applied in the store
//! (`Store::dnssec_advance`: key timestamps, a new serial when what the
//! zone publishes changes) and the change is published. The next event
//! goes to the store for `candor dnssec status` and the API.
//!
//! Only a served zone moves on: a DS is offered once the signed zone has
//! been served for the propagation delay plus its largest TTL, so it is
//! this process that must have served it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use candor_dnssec::rollover::{Policy, Timing, Wait};
use candor_publish::Publisher;
use candor_store::Store;
use candor_wire::{Name, Rtype};
use candor_zone::Zone;
use tokio::sync::watch;

/// `candor serve` options of DNSSEC key rollovers.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct KeyrollArgs {
    /// A ZSK (zones enabled with split keys) is replaced by a new one this
    /// many seconds after it started signing (90 days); 0: only by hand
    /// (`candor dnssec rollover`).
    #[arg(long, value_name = "SECONDS", default_value_t = 90 * 86_400)]
    pub(crate) dnssec_zsk_lifetime: u64,
    /// A CSK is replaced this many seconds after it started signing; 0 (the
    /// default): only by hand, since a CSK rollover needs the registrar to
    /// change the DS (`candor dnssec ds-seen` confirms each change).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub(crate) dnssec_csk_lifetime: u64,
    /// How long a zone change takes to reach every name server of the zone,
    /// secondaries included (RFC 7583's Dprp); every rollover step waits it
    /// out on top of the TTLs.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub(crate) dnssec_propagation_delay: u32,
    /// How long resolvers may keep the parent's old DS RRset after the
    /// parent changed it: its DS TTL plus the parent's own propagation
    /// delay (a day and an hour, as for most TLDs).
    #[arg(long, value_name = "SECONDS", default_value_t = 90_000)]
    pub(crate) dnssec_parent_ds_ttl: u32,
    /// Ask this validating resolver, as ADDRESS:PORT, for each zone's DS
    /// while its keys wait for the parent (a CSK or KSK rollover, a
    /// disable): a validated (AD) DS RRset that matches what the zone's CDS
    /// asks for counts as `candor dnssec ds-seen`. Unset: only `ds-seen`
    /// (or the API's `ds_seen`) tells.
    #[arg(long, value_name = "ADDRESS:PORT")]
    pub(crate) dnssec_parent_check: Option<std::net::SocketAddr>,
    /// Believe `--dnssec-parent-check`'s answers without the AD bit: for
    /// asking the parent zone's own name server, over a path you trust.
    #[arg(long)]
    pub(crate) dnssec_parent_check_unvalidated: bool,
    /// How often `--dnssec-parent-check` asks, per waiting zone, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    pub(crate) dnssec_parent_check_every: u64,
    /// Test only: the schedule treats every TTL as at most this many
    /// seconds (for a rollover in seconds against a resolver whose
    /// cache-max-ttl is the same); never in production.
    #[arg(
        long,
        value_name = "SECONDS",
        hide = true,
        env = "CANDOR_TEST_DNSSEC_TTL_CAP"
    )]
    pub(crate) dnssec_test_ttl_cap: Option<u32>,
    /// Test only: how often key states are checked, in seconds.
    #[arg(long, value_name = "SECONDS", hide = true, default_value_t = 10)]
    pub(crate) dnssec_key_check_every: u64,
}

/// The largest TTL of a served zone, remembered per apex and serial (a
/// walk over every record: once per version, not per check).
type TtlCache = HashMap<Vec<u8>, (u32, u32)>;

/// Checks every `--dnssec-key-check-every` seconds; returns when `stop`
/// turns.
pub(crate) async fn run(
    store: Arc<Store>,
    publisher: Publisher,
    args: KeyrollArgs,
    mut stop: watch::Receiver<bool>,
) {
    if let Some(cap) = args.dnssec_test_ttl_cap {
        tracing::warn!(
            cap,
            "DNSSEC key schedule with every TTL capped (a test setting, unsafe in production)"
        );
    }
    let every = Duration::from_secs(args.dnssec_key_check_every.max(1));
    let state = Arc::new(std::sync::Mutex::new((
        TtlCache::new(),
        HashMap::new(),
        HashMap::new(),
    )));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let (st, p, a, s) = (
            store.clone(),
            publisher.clone(),
            args.clone(),
            state.clone(),
        );
        let pass = tokio::task::spawn_blocking(move || {
            let Ok(mut guard) = s.lock() else {
                return 0;
            };
            let (ttls, shown, asked) = &mut *guard;
            check(&st, &p, &a, ttls, shown, asked)
        });
        let Ok(largest) = pass.await else {
            return;
        };
        // A key step signs the zone again in full, as a refresh does.
        if !crate::resign::release_after_replacing(largest, &mut stop).await {
            return;
        }
    }
}

/// The next event last recorded per zone id.
type Shown = HashMap<i64, Option<u64>>;

/// When the parent was last asked for each zone's DS (zone id, seconds).
type Asked = HashMap<i64, u64>;

/// One pass over the zones with DNSSEC. Returns the record count of the
/// largest zone published again (0 if none).
fn check(
    store: &Store,
    publisher: &Publisher,
    args: &KeyrollArgs,
    ttls: &mut TtlCache,
    shown: &mut Shown,
    asked: &mut Asked,
) -> usize {
    let mut largest = 0;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let zones = match store.dnssec_zones() {
        Ok(z) => z,
        Err(e) => {
            tracing::warn!("cannot list DNSSEC zones: {e}");
            return 0;
        }
    };
    for (id, name) in zones {
        let Ok(apex) = Name::from_text(&format!("{name}."), None) else {
            continue;
        };
        let apex = apex.to_lowercase();
        let set = publisher.zones().load();
        // A zone not served signed yet is the follower's to publish first.
        let Some(zone) = set
            .find(apex.as_wire())
            .filter(|z| z.apex() == &apex && z.signed().is_some())
        else {
            continue;
        };
        let policy = policy(zone, args, ttls);
        let states = match store.dnssec_key_states(id) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(zone = %name, "cannot read DNSSEC key states: {e}");
                continue;
            }
        };
        let mut poll = states.poll(now, &policy);
        let waits_for_parent = poll.waits.iter().any(|w| matches!(w, Wait::Parent(_)));
        if let Some(server) = args.dnssec_parent_check.filter(|_| waits_for_parent)
            && asked
                .get(&id)
                .is_none_or(|t| now >= t + args.dnssec_parent_check_every)
        {
            asked.insert(id, now);
            let validated = !args.dnssec_parent_check_unvalidated;
            if ask_parent(store, (server, validated), id, &name, zone) {
                // What the parent holds moved the states: poll again.
                match store.dnssec_key_states(id) {
                    Ok(s) => poll = s.poll(now, &policy),
                    Err(e) => tracing::warn!(zone = %name, "cannot read DNSSEC key states: {e}"),
                }
            }
        }
        let next =
            poll.next_time()
                .or(if poll.waits.iter().any(|w| matches!(w, Wait::Parent(_))) {
                    Some(0)
                } else {
                    None
                });
        if poll.actions.is_empty() && shown.get(&id) == Some(&next) {
            continue;
        }
        // Not held while the zone is signed again and replaced: it holds
        // the version being replaced.
        drop(set);
        match store.dnssec_advance(id, now, &policy) {
            Ok((after, change)) => {
                shown.insert(
                    id,
                    after.next_time().or(if after.waits.is_empty() {
                        None
                    } else {
                        Some(0)
                    }),
                );
                if let Some(change) = change {
                    publisher.publish(&change);
                    let records = change.compiled.as_ref().map_or(0, |z| z.record_count());
                    largest = largest.max(records);
                    tracing::info!(
                        zone = %name,
                        serial = change.zone.serial,
                        steps = ?poll.actions,
                        "DNSSEC key states moved on"
                    );
                }
            }
            Err(e) => tracing::warn!(zone = %name, "cannot move DNSSEC key states on: {e}"),
        }
    }
    largest
}

/// Asks `server` for the zone's DS (believed only when validated, if
/// `validated`); when it matches what the served zone's CDS asks for,
/// records that as `ds-seen` would. Returns whether the key states learnt
/// something.
fn ask_parent(
    store: &Store,
    (server, validated): (std::net::SocketAddr, bool),
    id: i64,
    name: &str,
    zone: &Zone,
) -> bool {
    // The CDS RDATAs: each tail is TYPE, CLASS, TTL, RDLENGTH, RDATA.
    let mut cds: Vec<&[u8]> = Vec::new();
    let mut tails = zone
        .rrset(zone.node(0), Rtype::CDS)
        .map_or(&[][..], |set| zone.tails(set));
    while let Some(head) = tails.get(..10) {
        let len = usize::from(u16::from_be_bytes([head[8], head[9]]));
        let Some(rdata) = tails.get(10..10 + len) else {
            break;
        };
        cds.push(rdata);
        tails = &tails[10 + len..];
    }
    let parent = match crate::parent_check::parent_ds(server, zone.apex(), validated) {
        Ok(ds) => ds,
        Err(why) => {
            tracing::warn!(zone = %name, "cannot ask for the parent's DS: {why}");
            return false;
        }
    };
    let parent: Vec<&[u8]> = parent.iter().map(Vec::as_slice).collect();
    if !candor_dnssec::rollover::parent_matches(&cds, &parent) {
        tracing::debug!(zone = %name, held = parent.len(), "the parent's DS does not match the CDS yet");
        return false;
    }
    match store.dnssec_parent_seen(id) {
        Ok(learnt) => {
            for what in &learnt {
                tracing::info!(zone = %name, "the parent's DS matches the CDS: {what}");
            }
            true
        }
        // Nothing new (told already by `ds-seen`): nothing to do.
        Err(candor_store::StoreError::Conflict(_)) => false,
        Err(e) => {
            tracing::warn!(zone = %name, "cannot record the parent's DS: {e}");
            false
        }
    }
}

/// The schedule of a served zone: its DNSKEY TTL (the SOA's, as the signer
/// gives it) and largest TTL, each capped by the test setting, and the
/// options.
fn policy(zone: &Zone, args: &KeyrollArgs, ttls: &mut TtlCache) -> Policy {
    let key = zone.apex().as_wire().to_vec();
    let max_ttl = match ttls.get(&key) {
        Some(&(serial, max)) if serial == zone.serial() => max,
        _ => {
            let max = zone.records().map(|r| r.ttl).max().unwrap_or(0);
            ttls.insert(key, (zone.serial(), max));
            max
        }
    };
    let dnskey_ttl = zone
        .rrset(zone.node(0), Rtype::DNSKEY)
        .map_or(max_ttl, |s| s.ttl);
    let cap = |ttl: u32| args.dnssec_test_ttl_cap.map_or(ttl, |c| ttl.min(c));
    Policy {
        timing: Timing {
            propagation: args.dnssec_propagation_delay,
            dnskey_ttl: cap(dnskey_ttl),
            max_zone_ttl: cap(max_ttl),
        },
        parent_ds_ttl: cap(args.dnssec_parent_ds_ttl),
        zsk_lifetime: args.dnssec_zsk_lifetime,
        csk_lifetime: args.dnssec_csk_lifetime,
    }
}
