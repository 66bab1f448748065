//! Transparent huge pages for the large arrays of a compiled zone.
//!
//! A lookup in a zone of a million names lands on a random 4 KiB page of a
//! ~100 MB index, so nearly every query also misses the TLB, and in a
//! virtual machine a page walk is two-dimensional (guest and host tables).
//! Backing the index, the RRset descriptors and the RRset data with 2 MiB
//! pages makes the whole of them fit in the TLB. Profiles of the batched
//! prefetch (see `candor_answer::Peek`) showed the prefetch instructions
//! themselves stalling, which is what a page walk does to a prefetch.
//!
//! Only a hint: where the kernel has no huge pages to give, or THP is off,
//! the memory is ordinary pages. The arrays are marked before they are
//! first written (an `madvise(MADV_HUGEPAGE)` on a fresh allocation), so
//! the kernel maps huge pages at the first fault instead of collapsing
//! small ones later, which would copy the data.

/// The huge page size on x86-64 and most arm64 kernels.
const HUGE: usize = 2 << 20;

/// An empty vector with room for `cap` elements. If that room is large,
/// it is marked for huge pages before anything is written to it, so the
/// first writes fault in 2 MiB pages directly: nothing is copied later,
/// and loading takes fewer page faults. Arrays under 4 MiB are left alone.
pub(crate) fn with_capacity<T>(cap: usize) -> Vec<T> {
    let v = Vec::with_capacity(cap);
    advise(v.as_ptr() as usize, cap.saturating_mul(size_of::<T>()));
    v
}

/// Marks the 2 MiB-aligned interior of `len` bytes at `start` for huge
/// pages.
fn advise(start: usize, len: usize) {
    let first = start.next_multiple_of(HUGE);
    let end = start.saturating_add(len) / HUGE * HUGE;
    if len < 2 * HUGE || end <= first {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: the range lies inside an allocation this process owns, and
    // MADV_HUGEPAGE only marks it: contents (none written yet) are kept.
    // Failure (THP off, EINVAL) changes nothing.
    unsafe {
        libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn advised_vectors_work_like_any_other() {
        let mut big: Vec<u64> = super::with_capacity(3_000_000);
        big.extend((0..3_000_000u64).map(|i| i * 7));
        assert!(big.iter().enumerate().all(|(i, &x)| x == i as u64 * 7));
        big.push(1);
        let small: Vec<u8> = super::with_capacity(10);
        assert!(small.capacity() >= 10);
        let none: Vec<u32> = super::with_capacity(0);
        assert!(none.is_empty());
    }
}
