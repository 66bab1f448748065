//! CPU priorities of the threads that are not UDP workers.
//!
//! The UDP workers run at the priority Candor was started with; every other
//! thread gives way to them when they share a core, so that nothing Candor
//! does besides answering UDP can keep a worker off its core long enough
//! for its small receive buffer to overflow (docs/benchmarks.md, "A 1M-record
//! AXFR while UDP queries and a flood run").

use std::io;

/// How much lower than the UDP workers everything else runs (the nice
/// value added), see [`yield_to_udp_workers`].
pub const BACKGROUND_NICE: i32 = 5;

/// Lowers the calling thread's CPU priority by [`BACKGROUND_NICE`] (on
/// Linux the nice value is per thread, and threads started afterwards
/// inherit it). `candor serve` calls it on its main thread once the UDP
/// workers run: zone transfers, TCP, the API, the status page and
/// compaction then yield the CPU to the workers when they share a core.
/// Measured: a 1,000,000-record AXFR on the UDP worker's core took time
/// slices of a few milliseconds, longer than the small receive buffer
/// holds of a 50k qps flood, and 2.9% of the legitimate queries were lost
/// (docs/benchmarks.md, "A 1M-record AXFR while UDP queries and a flood
/// run"). Raising a nice value needs no privilege; lowering it back would.
pub fn yield_to_udp_workers() -> io::Result<()> {
    // SAFETY: getpriority/setpriority with PRIO_PROCESS and 0 read and set
    // the calling thread's nice value (Linux's per-thread semantics); no
    // memory is passed. errno is cleared first: -1 is a valid nice value.
    let current = unsafe {
        *libc::__errno_location() = 0;
        libc::getpriority(libc::PRIO_PROCESS, 0)
    };
    if current == -1 {
        let e = io::Error::last_os_error();
        if e.raw_os_error().unwrap_or(0) != 0 {
            return Err(e);
        }
    }
    let wanted = (current + BACKGROUND_NICE).min(19);
    // SAFETY: as above.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, wanted) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The nice value of threads doing long, deferrable work for one client.
pub(crate) const LOWEST_NICE: i32 = 19;

/// Sets the calling thread's nice value to [`LOWEST_NICE`], for threads
/// doing long, deferrable work on behalf of one client (the packing of a
/// zone transfer's messages): beside a nice-0 UDP worker it gets about
/// 1.5% of a shared core when both want it, and a worker woken by a packet
/// preempts it at once. Not `SCHED_IDLE`: that starved transfers for
/// seconds under ordinary CPU load (four busy loops: kdig gave up on two
/// of three 1M-record transfers, 80,062 and 11,806 records in), where a
/// secondary must still get its zone. Raising a nice value needs no
/// privilege.
pub(crate) fn lowest() -> io::Result<()> {
    // SAFETY: setpriority with PRIO_PROCESS and 0 sets the calling thread's
    // nice value (Linux's per-thread semantics); no memory is passed.
    if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, LOWEST_NICE) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// This thread's nice value.
    fn nice() -> i32 {
        // SAFETY: reads the calling thread's nice value; no memory passed.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
    }

    /// Yielding lowers the calling thread's priority only, and threads it
    /// starts afterwards inherit it.
    #[test]
    fn yielding_lowers_this_thread_and_its_children_only() {
        let before = nice();
        let (mine, child) = std::thread::spawn(|| {
            let start = nice();
            super::yield_to_udp_workers().expect("setpriority");
            let mine = nice() - start;
            let child = std::thread::spawn(nice).join().expect("child") - start;
            (mine, child)
        })
        .join()
        .expect("thread");
        let expected = super::BACKGROUND_NICE.min(19 - before);
        assert_eq!((mine, child), (expected, expected));
        assert_eq!(nice(), before, "the other threads keep theirs");
    }

    /// `lowest` lowers the calling thread, and only it, to nice 19.
    #[test]
    fn lowest_lowers_only_the_calling_thread() {
        let before = nice();
        let inside = std::thread::spawn(|| {
            super::lowest().expect("raising a nice value needs no privilege");
            nice()
        })
        .join()
        .expect("thread");
        assert_eq!(inside, super::LOWEST_NICE);
        assert_eq!(nice(), before, "the spawning thread keeps its own");
    }
}
