//! One UDP worker's per-zone counters and its fair-share shedding.
//!
//! A worker owns a [`WorkerTraffic`] and nobody else touches it: per
//! packet it is one probe of a 1,024-slot table (32 KiB, cache resident)
//! and a few plain increments, no atomics and no shared cache line. Every
//! [`WINDOW`] the worker closes the window ([`WorkerTraffic::roll`]), hands
//! the window's counts to the shared [`Traffic`](crate::Traffic) and gets
//! the shedding limits for the next window.
//!
//! **Shedding.** The worker measures what an answer costs it (the time it
//! spent answering, rate limiting and sending over the queries it let
//! through) and what the rest costs it (receiving and peeking at every
//! packet, shed or not). Its budget for the next window is the number of
//! answers that fit in [`HEADROOM`] of a window besides the rest, as much
//! of it as the last window took. When the last window's arrivals exceed
//! the budget, it computes max-min fair shares (water-filling): zones that
//! asked for less than the fair share keep all of it, and each zone above
//! it is limited to the share in the next window. Measuring the two costs
//! apart matters: a worker that is fully busy shedding would otherwise take
//! its busy time for answering, find its capacity to be what it admitted,
//! and shrink its budget window after window.
//!
//! A limited zone's first `share` queries of each window are let through
//! and the rest are dropped before they are answered, which is what makes
//! shedding cheaper than answering. It is an allowance, not a fraction of
//! its queries: a small zone that was over its share in one burst and
//! sends a few queries in the next window loses none of them. Queries
//! for zones the table has no room for, and queries in no zone, are never
//! shed: only a zone the worker can name is limited, and a zone big enough
//! to matter claims a slot in the first few packets of a window.

use std::time::{Duration, Instant};

use candor_zone::ZoneId;

/// Slots in a worker's table (a power of two).
pub const SLOTS: usize = 1024;

/// Slots probed for a zone before it is counted as "other" (five cache
/// lines at most: a full table costs a packet of an uncounted zone that
/// much, not more).
const PROBES: usize = 8;

/// The length of a measuring and shedding window.
pub const WINDOW: Duration = Duration::from_millis(100);

/// The share of a window (in percent) the budget may fill with work: the
/// rest is room for bursts and for what the estimate misses (a worker
/// that shares its core loses time it cannot predict; at 90% a test on a
/// loaded machine fell behind now and then, and its queue with it).
pub const HEADROOM: u64 = 75;

/// A limited zone keeps at least this share of the capacity (in percent of
/// a window's budget), so its own legitimate clients still get answers.
const MIN_SHARE: u64 = 1;

/// Queries one zone (or bucket) got in one window, and what became of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Queries that arrived (answered or shed).
    pub queries: u32,
    /// Answers with NXDOMAIN.
    pub nxdomain: u32,
    /// Responses the rate limiter slipped or dropped.
    pub rrl: u32,
    /// Queries shed before answering (fair share under overload).
    pub shed: u32,
}

impl Counts {
    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.queries == 0 && self.nxdomain == 0 && self.rrl == 0 && self.shed == 0
    }
}

/// One slot of the table.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// The zone; `ZoneId(0)` marks a free slot.
    id: ZoneId,
    /// Its position in the zone set the worker used when it claimed the
    /// slot (to name it when the window is folded).
    pos: u32,
    /// This window's counts.
    counts: Counts,
    /// Whether the zone is limited this window.
    limited: bool,
    /// Its allowance this window, if limited.
    allowance: u32,
    /// Queries let through this window, if limited.
    let_through: u32,
    /// Whether the zone is under attack, so its responses are rate
    /// limited more tightly (see [`WorkerTraffic::set_tightened`]).
    tightened: bool,
}

/// Where a packet was counted: pass it back for the counts that follow
/// the answer ([`WorkerTraffic::nxdomain`], [`WorkerTraffic::rrl`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRef(u16);

/// The bucket of queries for zones the table had no room for.
const OTHER: usize = SLOTS;

/// The bucket of queries in no served zone (or unreadable).
const NO_ZONE: usize = SLOTS + 1;

/// One zone's counts in a closed window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZoneCounts {
    /// The zone.
    pub id: ZoneId,
    /// Its position in the zone set when the worker first saw it this
    /// window (a hint for naming it; check the id).
    pub pos: u32,
    /// What it got.
    pub counts: Counts,
}

