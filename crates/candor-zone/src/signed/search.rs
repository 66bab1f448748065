//! The chain search of [`SignedParts::entry_below`] for a whole batch of
//! names at once, level by level (docs/dnssec.md, "A batch's searches in
//! step").
//!
//! Finding the NSEC that covers a name reads, one after the other, a line
//! of each level of the chain's B-tree, a line of heads, the entry's proof
//! and then its NSEC and owner: each read needs the one before, and under
//! a flood each can be a cache miss (the kernel's work between two batches
//! evicts what the last batch read). One query waits on each in turn. A
//! UDP worker holds up to 32 queries, though, so `candor_answer::Peek`
//! hands the names of a batch that need a denial to
//! [`Zone::chain_search_all`], which takes every search one level down
//! before any takes the next, each pass reading what the pass before
//! started loading and starting the next load: a batch waits about once
//! per level, not once per level per query. The passes make the same
//! reads and comparisons as [`SignedParts::entry_below`] and find the same
//! entry (`batched_searches_find_what_the_search_finds`).

use super::{Chain, SignedParts, UPPER, equal_run, head_of_labels, heads_under, label_starts};
use crate::zone::Zone;

/// One name's search in [`Zone::chain_search_all`], and then its answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChainSearch {
    /// The name's head.
    h: u64,
    /// Levels: how many entries of the level above are below the head
    /// (0 at the top level); heads and ties: the first entry to look at;
    /// done: the entry found.
    lo: u32,
    /// Heads and ties: the end of what is looked at.
    hi: u32,
    /// The end of the name's bucket.
    to: u32,
    /// Where the search is.
    phase: Phase,
}

/// Where a [`ChainSearch`] is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Phase {
    /// None started, or none for this name (an unsigned zone).
    #[default]
    Idle,
    /// Among the B-tree's levels.
    Levels,
    /// Among the heads `lo..hi`; `loaded` when the proof entries beside
    /// them started loading with them.
    Heads { loaded: bool },
    /// The heads `lo..hi` tie with the name's: their keys' ends are
    /// loading.
    TieEnds,
    /// Their keys are loading.
    TieKeys,
    /// Entry `lo` is found (the name itself when `exact`); its proof
    /// entry is loading.
    Proof { exact: bool },
    /// Done: entry `lo` (the name itself when `exact`); its NSEC and
    /// owner are loading.
    Done { exact: bool },
}

impl ChainSearch {
    /// The entry found: [`SignedParts::entry_below`]'s answer, once
    /// [`Zone::chain_search_all`] ran; `None` when it did not search for
    /// this name.
    pub fn found(&self) -> Option<Result<usize, usize>> {
        match self.phase {
            Phase::Done { exact: true } => Some(Ok(self.lo as usize)),
            Phase::Done { exact: false } => Some(Err(self.lo as usize)),
            _ => None,
        }
    }

    /// Whether the search was started and is left for
    /// [`Zone::chain_search_all`].
    pub fn pending(&self) -> bool {
        !matches!(self.phase, Phase::Idle | Phase::Done { .. })
    }

    /// A search done at once: `found`.
    fn done(found: Result<usize, usize>) -> Phase {
        match found {
            Ok(_) => Phase::Done { exact: true },
            Err(_) => Phase::Done { exact: false },
        }
    }

    /// Settles on `found`, whose proof entry is in cache or starts
    /// loading (`loaded`: it started with the heads).
    #[inline(always)]
    fn locate(&mut self, parts: &SignedParts, found: Result<usize, usize>, loaded: bool) {
        let (Ok(i) | Err(i)) = found;
        self.lo = i as u32;
        if !loaded && let Some(p) = parts.proofs.get(i) {
            crate::prefetch_bytes(
                (p as *const super::ProofAt).cast(),
                size_of::<super::ProofAt>(),
            );
        }
        self.phase = Phase::Proof {
            exact: found.is_ok(),
        };
    }

    /// Settles once the head's place among the heads is `lo`: on the
    /// entry before it, unless heads tie with the name's (then their keys'
    /// ends start loading).
    #[inline(always)]
    fn settle(
        &mut self,
        chain: &Chain,
        parts: &SignedParts,
        heads: &[u64],
        lo: usize,
        loaded: bool,
    ) {
        if heads.get(lo) == Some(&self.h) {
            let hi = equal_run(heads, lo, self.to as usize, self.h);
            let first = lo.saturating_sub(1);
            crate::prefetch_bytes(chain.ends[first..hi].as_ptr().cast(), (hi - first) * 4);
            (self.lo, self.hi) = (lo as u32, hi as u32);
            self.phase = Phase::TieEnds;
            return;
        }
        self.locate(parts, chain.covered_at(lo), loaded);
    }
}

