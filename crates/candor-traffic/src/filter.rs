//! Shedding in the kernel: a classic BPF socket filter that drops a share
//! of the queries for the zones a worker is shedding before they are
//! queued on its socket.
//!
//! Fair-share shedding in the worker ([`crate::worker`]) decides after
//! `recvmmsg`: every shed packet has still cost a system call's share,
//! a copy and a peek. At saturation that receive path was a third of the
//! worker's time, so a flood could still fill the socket's queue, and the
//! kernel then drops whatever arrives, legitimate queries for other zones
//! included (1-3% of them at a one-core flood). The filter moves the
//! coarse part of the shedding in front of the queue: for each zone held
//! to its fair share, a rule drops a random share of the packets whose
//! question name ends in the zone's apex, so that about a quarter more than the
//! zone's allowance still reaches the worker, which keeps shedding exactly as
//! before on what arrives. What the kernel drops costs the worker
//! nothing; on loopback it is paid by the sender's CPU, on a NIC by the
//! softirq that received it (tens of nanoseconds of JITed filter against
//! a microsecond of user-space receive path).
//!
//! The filter is attached only while some zone is shed, so a worker that
//! sheds nothing runs no filter at all. It never drops anything it cannot
//! read as a plain query: responses, other opcodes, `QDCOUNT` ≠ 1,
//! compressed or over-long names and names deeper than [`MAX_LEVELS`]
//! labels above a rule's apex all go to the worker. A served zone below a
//! shed zone gets a rule of its own that accepts (the walk from the left
//! meets the longest suffix first, as the zone set's lookup does).
//!
//! Sans I/O: [`program`] returns the instructions; the server attaches them
//! (`SO_ATTACH_FILTER`). [`run`] interprets a program with the kernel's
//! rules (an out-of-bounds load drops the packet), for tests and fuzzing.

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    /// Operation.
    pub code: u16,
    /// Jump offset when the condition holds.
    pub jt: u8,
    /// Jump offset when it does not.
    pub jf: u8,
    /// Constant operand.
    pub k: u32,
}

/// A filter rule: the packets whose question name ends in `apex` (at a
/// label boundary, the longest such rule winning) are accepted when a
/// random `u32` is below `admit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The zone's apex, lower-cased wire form.
    pub apex: Vec<u8>,
    /// Accepted share of its packets, as a threshold on a random `u32`:
    /// [`ALWAYS`] accepts every one, 0 none.
    pub admit: u32,
}

/// [`Rule::admit`] for a rule that accepts everything (a zone below a
/// shed one).
pub const ALWAYS: u32 = u32::MAX;

/// Labels of a question name walked before the filter gives up and
/// accepts: a rule's apex must start within the first `MAX_LEVELS` labels.
pub const MAX_LEVELS: usize = 8;

/// Rules in one program at most (the zones shed most, and their served
/// descendants): the program stays well under the kernel's 4,096
/// instructions and a packet's walk short.
pub const MAX_RULES: usize = 6;

/// Longest apex a rule may have (wire bytes): a failed comparison must
/// reach the next rule with an 8-bit jump.
pub const MAX_APEX: usize = 160;

/// Where the DNS message starts: the filter sees the UDP header first.
const DNS: u32 = 8;

/// Returned to keep a packet (the length to keep: all of it).
const KEEP: u32 = u32::MAX;

/// The kernel's ancillary load of a random `u32` (`SKF_AD_OFF +
/// SKF_AD_RANDOM`).
const AD_RANDOM: u32 = (-0x1000i32 + 56) as u32;