/// A closed window: what the worker hands to the shared aggregator.
#[derive(Clone, Debug, Default)]
pub struct WindowReport {
    /// The zones the table held.
    pub zones: Vec<ZoneCounts>,
    /// Queries for zones the table had no room for.
    pub other: Counts,
    /// Queries in no served zone.
    pub no_zone: Counts,
    /// The worker's answer budget (answers per second at the last
    /// window's receive load), once measured.
    pub capacity: Option<u64>,
    /// Zones limited for the next window.
    pub limited: u32,
    /// Queries the kernel filter dropped in the window (the socket's drop
    /// counter while the filter had rules: see [`crate::filter`]).
    pub kernel_shed: u64,
}

/// A worker's per-zone counters and shedding state.
pub struct WorkerTraffic {
    /// The table, then the `OTHER` and `NO_ZONE` buckets.
    slots: Box<[Slot]>,
    /// When the current window started.
    window_start: Instant,
    /// Time spent working in the current window.
    busy: Duration,
    /// CPU time the worker's thread used in the current window, if the
    /// caller measures it ([`count_cpu`](Self::count_cpu)): it includes
    /// the receive system calls, which the batches' timing counts as
    /// waiting (a third of a saturated worker's time).
    cpu: Duration,
    /// Of it, time spent answering (and sending) the queries let through.
    answering: Duration,
    /// Queries let through in the current window.
    admitted: u32,
    /// What an answer costs, in nanoseconds (smoothed), once measured.
    cost_ns: Option<u64>,
    /// Answers that fit in the next window (the budget), once measured.
    capacity: Option<u64>,
    /// Zones limited in the current window.
    limited: u32,
    /// The last closed window, reused between windows.
    report: WindowReport,
    /// Zones under attack, whose responses the rate limiter holds to a
    /// tighter rate (usually none).
    tightened: Vec<ZoneId>,
    /// Whether shedding may use the kernel filter (see
    /// [`set_kernel_shedding`](Self::set_kernel_shedding)).
    kernel_shedding: bool,
    /// The kernel filter's rules in effect (see
    /// [`kernel_plan`](Self::kernel_plan)), biggest demand first.
    kernel_plan: Vec<KernelRule>,
    /// Whether `kernel_plan` changed since it was last taken.
    kernel_changed: bool,
    /// Packets the kernel dropped in the current window (the socket's drop
    /// counter, see [`count_kernel_drops`](Self::count_kernel_drops)).
    kernel_drops: u64,
}

/// One zone the kernel filter sheds: the worker turns it into a
/// [`crate::filter::Rule`] with the zone's apex.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelRule {
    /// The zone.
    pub id: ZoneId,
    /// Its position in the zone set the worker last saw it in (check the
    /// id).
    pub pos: u32,
    /// The share of its packets let through (see [`crate::filter::Rule`]).
    pub admit: u32,
}

/// The least share the kernel lets through (1/65,536).
const KERNEL_MIN_ADMIT: u32 = 1 << 16;

/// Packets of a zone the kernel lets through per window at least, whatever
/// its share: enough to tell whether the flood goes on.
const KERNEL_MIN_THROUGH: u64 = 32;

/// Above this share (7/8) the kernel filter is not worth its rule.
const KERNEL_MAX_ADMIT: u64 = 7 << 29;

/// A plan whose shares all moved less than this (in percent) is kept as
/// it is, rather than a new program attached every window.
const KERNEL_HYSTERESIS: u64 = 25;

impl WorkerTraffic {
    /// A fresh table whose first window starts at `now`.
    pub fn new(now: Instant) -> WorkerTraffic {
        WorkerTraffic {
            slots: vec![Slot::default(); SLOTS + 2].into_boxed_slice(),
            window_start: now,
            busy: Duration::ZERO,
            cpu: Duration::ZERO,
            answering: Duration::ZERO,
            admitted: 0,
            cost_ns: None,
            capacity: None,
            limited: 0,
            report: WindowReport::default(),
            tightened: Vec::new(),
            kernel_shedding: false,
            kernel_plan: Vec::new(),
            kernel_changed: false,
            kernel_drops: 0,
        }
    }

    /// Counts CPU time the worker's thread used (user and system) since the
    /// last call: the window's working time is the larger of it and what
    /// [`work`](Self::work) counted.
    pub fn count_cpu(&mut self, spent: Duration) {
        self.cpu += spent;
    }

    /// Counts packets the worker's socket dropped in the kernel (its drop
    /// counter's increase) since the last call: when the filter has rules,
    /// [`roll`](Self::roll) gives them to the ruled zones.
    pub fn count_kernel_drops(&mut self, n: u64) {
        self.kernel_drops = self.kernel_drops.saturating_add(n);
    }