impl Zone {
    /// Starts the search for the chain entry that is or covers `name` (a
    /// lower-cased wire name whose apex starts `below` bytes into it), as
    /// [`SignedParts::entry_below`] finds it: places its head among the
    /// buckets, and is done when that decides (a first byte no name of
    /// the zone shares: a flood of random labels, mostly), else is left
    /// [`pending`](ChainSearch::pending) for [`Zone::chain_search_all`],
    /// with its first read loading. An unsigned zone starts nothing.
    #[inline]
    pub fn chain_search_start(&self, name: &[u8], below: usize) -> ChainSearch {
        let mut s = ChainSearch::default();
        let Some(parts) = self.signed() else {
            return s;
        };
        let chain = &parts.chain;
        let mut buf = [0u8; 128];
        let starts = match &chain.heads {
            Some(_)
                if !chain.apex.is_empty()
                    && name.len().checked_sub(below) == Some(chain.apex.len()) =>
            {
                label_starts(name, below, &mut buf)
            }
            _ => None,
        };
        let (Some(heads), Some(starts)) = (chain.heads.as_deref(), starts) else {
            // Not a name the index places: the plain search, at once.
            let found = parts.entry_below(name, below);
            s.lo = found.unwrap_or_else(|i| i) as u32;
            s.phase = ChainSearch::done(found);
            return s;
        };
        s.h = head_of_labels(name, starts);
        let (from, to) = chain.bucket_of(heads, s.h);
        s.to = to as u32;
        if from == to {
            // No head shares the first byte: every such name is covered
            // by the same entry, in cache under a flood of them.
            let found = chain.covered_at(from);
            s.lo = found.unwrap_or_else(|i| i) as u32;
            s.phase = ChainSearch::done(found);
        } else if chain.searched_directly(heads, (from, to)) {
            crate::prefetch_bytes(heads[from..to].as_ptr().cast(), (to - from) * 8);
            (s.lo, s.hi) = (from as u32, to as u32);
            s.phase = Phase::Heads { loaded: false };
        } else {
            s.phase = Phase::Levels;
        }
        s
    }

    /// Takes every [`pending`](ChainSearch::pending) one of `searches`
    /// (each started by [`Zone::chain_search_start`] on this zone for the
    /// name at the same position of `names`, with its `below`) to its end
    /// ([`ChainSearch::found`]), and starts loading the entries' NSEC and
    /// owner. The searches go level by level together, so their cache
    /// misses overlap.
    pub fn chain_search_all(&self, searches: &mut [ChainSearch], names: &[(&[u8], usize)]) {
        let n = names.len().min(searches.len());
        let searches = &mut searches[..n];
        let Some(parts) = self.signed() else {
            return;
        };
        let chain = &parts.chain;
        let heads = chain.heads.as_deref().unwrap_or(&[]);
        // The levels, top down, one pass each: a pass reads the line the
        // one before started loading (the top's is in cache) and starts
        // loading the next level's, or the heads under it.
        for (level, upper) in chain.upper.iter().enumerate().rev() {
            for s in searches.iter_mut().filter(|s| s.phase == Phase::Levels) {
                let above = (level + 1 < chain.upper.len()).then_some(s.lo as usize);
                let j = upper.below(above, s.h);
                if j == 0 {
                    s.settle(chain, parts, heads, 0, false);
                } else if level > 0 {
                    if let Some(line) = chain.upper[level - 1].lines.get(j - 1) {
                        crate::prefetch_bytes((line as *const super::Line).cast(), 64);
                    }
                    s.lo = j as u32;
                } else {
                    let (start, end) = heads_under(j, heads.len());
                    crate::prefetch_bytes(heads[start..end].as_ptr().cast(), (end - start) * 8);
                    parts.prefetch_entries(start);
                    (s.lo, s.hi) = (start as u32, end as u32);
                    s.phase = Phase::Heads { loaded: true };
                }
            }
        }
        // The heads.
        for s in searches.iter_mut() {
            if let Phase::Heads { loaded } = s.phase {
                let (from, end) = (s.lo as usize, s.hi as usize);
                let h = s.h;
                let lo = from + heads[from..end].partition_point(|&x| x < h);
                s.settle(chain, parts, heads, lo, loaded);
            }
        }
        // Ties (names sharing a head with the zone's): their keys decide.
        let mut tied = false;
        for s in searches.iter_mut().filter(|s| s.phase == Phase::TieEnds) {
            let (first, last) = (s.lo as usize, s.hi as usize - 1);
            let start = first.checked_sub(1).map_or(0, |i| chain.ends[i] as usize);
            let end = chain.ends[last] as usize;
            if let Some(keys) = chain.keys.get(start..end) {
                crate::prefetch_bytes(keys.as_ptr(), keys.len().min(1024));
            }
            s.phase = Phase::TieKeys;
            tied = true;
        }
        if tied {
            for (s, &(name, below)) in searches.iter_mut().zip(names) {
                if s.phase == Phase::TieKeys {
                    let mut buf = [0u8; 128];
                    let found = label_starts(name, below, &mut buf)
                        .and_then(|starts| {
                            chain.among_ties(name, starts, below, s.lo as usize, s.hi as usize)
                        })
                        .unwrap_or_else(|| parts.entry_below(name, below));
                    s.locate(parts, found, false);
                }
            }
        }
        // The proofs: each entry's NSEC and owner start loading.
        for s in searches.iter_mut() {
            if let Phase::Proof { exact } = s.phase {
                self.prefetch_chain_proof(s.lo as usize);
                s.phase = Phase::Done { exact };
            }
        }
    }
}