// Opcodes (linux/bpf_common.h).
/// `A = len` (the packet's length).
const LD_LEN: u16 = 0x80;
/// `X = k`.
const LDX_IMM: u16 = 0x01;
/// `A = P[k]`, one byte.
const LD_ABS_B: u16 = 0x30;
/// `A = P[k]`, two bytes.
const LD_ABS_H: u16 = 0x28;
/// `A = P[k]`, four bytes (also the ancillary loads).
const LD_ABS_W: u16 = 0x20;
/// `A = P[X + k]`, one byte.
const LD_IND_B: u16 = 0x50;
/// `A = P[X + k]`, two bytes.
const LD_IND_H: u16 = 0x48;
/// `A = P[X + k]`, four bytes.
const LD_IND_W: u16 = 0x40;
/// `A -= X`.
const SUB_X: u16 = 0x1c;
/// `A += k`.
const ADD_K: u16 = 0x04;
/// `A += X`.
const ADD_X: u16 = 0x0c;
/// `A |= k`.
const OR_K: u16 = 0x44;
/// `X = A`.
const TAX: u16 = 0x07;
/// Jump if `A == k`.
const JEQ: u16 = 0x15;
/// Jump if `A > k`.
const JGT: u16 = 0x25;
/// Jump if `A > X`.
const JGT_X: u16 = 0x2d;
/// Jump if `A >= k`.
const JGE: u16 = 0x35;
/// Jump if `A & k != 0`.
const JSET: u16 = 0x45;
/// Return `k`.
const RET: u16 = 0x06;
/// Return `A`.
const RET_A: u16 = 0x16;
/// `A %= k`.
const MOD_K: u16 = 0x94;
/// `A = M[k]` (scratch memory).
const LD_MEM: u16 = 0x60;
/// `M[k] = A`.
const ST: u16 = 0x02;