    /// Adds the window's kernel drops to the zones the filter had rules
    /// for, in proportion to what each was expected to lose at its share
    /// (what reached the worker × (1 − share) / share): they are queries
    /// the zone was sent, and shed. Drops while no rule was in effect are
    /// the queue's overflows, which hit every zone alike: each zone's count
    /// grows in proportion.
    fn attribute_kernel_drops(&mut self) {
        let drops = std::mem::take(&mut self.kernel_drops);
        if drops == 0 {
            return;
        }
        // The rules in effect this window (a few): each zone's place in
        // the report.
        let mut weights = Vec::new();
        // A ruled zone none of whose packets got through is still one
        // the drops belong to.
        for rule in &self.kernel_plan {
            let zones = &mut self.report.zones;
            let k = match zones.iter().position(|z| z.id == rule.id) {
                Some(k) => k,
                None => {
                    zones.push(ZoneCounts {
                        id: rule.id,
                        pos: rule.pos,
                        counts: Counts::default(),
                    });
                    zones.len() - 1
                }
            };
            let admit = u128::from(rule.admit.max(1));
            let seen = u128::from(zones[k].counts.queries.max(1));
            weights.push((k, seen * ((1u128 << 32) - admit) / admit));
        }
        if weights.is_empty() {
            // No rule: the queue overflowed, and a full queue drops
            // whatever comes, so each zone lost in proportion to what
            // reached the worker. Counted as sent (the demand fair shares
            // are computed from), not as shed.
            let seen: u64 = self
                .report
                .zones
                .iter()
                .map(|z| u64::from(z.counts.queries))
                .sum();
            if seen == 0 {
                return;
            }
            for z in &mut self.report.zones {
                let lost = drops * u64::from(z.counts.queries) / seen;
                z.counts.queries = z
                    .counts
                    .queries
                    .saturating_add(lost.min(u64::from(u32::MAX)) as u32);
            }
            return;
        }
        let total: u128 = weights.iter().map(|w| w.1).sum();
        if total == 0 {
            return;
        }
        for (k, w) in weights {
            let share = (u128::from(drops) * w / total).min(u128::from(u32::MAX)) as u32;
            let c = &mut self.report.zones[k].counts;
            c.queries = c.queries.saturating_add(share);
            c.shed = c.shed.saturating_add(share);
            self.report.kernel_shed += u64::from(share);
        }
    }

    /// Lets shedding use the kernel filter (off by default): limited zones
    /// then get a share in the kernel plan (see
    /// [`kernel_plan`](Self::kernel_plan)). Turning it off empties the plan.
    pub fn set_kernel_shedding(&mut self, on: bool) {
        self.kernel_shedding = on;
        if !on && !self.kernel_plan.is_empty() {
            self.kernel_plan.clear();
            self.kernel_changed = true;
        }
    }

    /// The kernel filter's new rules, if they changed since the last call
    /// (an empty list: remove the filter). The counts of the next window
    /// assume the worker attached them.
    pub fn kernel_plan(&mut self) -> Option<&[KernelRule]> {
        if !self.kernel_changed {
            return None;
        }
        self.kernel_changed = false;
        Some(&self.kernel_plan)
    }

    /// The slot of `zone` (its id and position in the worker's zone set),
    /// claiming a free one if need be.
    #[inline]
    fn slot_of(&mut self, zone: Option<(ZoneId, u32)>) -> usize {
        let Some((id, pos)) = zone else {
            return NO_ZONE;
        };
        let home = (id.0 >> (64 - SLOTS.trailing_zeros())) as usize;
        for k in 0..PROBES {
            let i = (home + k) & (SLOTS - 1);
            let slot = &mut self.slots[i];
            if slot.id == id {
                return i;
            }
            if slot.id.0 == 0 {
                slot.id = id;
                slot.pos = pos;
                // Once per zone and window; the list is empty but in an attack.
                slot.tightened = !self.tightened.is_empty() && self.tightened.contains(&id);
                return i;
            }
        }
        OTHER
    }

    /// Counts a query for `zone` (its id and position in the zone set,
    /// `None` for a query in no zone) and says whether to answer it
    /// (`false`: shed it, unanswered).
    #[inline]
    pub fn admit(&mut self, zone: Option<(ZoneId, u32)>) -> (SlotRef, bool) {
        let i = self.slot_of(zone);
        let slot = &mut self.slots[i];
        slot.counts.queries = slot.counts.queries.saturating_add(1);
        let admit = if !slot.limited {
            true
        } else if slot.let_through < slot.allowance {
            slot.let_through += 1;
            true
        } else {
            false
        };
        if admit {
            self.admitted += 1;
        } else {
            slot.counts.shed = slot.counts.shed.saturating_add(1);
        }
        (SlotRef(i as u16), admit)
    }

