//! The process's file-descriptor limit (`RLIMIT_NOFILE`): every TCP
//! connection holds one descriptor, so the connection cap must fit under it.

use std::io;

/// The file-descriptor limit before and after [`raise_fd_limit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdLimit {
    /// The soft limit the process started with.
    pub before: u64,
    /// The soft limit now (the hard limit, if raising it worked).
    pub soft: u64,
    /// The hard limit, which only a privileged process may raise.
    pub hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (many systems start
/// processes at 1,024 while allowing far more) and returns both.
pub fn raise_fd_limit() -> io::Result<FdLimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` that outlives the call,
    // which only writes into it.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: `raised` is a valid `rlimit` that outlives the call, which
        // only reads it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = limit.rlim_max;
        }
    }
    Ok(FdLimit {
        before,
        soft: limit.rlim_cur,
        hard: limit.rlim_max,
    })
}