/// An instruction without jumps.
fn op(code: u16, k: u32) -> Insn {
    Insn {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

/// A conditional jump.
fn jump(code: u16, k: u32, jt: u8, jf: u8) -> Insn {
    Insn { code, jt, jf, k }
}

/// Whether a rule can be compiled: a real apex (not the root), short
/// enough, in wire form.
pub fn usable(apex: &[u8]) -> bool {
    apex.len() > 1 && apex.len() <= MAX_APEX && apex.last() == Some(&0)
}

/// Whether `name` is strictly below `apex` (both lower-cased wire form):
/// it ends in `apex` at a label boundary and is longer.
pub fn is_below(name: &[u8], apex: &[u8]) -> bool {
    if name.len() <= apex.len() || !name.ends_with(apex) {
        return false;
    }
    let boundary = name.len() - apex.len();
    let mut at = 0usize;
    while at < boundary {
        at += 1 + usize::from(name[at]);
    }
    at == boundary
}

/// The filter for `rules` (at most [`MAX_RULES`]; unusable ones, see
/// [`usable`], are left out). `None` when no rule is left.
pub fn program(rules: &[Rule]) -> Option<Vec<Insn>> {
    let rules = usable_rules(rules);
    if rules.is_empty() {
        return None;
    }
    let keep = [op(RET, KEEP)];
    Some(walk(&rules, DNS, Vec::new(), &keep, |rule| {
        if rule.admit == ALWAYS {
            [op(RET, KEEP), op(RET, KEEP), op(RET, KEEP), op(RET, 0)]
        } else {
            // Kept when the random value is below the threshold.
            [
                op(LD_ABS_W, AD_RANDOM),
                jump(JGE, rule.admit, 1, 0),
                op(RET, KEEP),
                op(RET, 0),
            ]
        }
    }))
}

/// The steering program of a `SO_REUSEPORT` group of `2 * workers`
/// sockets (`SO_ATTACH_REUSEPORT_CBPF`): the workers' own sockets first
/// (indexes `0..workers`), then one quarantine socket each. A packet whose
/// question name falls under a shed rule's apex (any `admit` but
/// [`ALWAYS`]) goes to a quarantine socket, everything else (a zone below
/// with an [`ALWAYS`] rule, other zones, what is not a plain query) to a
/// worker's own socket; which worker is the DNS message ID modulo
/// `workers`. With no rules, every packet goes to a worker's own socket.
///
/// The kernel runs it before choosing the socket, on the DNS message (the
/// UDP header already pulled); it returns the socket's index.
pub fn steering(rules: &[Rule], workers: u32) -> Vec<Insn> {
    let workers = workers.max(1);
    let rules = usable_rules(rules);
    // The worker's index, computed once (the message ID modulo the
    // workers) and kept in M[0]; a single worker needs none.
    let (prologue, keep, quarantine) = if workers == 1 {
        (Vec::new(), vec![op(RET, 0)], [op(RET, 1); 4])
    } else {
        (
            vec![op(LD_ABS_H, 0), op(MOD_K, workers), op(ST, 0)],
            vec![op(LD_MEM, 0), op(RET_A, 0)],
            [
                op(LD_MEM, 0),
                op(ADD_K, workers),
                op(RET_A, 0),
                op(RET_A, 0),
            ],
        )
    };
    if rules.is_empty() {
        let mut p = prologue;
        p.extend(keep);
        return p;
    }
    let mut own = [op(RET_A, 0); 4];
    own[..keep.len()].copy_from_slice(&keep);
    walk(&rules, 0, prologue, &keep, |rule| {
        if rule.admit == ALWAYS {
            own
        } else {
            quarantine
        }
    })
}

/// The rules a program can hold: usable ones, at most [`MAX_RULES`].
fn usable_rules(rules: &[Rule]) -> Vec<&Rule> {
    rules
        .iter()
        .filter(|r| usable(&r.apex))
        .take(MAX_RULES)
        .collect()
}

/// The walk shared by [`program`] and [`steering`]: after `prologue`,
/// reads the DNS message at `dns` in the packet, and for each of the first
/// [`MAX_LEVELS`] labels of a plain query's name tries each rule's apex;
/// the first that matches ends in `decide(rule)` (four instructions,
/// exactly). What cannot be read as a plain query, and a walk that meets
/// no rule, ends in `keep` (at most three instructions).
fn walk(
    rules: &[&Rule],
    dns: u32,
    prologue: Vec<Insn>,
    keep: &[Insn],
    decide: impl Fn(&Rule) -> [Insn; 4],
) -> Vec<Insn> {
    let skip = keep.len() as u8;
    let qname = dns + 12;
    let mut p = prologue;
    // A header and at least the first byte of the name, or keep.
    p.push(op(LD_LEN, 0));
    p.push(jump(JGT, qname, skip, 0));
    p.extend_from_slice(keep);
    // A query (QR = 0, opcode 0) with one question, or keep.
    p.push(op(LD_ABS_B, dns + 2));
    p.push(jump(JSET, 0xf8, 0, skip));
    p.extend_from_slice(keep);
    p.push(op(LD_ABS_H, dns + 4));
    p.push(jump(JEQ, 1, skip, 0));
    p.extend_from_slice(keep);
    p.push(op(LDX_IMM, qname));
    for _ in 0..MAX_LEVELS {
        // X is the offset of a label inside the packet (checked above or
        // by the advance below). Try every rule's apex there.
        for rule in rules {
            let body = compare(&rule.apex);
            // Fewer bytes left than the apex has: this rule cannot match.
            p.push(op(LD_LEN, 0));
            p.push(op(SUB_X, 0));
            let past = body.len() + 4;
            p.push(jump(JGE, rule.apex.len() as u32, 0, past as u8));
            p.extend(fix_fails(body));
            // It matched.
            p.extend(decide(rule));
        }
        // Next label: the root or anything but a plain label ends the walk.
        p.extend([op(LD_IND_B, 0), jump(JEQ, 0, 1, 0), jump(JGT, 63, 0, skip)]);
        p.extend_from_slice(keep);
        p.extend([
            op(ADD_K, 1),
            op(ADD_X, 0),
            op(TAX, 0),
            // The new label must start inside the packet (X < len).
            op(LD_LEN, 0),
            jump(JGT_X, 0, skip, 0),
        ]);
        p.extend_from_slice(keep);
    }
    p.extend_from_slice(keep);
    p
}

/// The comparison of the bytes at `X` with `apex`, four at a time
/// (letters compared without case: `| 0x20` on those bytes only). Each
/// failed comparison jumps by `u8::MAX` as a placeholder for "to the end
/// of the comparison + 4" (the rule's decision), fixed by [`fix_fails`].
fn compare(apex: &[u8]) -> Vec<Insn> {
    let mut body = Vec::new();
    let mut at = 0usize;
    while at < apex.len() {
        let width = (apex.len() - at).min(4);
        let width = if width == 3 { 2 } else { width };
        let (code, chunk) = match width {
            4 => (LD_IND_W, &apex[at..at + 4]),
            2 => (LD_IND_H, &apex[at..at + 2]),
            _ => (LD_IND_B, &apex[at..at + 1]),
        };
        let mut value = 0u32;
        let mut mask = 0u32;
        for &b in chunk {
            value = value << 8 | u32::from(b);
            mask = mask << 8 | if b.is_ascii_lowercase() { 0x20 } else { 0 };
        }
        body.push(op(code, at as u32));
        if mask != 0 {
            body.push(op(OR_K, mask));
        }
        body.push(jump(JEQ, value, 0, u8::MAX));
        at += width;
    }
    body
}

/// Points each failed comparison of a rule's body past the rule's four
/// decision instructions, to the next rule.
fn fix_fails(mut body: Vec<Insn>) -> Vec<Insn> {
    let n = body.len();
    for (i, insn) in body.iter_mut().enumerate() {
        if insn.code == JEQ && insn.jf == u8::MAX {
            insn.jf = (n - i - 1 + 4) as u8;
        }
    }
    body
}

/// Runs `program` over `packet` as the kernel does, with `random` as every
/// random load, and returns what it returns: for [`program`] (the packet
/// starting with its UDP header) the length to keep, 0 to drop; for
/// [`steering`] (the packet starting with the DNS message) the socket's
/// index. An out-of-bounds load or a jump out of the program returns 0.
pub fn run(program: &[Insn], packet: &[u8], random: u32) -> u32 {
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; 16];
    let mut pc = 0usize;
    let load = |at: u32, width: usize| -> Option<u32> {
        let at = usize::try_from(at).ok()?;
        let bytes = packet.get(at..at.checked_add(width)?)?;
        Some(bytes.iter().fold(0u32, |v, &b| v << 8 | u32::from(b)))
    };
    while let Some(i) = program.get(pc) {
        pc += 1;
        let taken = |cond: bool| if cond { i.jt } else { i.jf };
        match i.code {
            LD_LEN => a = packet.len() as u32,
            LDX_IMM => x = i.k,
            LD_ABS_W if i.k == AD_RANDOM => a = random,
            LD_ABS_B | LD_ABS_H | LD_ABS_W | LD_IND_B | LD_IND_H | LD_IND_W => {
                let width = match i.code & 0x18 {
                    0x10 => 1,
                    0x08 => 2,
                    _ => 4,
                };
                let at = if i.code & 0x40 != 0 {
                    x.wrapping_add(i.k)
                } else {
                    i.k
                };
                match load(at, width) {
                    Some(v) => a = v,
                    None => return 0,
                }
            }
            SUB_X => a = a.wrapping_sub(x),
            ADD_K => a = a.wrapping_add(i.k),
            ADD_X => a = a.wrapping_add(x),
            OR_K => a |= i.k,
            MOD_K if i.k != 0 => a %= i.k,
            LD_MEM => a = *mem.get(i.k as usize).unwrap_or(&0),
            ST => {
                if let Some(m) = mem.get_mut(i.k as usize) {
                    *m = a;
                }
            }
            TAX => x = a,
            JEQ => pc += usize::from(taken(a == i.k)),
            JGT => pc += usize::from(taken(a > i.k)),
            JGT_X => pc += usize::from(taken(a > x)),
            JGE => pc += usize::from(taken(a >= i.k)),
            JSET => pc += usize::from(taken(a & i.k != 0)),
            RET => return i.k,
            RET_A => return a,
            _ => return 0,
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::{ALWAYS, Insn, MAX_LEVELS, Rule, program, run, steering};
    use candor_wire::Name;

    /// A UDP header (ports and checksum do not matter) and a query for
    /// `name` (presentation form, any case) with `flags` and `qdcount`.
    fn packet(name: &str, flags: u16, qdcount: u16) -> Vec<u8> {
        let mut p = vec![0u8; 8];
        p.extend_from_slice(&[0x12, 0x34]);
        p.extend_from_slice(&flags.to_be_bytes());
        p.extend_from_slice(&qdcount.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&wire_keep_case(name));
        p.extend_from_slice(&[0, 1, 0, 1]);
        p
    }

    /// `name` in wire form, its case kept.
    fn wire_keep_case(name: &str) -> Vec<u8> {
        let mut w = Vec::new();
        for label in name
            .trim_end_matches('.')
            .split('.')
            .filter(|l| !l.is_empty())
        {
            w.push(label.len() as u8);
            w.extend_from_slice(label.as_bytes());
        }
        w.push(0);
        w
    }

    /// `name` lower-cased, wire form.
    fn apex(name: &str) -> Vec<u8> {
        Name::from_text(name, None)
            .expect("a name")
            .as_wire()
            .to_ascii_lowercase()
    }

    /// A program with these (apex, admit) rules.
    fn filter(rules: &[(&str, u32)]) -> Vec<Insn> {
        let rules: Vec<Rule> = rules
            .iter()
            .map(|&(a, admit)| Rule {
                apex: apex(a),
                admit,
            })
            .collect();
        program(&rules).expect("a program")
    }

    /// Whether the program keeps the packet for `name` at random `r`.
    fn keeps(p: &[Insn], name: &str, r: u32) -> bool {
        run(p, &packet(name, 0x0100, 1), r) != 0
    }

    /// Names under a shed apex are dropped (any case, any depth within
    /// the limit), everything else is kept.
    #[test]
    fn names_under_a_shed_zone_are_dropped_and_others_kept() {
        let p = filter(&[("victim.test.", 0)]);
        assert!(p.len() < 4096);
        assert!(!keeps(&p, "x7kq2.victim.test.", 5));
        assert!(!keeps(&p, "A.B.VICTIM.Test.", 5));
        assert!(!keeps(&p, "victim.test.", 5));
        assert!(keeps(&p, "www.z0001.test.", 5));
        assert!(keeps(&p, "xvictim.test.", 5));
        assert!(keeps(&p, "victim.test.example.", 5));
        assert!(keeps(&p, "victim.tes.", 5));
        assert!(keeps(&p, "test.", 5));
        assert!(keeps(&p, ".", 5));
        // Deeper than the walk goes: left to the worker.
        let deep = format!("{}victim.test.", "a.".repeat(MAX_LEVELS));
        assert!(keeps(&p, &deep, 5));
        let shallow = format!("{}victim.test.", "a.".repeat(MAX_LEVELS - 1));
        assert!(!keeps(&p, &shallow, 5));
    }

    /// A share is admitted: the random value decides against the threshold.
    #[test]
    fn the_admitted_share_follows_the_threshold() {
        let p = filter(&[("victim.test.", 1 << 30)]);
        assert!(keeps(&p, "a.victim.test.", 0));
        assert!(keeps(&p, "a.victim.test.", (1 << 30) - 1));
        assert!(!keeps(&p, "a.victim.test.", 1 << 30));
        assert!(!keeps(&p, "a.victim.test.", u32::MAX));
    }

    /// A served zone below a shed one keeps all its queries: the longest
    /// apex wins, in whatever order the rules come.
    #[test]
    fn a_zone_below_a_shed_one_is_kept() {
        for rules in [
            [("victim.test.", 0), ("sub.victim.test.", ALWAYS)],
            [("sub.victim.test.", ALWAYS), ("victim.test.", 0)],
        ] {
            let p = filter(&rules);
            assert!(keeps(&p, "www.sub.victim.test.", 0));
            assert!(keeps(&p, "sub.victim.test.", 0));
            assert!(!keeps(&p, "www.victim.test.", 0));
            assert!(!keeps(&p, "xsub.victim.test.", 0));
        }
    }

    /// What the filter cannot read as a plain query goes to the worker:
    /// responses, other opcodes, several questions, short or truncated
    /// packets, compression pointers.
    #[test]
    fn what_is_not_a_plain_query_is_kept() {
        let p = filter(&[("victim.test.", 0)]);
        let name = "a.victim.test.";
        assert!(run(&p, &packet(name, 0x8100, 1), 0) != 0, "a response");
        assert!(run(&p, &packet(name, 0x2800, 1), 0) != 0, "UPDATE");
        assert!(run(&p, &packet(name, 0x0100, 2), 0) != 0, "two questions");
        assert!(run(&p, &packet(name, 0x0100, 0), 0) != 0, "no question");
        assert!(
            run(&p, &packet(name, 0x0100, 1)[..20], 0) != 0,
            "header only"
        );
        for cut in 21..packet(name, 0x0100, 1).len() - 4 {
            // The name runs past the end: kept (the worker answers FORMERR).
            let truncated = &packet(name, 0x0100, 1)[..cut];
            assert!(run(&p, truncated, 0) != 0, "cut at {cut}");
        }
        let mut pointer = packet("a.", 0x0100, 1);
        pointer[22] = 0xc0;
        assert!(run(&p, &pointer, 0) != 0, "a compression pointer");
    }

    /// Below means at a label boundary, and strictly.
    #[test]
    fn below_is_at_a_label_boundary() {
        use super::is_below;
        assert!(is_below(&apex("sub.victim.test."), &apex("victim.test.")));
        assert!(is_below(&apex("a.b.victim.test."), &apex("victim.test.")));
        assert!(!is_below(&apex("victim.test."), &apex("victim.test.")));
        assert!(!is_below(&apex("xvictim.test."), &apex("victim.test.")));
        // One label whose bytes end like the apex's wire form.
        let mut tricky = vec![13u8];
        tricky.extend_from_slice(b"a\x06victim\x04test\x00");
        assert!(tricky.ends_with(&apex("victim.test.")));
        assert!(!is_below(&tricky, &apex("victim.test.")));
    }

    /// Several rules, each with its apex and share, and long apexes: the
    /// program stays within the kernel's limit, and every jump inside it.
    #[test]
    fn several_rules_and_long_apexes_fit() {
        let long = format!("{}.test.", "x".repeat(60));
        let long2 = format!("{}.{}.test.", "y".repeat(60), "z".repeat(60));
        let rules = [
            ("victim.test.", 0),
            ("other.example.", 0),
            (long.as_str(), 0),
            (long2.as_str(), 0),
            ("a.b.c.d.e.", 0),
            ("sub.victim.test.", ALWAYS),
        ];
        let p = filter(&rules);
        assert!(p.len() < 4096, "{} instructions", p.len());
        for (i, insn) in p.iter().enumerate().filter(|(_, i)| i.code & 7 == 5) {
            let end = i + 1 + usize::from(insn.jt.max(insn.jf));
            assert!(
                end < p.len(),
                "instruction {i} {insn:?} jumps out of {}",
                p.len()
            );
        }
        assert!(!keeps(&p, &format!("q.{long}"), 0));
        assert!(!keeps(&p, &format!("q.{long2}"), 0));
        assert!(!keeps(&p, "q.OTHER.example.", 0));
        assert!(!keeps(&p, "x.a.b.c.d.e.", 0));
        assert!(keeps(&p, "x.sub.victim.test.", 0));
        assert!(keeps(&p, "x.b.c.d.e.", 0));
    }

    /// The filter agrees with a plain reading of the name on random
    /// names and packets cut anywhere, and never reads out of bounds of a
    /// well-formed query (an out-of-bounds load would drop it).
    #[test]
    fn random_names_agree_with_a_plain_reading() {
        let labels = ["victim", "VICTIM", "test", "sub", "a", "b7", "x-y", "Test"];
        let p = filter(&[("victim.test.", 0), ("sub.victim.test.", ALWAYS)]);
        let mut seed = 0x9e37_79b9_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        for _ in 0..20_000 {
            let n = (next() % 6) as usize;
            let name: Vec<&str> = (0..n)
                .map(|_| labels[(next() % labels.len() as u32) as usize])
                .collect();
            let text = format!("{}.", name.join("."));
            let lower = text.to_ascii_lowercase();
            let in_victim = lower == "victim.test." || lower.ends_with(".victim.test.");
            let in_sub = lower == "sub.victim.test." || lower.ends_with(".sub.victim.test.");
            let depth = lower.matches('.').count();
            let dropped = in_victim && !in_sub && depth <= MAX_LEVELS + 1;
            assert_eq!(keeps(&p, &text, 0), !dropped, "{text}");
            let whole = packet(&text, 0x0100, 1);
            let cut = (next() as usize) % (whole.len() + 1);
            // A packet cut short is never dropped unless it still holds
            // the whole name (then the question's type is what is missing).
            if run(&p, &whole[..cut], 0) == 0 {
                assert!(cut >= whole.len() - 4, "{text} cut at {cut}");
            }
        }
    }

    /// The socket [`steering`] picks for a query for `name` with `id`.
    fn steer(p: &[Insn], name: &str, id: u16) -> u32 {
        let mut q = packet(name, 0x0100, 1)[8..].to_vec();
        q[..2].copy_from_slice(&id.to_be_bytes());
        run(p, &q, 0)
    }

    /// Steering sends a shed zone's queries to a quarantine socket and
    /// everything else to a worker's own, spread by message ID; a zone
    /// below a shed one, and what is not a plain query, stay on the
    /// workers' own sockets.
    #[test]
    fn steering_quarantines_the_shed_zones_only() {
        let rules = [
            Rule {
                apex: apex("victim.test."),
                admit: 1 << 20,
            },
            Rule {
                apex: apex("sub.victim.test."),
                admit: ALWAYS,
            },
        ];
        // One worker: its socket is 0, its quarantine 1.
        let one = steering(&rules, 1);
        assert_eq!(steer(&one, "x.VICTIM.test.", 7), 1);
        assert_eq!(steer(&one, "victim.test.", 7), 1);
        assert_eq!(steer(&one, "x.sub.victim.test.", 7), 0);
        assert_eq!(steer(&one, "www.z0001.test.", 7), 0);
        // Three workers: own sockets 0..3, quarantines 3..6, by ID % 3.
        let three = steering(&rules, 3);
        for id in [0u16, 1, 2, 3, 4, 5, 1000, 65535] {
            let w = u32::from(id) % 3;
            assert_eq!(steer(&three, "x.victim.test.", id), 3 + w, "id {id}");
            assert_eq!(steer(&three, "x.sub.victim.test.", id), w, "id {id}");
            assert_eq!(steer(&three, "www.z0001.test.", id), w, "id {id}");
            let mut response = packet("x.victim.test.", 0x8100, 1)[8..].to_vec();
            response[..2].copy_from_slice(&id.to_be_bytes());
            assert_eq!(run(&three, &response, 0), w, "a response, id {id}");
        }
        // No rules: everything on the workers' own sockets.
        let none = steering(&[], 3);
        assert_eq!(steer(&none, "x.victim.test.", 4), 1);
        assert_eq!(steering(&[], 1), vec![super::op(super::RET, 0)]);
        // Short packets go to socket 0 (the kernel's out-of-bounds load).
        assert_eq!(run(&three, &[0x12], 0), 0);
        for p in [&one, &three] {
            for (i, insn) in p.iter().enumerate().filter(|(_, i)| i.code & 7 == 5) {
                let end = i + 1 + usize::from(insn.jt.max(insn.jf));
                assert!(end < p.len(), "instruction {i} jumps out");
            }
        }
    }
}