    /// Counts an NXDOMAIN answer to a query counted at `slot`.
    #[inline]
    pub fn nxdomain(&mut self, slot: SlotRef) {
        let c = &mut self.slots[usize::from(slot.0)].counts;
        c.nxdomain = c.nxdomain.saturating_add(1);
    }

    /// Sets the zones under attack (from [`crate::Traffic::tightened`],
    /// every window): the rate limiter holds their responses to a tighter
    /// rate. Marks the slots they already hold; others are marked when
    /// claimed.
    pub fn set_tightened(&mut self, zones: &[ZoneId]) {
        if zones == self.tightened.as_slice() {
            return;
        }
        self.tightened.clear();
        self.tightened.extend_from_slice(zones);
        for slot in self.slots.iter_mut().take(SLOTS) {
            slot.tightened = slot.id.0 != 0 && zones.contains(&slot.id);
        }
    }

    /// Whether the response to a query counted at `slot` is for a zone
    /// under attack (one load from the slot `admit` just used).
    #[inline]
    pub fn tightened(&self, slot: SlotRef) -> bool {
        self.slots[usize::from(slot.0)].tightened
    }

    /// Whether a response over the rate limit for the zone counted at
    /// `slot` is dropped rather than slipped (sent truncated): the zone is
    /// under attack or held to its fair share. A saturated worker spent
    /// 42% of its time sending a random-subdomain flood's slips back to
    /// its (spoofable) source, and the kernel dropped everyone's queries
    /// for lack of it.
    #[inline]
    pub fn no_slip(&self, slot: SlotRef) -> bool {
        let s = &self.slots[usize::from(slot.0)];
        s.tightened || s.limited
    }

    /// Counts a rate limiter action (slip or drop) on the response to a
    /// query counted at `slot`.
    #[inline]
    pub fn rrl(&mut self, slot: SlotRef) {
        let c = &mut self.slots[usize::from(slot.0)].counts;
        c.rrl = c.rrl.saturating_add(1);
    }

    /// Counts time the worker spent working (answering and sending a
    /// batch, not waiting for packets).
    #[inline]
    pub fn work(&mut self, spent: Duration) {
        self.busy += spent;
    }

    /// Counts, of the time worked, time spent answering the queries let
    /// through (answering, rate limiting and sending them). Count it in
    /// [`work`](Self::work) too.
    #[inline]
    pub fn answering(&mut self, spent: Duration) {
        self.answering += spent;
    }

    /// Zones limited in the current window.
    pub fn limited(&self) -> u32 {
        self.limited
    }

    /// The answer budget, in answers per window, once measured.
    pub fn capacity(&self) -> Option<u64> {
        self.capacity
    }

    /// Whether [`roll`](Self::roll) at `now` closes the window.
    pub fn window_closes(&self, now: Instant) -> bool {
        now.saturating_duration_since(self.window_start) >= WINDOW
    }