impl SignedParts {
    /// Starts loading the proof entries `start - 1` to `start + UPPER - 1`
    /// (those of the heads a search narrowed to and the one before).
    #[inline]
    pub(crate) fn prefetch_entries(&self, start: usize) {
        let first = start.saturating_sub(1);
        if let Some(p) = self.proofs.get(first) {
            let n = (UPPER + 1).min(self.proofs.len() - first);
            crate::prefetch_bytes(
                (p as *const super::ProofAt).cast(),
                n * size_of::<super::ProofAt>(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::Path;

    use candor_wire::Name;

    use super::ChainSearch;
    use crate::{Zone, load_zone_text};

    /// A zone for `example.` with an NSEC RRset at each of `names`
    /// (relative), whose signatures do not matter here.
    fn zone(names: &[String]) -> Zone {
        let mut text = String::from("$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n@ NSEC ns A\n");
        for name in names {
            text.push_str(&format!("{name} A 192.0.2.1\n{name} NSEC example. A\n"));
        }
        let origin = Name::from_text("example.", None).unwrap();
        load_zone_text(text.as_bytes(), Path::new("example.zone"), &origin).unwrap()
    }

    #[test]
    fn batched_searches_find_what_the_search_finds() {
        let mut names: Vec<String> = Vec::new();
        for i in 0..3000u32 {
            names.push(format!("hostnamelong{i}"));
            names.push(format!("h{}", i % 7));
            names.push(format!("x.hostnamelong{}", i * 3));
        }
        for odd in ["!", "\\000", "\\001", "\\000\\001a", "a\\000", "zz"] {
            names.push(odd.to_string());
        }
        names.sort();
        names.dedup();
        let z = zone(&names);
        let parts = z.signed().expect("signed");
        let chain = &parts.chain;
        assert!(chain.upper.len() >= 3, "a B-tree of levels");
        let wire = |t: &str| Name::from_text(t, None).unwrap().as_wire().to_vec();
        let mut probes: Vec<Vec<u8>> = names
            .iter()
            .map(|n| wire(&format!("{n}.example.")))
            .collect();
        for i in 0..3000u32 {
            probes.push(wire(&format!("h{i}.example.")));
            probes.push(wire(&format!("hostnamelong{i}x.example.")));
            probes.push(wire(&format!("hostnamelong{}.example.", i + 5000)));
            probes.push(wire(&format!("hostname{i}.example.")));
            probes.push(wire(&format!("a.hostnamelong{i}.example.")));
            probes.push(wire(&format!("q{i}.example.")));
        }
        for extra in [
            "*.example.",
            "a.example.",
            "zzzz.example.",
            "example.",
            "\\000.example.",
        ] {
            probes.push(wire(extra));
        }
        // Shuffled, so that a batch mixes every kind of search.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for i in (1..probes.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            probes.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let apex = wire("example.").len();
        let heads: HashSet<u64> = chain.heads.as_ref().unwrap().iter().copied().collect();
        let mut tied = 0;
        for batch in probes.chunks(32) {
            let named: Vec<(&[u8], usize)> =
                batch.iter().map(|p| (&p[..], p.len() - apex)).collect();
            let mut searches: Vec<ChainSearch> = named
                .iter()
                .map(|&(name, below)| z.chain_search_start(name, below))
                .collect();
            z.chain_search_all(&mut searches, &named);
            for (s, &(name, below)) in searches.iter().zip(&named) {
                assert_eq!(
                    s.found(),
                    Some(parts.entry_below(name, below)),
                    "{:?}",
                    Name::from_wire(name)
                );
                tied += usize::from(heads.contains(&s.h) && s.h != 0);
            }
            // Searched again in a batch of one: the same.
            let mut one = [z.chain_search_start(named[0].0, named[0].1)];
            z.chain_search_all(&mut one, &named[..1]);
            assert_eq!(one[0].found(), searches[0].found());
        }
        // Names whose head ties with one of the zone's, decided by keys.
        assert!(tied > 1000, "{tied} among tying heads");

        // A wrong `below` is searched as entry_below searches it.
        let name = wire("hostnamelong7.example.");
        let mut searches = [z.chain_search_start(&name, 3)];
        assert!(!searches[0].pending(), "searched at once");
        z.chain_search_all(&mut searches, &[(&name, 3)]);
        assert_eq!(searches[0].found(), Some(parts.entry_below(&name, 3)));
    }

    #[test]
    fn an_unsigned_zone_finds_nothing() {
        let origin = Name::from_text("example.", None).unwrap();
        let z = load_zone_text(
            b"@ 60 SOA ns h 1 2 3 4 5\n@ 60 NS ns\nwww 60 A 192.0.2.1\n",
            Path::new("example.zone"),
            &origin,
        )
        .unwrap();
        let name = b"\x01q\x07example\x00";
        let mut searches = [z.chain_search_start(name, 2)];
        assert!(!searches[0].pending());
        z.chain_search_all(&mut searches, &[(&name[..], 2)]);
        assert_eq!(searches[0].found(), None);
    }
}
