//! Giving freed heap back to the operating system after a large compile.
//!
//! Signing a zone in full makes millions of short-lived allocations (the
//! signer's records, a second `ZoneBuilder` over every record, the
//! builder's arrays as they double) beside the long-lived arrays of the
//! zone it compiles. When they are freed, glibc keeps the pages: the free
//! chunks lie between live ones, below the top of the heap, so its own
//! trimming (only at the top) never reaches them. Measured on a
//! 100,000-record zone signed at start-up: 70 MB of the heap in use,
//! 173 MB resident; `malloc_trim(0)` brought it to 100 MB.

/// Returns the free pages of every malloc arena to the operating system
/// (glibc's `malloc_trim(0)`, which also releases whole free pages in the
/// middle of the heap). Walks every free chunk, so it is for after a large
/// compile, not for every change. Elsewhere than on glibc it does
/// nothing.
pub fn release_free_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only takes the allocator's own locks and hands
    // back pages of free chunks; no allocation of this process moves.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_is_usable_after_a_release() {
        let freed: Vec<Vec<u8>> = (0..10_000).map(|i| vec![i as u8; 200]).collect();
        let kept: Vec<Vec<u8>> = (0..10_000).step_by(7).map(|i| vec![i as u8; 200]).collect();
        drop(freed);
        super::release_free_heap();
        assert!(
            kept.iter()
                .enumerate()
                .all(|(i, v)| v[199] == (i * 7) as u8)
        );
        let again = vec![3u8; 1 << 20];
        assert_eq!(again[1 << 19], 3);
    }
}