    /// Closes the window if it is [`WINDOW`] old at `now`: sets the limits
    /// for the next one and returns the closed window's counts; `None`
    /// while the window is still open.
    pub fn roll(&mut self, now: Instant) -> Option<&WindowReport> {
        let elapsed = now.saturating_duration_since(self.window_start);
        if elapsed < WINDOW {
            return None;
        }
        self.measure(elapsed);
        self.report.zones.clear();
        self.report.kernel_shed = 0;
        let mut fixed = 0u64;
        for (i, s) in self.slots.iter().enumerate() {
            match i {
                OTHER => {
                    self.report.other = s.counts;
                    fixed += u64::from(s.counts.queries);
                }
                NO_ZONE => {
                    self.report.no_zone = s.counts;
                    fixed += u64::from(s.counts.queries);
                }
                _ if s.id.0 != 0 && !s.counts.is_empty() => {
                    self.report.zones.push(ZoneCounts {
                        id: s.id,
                        pos: s.pos,
                        counts: s.counts,
                    });
                }
                _ => {}
            }
        }
        self.attribute_kernel_drops();
        let limits = self.capacity.and_then(|c| {
            // Arrivals scaled to a full window, if this one ran long.
            let scale =
                |q: u32| u64::from(q) * WINDOW.as_micros() as u64 / elapsed.as_micros() as u64;
            let demand: Vec<u64> = self
                .report
                .zones
                .iter()
                .map(|z| scale(z.counts.queries))
                .collect();
            fair_share(&demand, scale(fixed as u32), c)
        });
        self.report.capacity = self
            .capacity
            .map(|c| c * 1_000_000 / WINDOW.as_micros() as u64);
        // A fresh table: only limited zones keep their slots (and limits).
        self.slots.fill(Slot::default());
        self.limited = 0;
        let zones = std::mem::take(&mut self.report.zones);
        let mut plan = Vec::new();
        if let Some(share) = limits {
            for z in &zones {
                let arrived = u64::from(z.counts.queries) * WINDOW.as_micros() as u64
                    / elapsed.as_micros() as u64;
                if arrived > share {
                    let i = self.slot_of(Some((z.id, z.pos)));
                    if i < SLOTS {
                        let slot = &mut self.slots[i];
                        slot.limited = true;
                        slot.allowance = share.min(u64::from(u32::MAX)) as u32;
                        self.limited += 1;
                        // A quarter more than the allowance still reaches
                        // the worker, which sheds the rest exactly (and
                        // enough to measure the zone by).
                        let through = (share + share / 4).max(KERNEL_MIN_THROUGH);
                        let admit = through.saturating_mul(1 << 32) / arrived.max(1);
                        if self.kernel_shedding && admit < KERNEL_MAX_ADMIT {
                            plan.push((
                                arrived,
                                KernelRule {
                                    id: z.id,
                                    pos: z.pos,
                                    admit: (admit as u32).max(KERNEL_MIN_ADMIT),
                                },
                            ));
                        }
                    }
                }
            }
        }
        plan.sort_by_key(|p| std::cmp::Reverse(p.0));
        let mut plan: Vec<KernelRule> = plan.into_iter().map(|(_, r)| r).collect();
        // A rule's share at most doubles from one window to the next, and a
        // rule no longer needed is taken away the same way: the flood
        // comes back to the worker gradually, not all at once into a queue
        // sized for a millisecond (which then overflows for everyone, and
        // the rule comes back: an on-off cycle every few windows).
        for old in &self.kernel_plan {
            let ramp = u64::from(old.admit) * 2;
            match plan.iter_mut().find(|r| r.id == old.id) {
                Some(new) => new.admit = new.admit.min(ramp.min(u64::from(u32::MAX)) as u32),
                None if ramp < KERNEL_MAX_ADMIT && self.kernel_shedding => plan.push(KernelRule {
                    admit: ramp as u32,
                    ..*old
                }),
                None => {}
            }
        }
        if plan_moved(&self.kernel_plan, &plan) {
            self.kernel_plan = plan;
            self.kernel_changed = true;
        }
        self.report.zones = zones;
        self.report.limited = self.limited;
        self.window_start = now;
        self.busy = Duration::ZERO;
        self.cpu = Duration::ZERO;
        self.answering = Duration::ZERO;
        self.admitted = 0;
        Some(&self.report)
    }

    /// Updates the cost of an answer from the window that just closed
    /// (`elapsed` long), when it answered enough to measure, and the
    /// budget: the answers that fit in [`HEADROOM`] of a window besides
    /// the other work the last window had (scaled to a whole window), but
    /// never less than [`MIN_SHARE`] percent of a window's worth.
    fn measure(&mut self, elapsed: Duration) {
        if self.admitted >= 8 && !self.answering.is_zero() {
            let cost = self.answering.as_nanos() as u64 / u64::from(self.admitted);
            self.cost_ns = Some(match self.cost_ns {
                Some(old) => (old + cost) / 2,
                None => cost,
            });
        }
        let Some(cost) = self.cost_ns else {
            return;
        };
        let window = WINDOW.as_nanos() as u64;
        let busy = self.busy.max(self.cpu);
        let other = busy.saturating_sub(self.answering).as_nanos() as u64 * window
            / (elapsed.as_nanos() as u64).max(1);
        let room = (window * HEADROOM / 100)
            .saturating_sub(other)
            .max(window * MIN_SHARE / 100);
        // Smoothed like the cost: one window in which the worker lost its
        // core for a while must not make a small zone's few queries look
        // like more than its share.
        let budget = (room / cost.max(1)).max(1);
        self.capacity = Some(match self.capacity {
            Some(old) => (old + budget) / 2,
            None => budget,
        });
    }
}

