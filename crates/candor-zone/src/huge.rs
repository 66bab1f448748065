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
//! the memory stays as it was.

/// The huge page size on x86-64 and most arm64 kernels.
const HUGE: usize = 2 << 20;

/// `MADV_COLLAPSE` (Linux 6.1): collapse a range into huge pages now,
/// synchronously, rather than waiting for `khugepaged`.
#[cfg(target_os = "linux")]
const MADV_COLLAPSE: libc::c_int = 25;

/// Asks the kernel to back the 2 MiB-aligned interior of `data` with
/// huge pages. Arrays under 4 MiB are left alone.
pub(crate) fn advise<T>(data: &[T]) {
    let start = data.as_ptr() as usize;
    let len = size_of_val(data);
    let first = start.next_multiple_of(HUGE);
    let end = (start + len) / HUGE * HUGE;
    if len < 2 * HUGE || end <= first {
        return;
    }
    #[cfg(target_os = "linux")]
    // SAFETY: the range lies inside `data`, memory this process owns, and
    // both advices keep its contents: MADV_HUGEPAGE only marks the range,
    // MADV_COLLAPSE copies its pages into huge pages. Failure (EINVAL on
    // old kernels, EAGAIN without free huge pages) changes nothing.
    unsafe {
        let addr = first as *mut libc::c_void;
        libc::madvise(addr, end - first, libc::MADV_HUGEPAGE);
        libc::madvise(addr, end - first, MADV_COLLAPSE);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn advice_keeps_the_contents() {
        let data: Vec<u64> = (0..3_000_000u64).map(|i| i * 7).collect();
        super::advise(&data);
        assert!(data.iter().enumerate().all(|(i, &x)| x == i as u64 * 7));
        super::advise(&data[..10]);
        super::advise::<u8>(&[]);
    }
}
