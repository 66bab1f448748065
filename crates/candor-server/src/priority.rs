//! CPU priorities of the threads that are not UDP workers.
//!
//! The UDP workers run at the priority Candor was started with; every other
//! thread gives way to them when they share a core, so that nothing Candor
//! does besides answering UDP can keep a worker off its core long enough
//! for its small receive buffer to overflow (docs/benchmarks.md, "A 1M-record
//! AXFR while UDP queries and a flood run").

use std::io;

/// Moves the calling thread to `SCHED_IDLE`: it runs only when no normal
/// thread wants its core, and a UDP worker woken by a packet preempts it at
/// once rather than after a time slice. For threads doing long, deferrable
/// work on behalf of one client (the packing of a zone transfer's
/// messages): under a flood that saturates every core they crawl, and the
/// answers do not. No privilege is needed to lower a thread's policy.
pub(crate) fn idle() -> io::Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler with pid 0 changes the calling thread's
    // policy (Linux's per-thread semantics); `param` is a valid, initialised
    // struct that outlives the call, and SCHED_IDLE requires priority 0.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// `idle` moves the calling thread, and only it, to `SCHED_IDLE`.
    #[test]
    fn idle_moves_only_the_calling_thread() {
        // SAFETY: sched_getscheduler(0) only reads the calling thread's policy.
        let policy = || unsafe { libc::sched_getscheduler(0) };
        let before = policy();
        let inside = std::thread::spawn(move || {
            super::idle().expect("SCHED_IDLE needs no privilege");
            policy()
        })
        .join()
        .expect("thread");
        assert_eq!(inside, libc::SCHED_IDLE);
        assert_eq!(policy(), before, "the spawning thread keeps its policy");
    }
}