/// Whether a new kernel plan differs enough from the one in effect to be
/// attached: other zones, or a share that moved by more than
/// [`KERNEL_HYSTERESIS`] percent.
fn plan_moved(old: &[KernelRule], new: &[KernelRule]) -> bool {
    if old.len() != new.len() {
        return true;
    }
    old.iter().zip(new).any(|(a, b)| {
        let (x, y) = (u64::from(a.admit), u64::from(b.admit));
        a.id != b.id || x.abs_diff(y) * 100 > x.max(y) * KERNEL_HYSTERESIS
    })
}

/// Max-min fair shares ("water-filling"): given each zone's demand, a
/// demand that is never limited (`fixed`) and the `budget`, the share no
/// zone may exceed so that all demands capped at it fit the budget; `None`
/// when everything fits and nothing needs limiting, and also when limiting
/// would protect nobody: one zone takes all the traffic and there is no
/// fixed demand (a server hosting one big zone at full load: shedding it
/// only wastes the capacity the budget's [`HEADROOM`] keeps, and a
/// closed-loop client loses its queries in flight). The share is never below [`MIN_SHARE`] percent of the budget
/// (nor below one query).
pub fn fair_share(demand: &[u64], fixed: u64, budget: u64) -> Option<u64> {
    let total: u64 = demand.iter().sum::<u64>() + fixed;
    if total <= budget {
        return None;
    }
    let floor = (budget * MIN_SHARE / 100).max(1);
    let mut sorted: Vec<u64> = demand.to_vec();
    sorted.sort_unstable();
    if sorted.len() == 1 && fixed == 0 {
        return None;
    }
    let mut remaining = budget.saturating_sub(fixed);
    let mut left = sorted.len() as u64;
    for d in sorted {
        if d * left <= remaining {
            remaining -= d;
            left -= 1;
        } else {
            return Some((remaining / left).max(floor));
        }
    }
    // Only the fixed demand is over the budget: limit no zone below the floor.
    Some(floor)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use candor_zone::ZoneId;

    use super::{WINDOW, WorkerTraffic, fair_share};

    /// The water level: small zones keep all they ask for, big ones share
    /// what is left equally.
    #[test]
    fn fair_share_fills_small_demands_first() {
        assert_eq!(fair_share(&[10, 20, 30], 0, 100), None);
        assert_eq!(fair_share(&[10, 20, 1000], 0, 100), Some(70));
        assert_eq!(fair_share(&[10, 500, 1000], 0, 100), Some(45));
        assert_eq!(fair_share(&[10, 1000], 50, 100), Some(40));
        // Never below the floor, even when the unlimited part alone is over.
        assert_eq!(fair_share(&[10, 1000], 500, 100), Some(1));
        // Nobody to protect: one zone and no other demand is never
        // limited; any other demand, or a second zone, is.
        assert_eq!(fair_share(&[1000], 0, 100), None);
        assert_eq!(fair_share(&[1000, 2000], 0, 100), Some(50));
        assert_eq!(fair_share(&[1000], 5, 100), Some(95));
    }

    /// Simulates a worker that spends `cost` per answered query against a
    /// stream where zone 1 sends `flood` and zone 2 `legit` queries per
    /// window, for `windows` windows; returns zone 2's answered share and
    /// zone 1's answered count in the last window.
    fn simulate(cost: Duration, flood: u32, legit: u32, windows: u32) -> (f64, u32) {
        let start = Instant::now();
        let mut t = WorkerTraffic::new(start);
        let (a, b) = (
            Some((ZoneId(1 << 63 | 1), 0)),
            Some((ZoneId(3 << 62 | 1), 1)),
        );
        let (mut legit_sent, mut legit_answered) = (0u32, 0u32);
        let mut flood_last = 0;
        for w in 1..=windows {
            let mut flood_answered = 0;
            let per = (flood + legit) / legit;
            for k in 0..flood + legit {
                let zone = if k % per == 0 { b } else { a };
                let (_, ok) = t.admit(zone);
                // Receiving and peeking cost a hundredth of an answer.
                t.work(cost / 100);
                if ok {
                    t.work(cost);
                    t.answering(cost);
                }
                if zone == b && w > 3 {
                    legit_sent += 1;
                    legit_answered += u32::from(ok);
                }
                if zone == a && ok {
                    flood_answered += 1;
                }
            }
            flood_last = flood_answered;
            t.roll(start + WINDOW * w);
        }
        (
            f64::from(legit_answered) / f64::from(legit_sent),
            flood_last,
        )
    }

    /// Ten times the capacity for one zone: the other zone keeps every
    /// answer, the flooded zone gets what capacity is left.
    #[test]
    fn a_flood_at_ten_times_capacity_leaves_other_zones_answered() {
        // 1 ms an answer: 100 answers a window.
        let (legit_share, flood_answered) = simulate(Duration::from_millis(1), 1000, 10, 20);
        assert_eq!(legit_share, 1.0);
        // 75 ms of 100 for answers, less the receiving: ~65 answers, 10 of
        // them the other zone's.
        assert!((45..=65).contains(&flood_answered), "{flood_answered}");
    }

    /// Zones under attack are marked tightened, whether their slot was
    /// claimed before or after the list was set, through a window's roll,
    /// and unmarked when the list is cleared.
    #[test]
    fn tightened_zones_are_marked() {
        let start = Instant::now();
        let mut t = WorkerTraffic::new(start);
        let (victim, other, late) = (
            Some((ZoneId(1 << 63 | 1), 0)),
            Some((ZoneId(3 << 62 | 1), 1)),
            Some((ZoneId(5 << 61 | 1), 2)),
        );
        let (v, o) = (t.admit(victim).0, t.admit(other).0);
        assert!(!t.tightened(v) && !t.tightened(o));
        t.set_tightened(&[ZoneId(1 << 63 | 1), ZoneId(5 << 61 | 1)]);
        assert!(t.tightened(v) && !t.tightened(o));
        let l = t.admit(late).0;
        assert!(t.tightened(l));
        t.roll(start + WINDOW);
        let (v, o) = (t.admit(victim).0, t.admit(other).0);
        assert!(t.tightened(v) && !t.tightened(o), "kept across windows");
        assert!(t.no_slip(v) && !t.no_slip(o));
        t.set_tightened(&[]);
        assert!(!t.tightened(v) && !t.no_slip(v));
        let none = t.admit(None).0;
        assert!(!t.tightened(none), "no zone, never tightened");
    }

    /// A small zone limited after a burst keeps every one of the few
    /// queries it sends next; the flooded zone gets its allowance only.
    #[test]
    fn a_limited_zone_gets_its_allowance_first() {
        let start = Instant::now();
        let mut t = WorkerTraffic::new(start);
        let (flood, small) = (
            Some((ZoneId(1 << 63 | 1), 0)),
            Some((ZoneId(3 << 62 | 1), 1)),
        );
        for _ in 0..1000 {
            t.admit(flood);
            t.work(Duration::from_millis(1));
            t.answering(Duration::from_millis(1));
        }
        for _ in 0..50 {
            t.admit(small);
        }
        t.roll(start + WINDOW);
        assert_eq!(
            t.limited(),
            2,
            "both were over the share of a 75-answer budget"
        );
        let small_ok = (0..3).filter(|_| t.admit(small).1).count();
        assert_eq!(small_ok, 3);
        let flood_ok = (0..1000).filter(|_| t.admit(flood).1).count();
        // 1,050 answers in 1,000 ms: 0.95 ms each, 78 in 75 ms, 39 each.
        assert_eq!(flood_ok, 39);
    }

    /// With kernel shedding on, a flood far over capacity gets a kernel
    /// rule: most of it never reaches the worker, what does is shed to the
    /// allowance as before, the other zone keeps every answer, and the
    /// window's report still tells what the zone was sent. When the flood
    /// stops, the rule goes.
    #[test]
    fn the_kernel_plan_follows_a_flood_and_its_end() {
        let start = Instant::now();
        let mut t = WorkerTraffic::new(start);
        t.set_kernel_shedding(true);
        let (a, b) = (ZoneId(1 << 63 | 1), ZoneId(3 << 62 | 1));
        let cost = Duration::from_micros(100);
        let mut admit_a: Option<u32> = None;
        let mut rng = 0x2545_f491_u32;
        let (mut legit_sent, mut legit_answered, mut reached) = (0u32, 0u32, 0u32);
        let mut reported = (0u32, 0u64);
        for w in 1..=30u32 {
            let flood = if w <= 20 { 20_000 } else { 0 };
            reached = 0;
            let mut dropped = 0u64;
            for k in 0..flood + 100 {
                // 100 legit queries spread through the flood (after it once
                // the flood stops).
                let legit =
                    k >= flood || (k % (flood / 100 + 1) == 0 && k / (flood / 100 + 1) < 100);
                let zone = if legit { (b, 1) } else { (a, 0) };
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                if zone.0 == a && admit_a.is_some_and(|admit| rng >= admit) {
                    dropped += 1;
                    continue;
                }
                if zone.0 == a {
                    reached += 1;
                }
                let (_, ok) = t.admit(Some(zone));
                t.work(cost / 100);
                if ok {
                    t.work(cost);
                    t.answering(cost);
                }
                if zone.0 == b && w > 3 {
                    legit_sent += 1;
                    legit_answered += u32::from(ok);
                }
            }
            t.count_kernel_drops(dropped);
            let report = t.roll(start + WINDOW * w).expect("closed").clone();
            if w == 20 {
                let queries = report.zones.iter().find(|z| z.id == a);
                reported = (queries.map_or(0, |z| z.counts.queries), report.kernel_shed);
            }
            if let Some(plan) = t.kernel_plan() {
                admit_a = plan.iter().find(|r| r.id == a).map(|r| r.admit);
            }
            if w == 20 {
                let admit = admit_a.expect("a rule for the flooded zone");
                assert!(admit < 1 << 30, "a quarter of the flood at most: {admit}");
                assert!(reached < 5_000, "{reached} of 20,000 reached the worker");
            }
        }
        assert_eq!(f64::from(legit_answered) / f64::from(legit_sent), 1.0);
        assert!(
            (16_000..24_000).contains(&reported.0),
            "{reported:?} estimated of 20,000"
        );
        assert!(
            reported.1 > 10_000,
            "{reported:?}: most dropped in the kernel"
        );
        assert_eq!(admit_a, None, "the rule went with the flood");
        assert_eq!(reached, 0);
    }

    /// Off by default, and turning it off empties the plan.
    #[test]
    fn kernel_shedding_is_off_unless_asked() {
        let start = Instant::now();
        let mut t = WorkerTraffic::new(start);
        for _ in 0..1000 {
            t.admit(Some((ZoneId(1 << 63 | 1), 0)));
            t.work(Duration::from_millis(1));
            t.answering(Duration::from_millis(1));
        }
        t.admit(Some((ZoneId(3 << 62 | 1), 1)));
        t.roll(start + WINDOW);
        assert!(t.limited() > 0);
        assert!(t.kernel_plan().is_none());
        t.set_kernel_shedding(true);
        for _ in 0..1000 {
            t.admit(Some((ZoneId(1 << 63 | 1), 0)));
        }
        t.admit(Some((ZoneId(3 << 62 | 1), 1)));
        t.roll(start + WINDOW * 2);
        assert_eq!(t.kernel_plan().map(<[_]>::len), Some(1));
        t.set_kernel_shedding(false);
        assert_eq!(t.kernel_plan().map(<[_]>::len), Some(0));
    }

    /// Below capacity nothing is shed.
    #[test]
    fn nothing_is_shed_below_capacity() {
        let (legit_share, flood_answered) = simulate(Duration::from_millis(1), 50, 10, 20);
        assert_eq!(legit_share, 1.0);
        assert_eq!(flood_answered, 50);
    }

    /// Counts reach the report; the table resets between windows.
    #[test]
    fn a_window_reports_what_it_counted() {
        let start = Instant::now();
        let mut t = WorkerTraffic::new(start);
        let zone = Some((ZoneId(42 << 32 | 1), 7));
        for _ in 0..5 {
            let (slot, ok) = t.admit(zone);
            assert!(ok);
            t.nxdomain(slot);
        }
        let (slot, _) = t.admit(None);
        t.rrl(slot);
        assert!(
            t.roll(start + WINDOW / 2).is_none(),
            "the window is still open"
        );
        let report = t.roll(start + WINDOW).expect("closed").clone();
        assert_eq!(report.zones.len(), 1);
        assert_eq!(report.zones[0].pos, 7);
        assert_eq!(report.zones[0].counts.queries, 5);
        assert_eq!(report.zones[0].counts.nxdomain, 5);
        assert_eq!(report.no_zone.rrl, 1);
        let report = t.roll(start + WINDOW * 2).expect("closed");
        assert!(report.zones.is_empty());
    }

    /// More zones than slots: the excess is counted as "other", nothing is
    /// lost.
    #[test]
    fn a_full_table_counts_the_rest_as_other() {
        let start = Instant::now();
        let mut t = WorkerTraffic::new(start);
        for i in 0..5000u64 {
            t.admit(Some((ZoneId(i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1), 0)));
        }
        let report = t.roll(start + WINDOW).expect("closed");
        let counted: u32 = report.zones.iter().map(|z| z.counts.queries).sum();
        assert_eq!(counted + report.other.queries, 5000);
        assert!(report.zones.len() <= super::SLOTS);
        assert!(report.other.queries > 0);
    }
}
