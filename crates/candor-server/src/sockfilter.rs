//! Attaching a classic BPF program to a socket (`SO_ATTACH_FILTER`), for
//! the kernel-side shedding of `candor_traffic::filter`.

use std::io;
use std::os::fd::RawFd;

use candor_traffic::filter::Insn;

/// Attaches `program` to the socket `fd`, replacing any filter it had.
/// The kernel checks the program (jumps in bounds, ends in a return) and
/// refuses a bad one with `EINVAL`.
pub(crate) fn attach(fd: RawFd, program: &[Insn]) -> io::Result<()> {
    let mut insns: Vec<libc::sock_filter> = program
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let len = u16::try_from(insns.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "filter too long"))?;
    let prog = libc::sock_fprog {
        len,
        filter: insns.as_mut_ptr(),
    };
    // SAFETY: a valid descriptor, and a `sock_fprog` pointing at `len` live
    // instructions for the duration of the call (the kernel copies them).
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&prog as *const libc::sock_fprog).cast(),
            size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Removes the socket's filter, if any (`ENOENT` when there was none is
/// not an error).
pub(crate) fn detach(fd: RawFd) -> io::Result<()> {
    let zero: libc::c_int = 0;
    // SAFETY: a valid descriptor; SO_DETACH_FILTER ignores its argument,
    // passed as a live int of the size given.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_DETACH_FILTER,
            (&zero as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::ENOENT) {
            return Err(e);
        }
    }
    Ok(())
}

/// `SO_MEMINFO` (asm-generic; MIPS and SPARC number it differently and
/// get no drop counts).
#[cfg(not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64")))]
const SO_MEMINFO: libc::c_int = 55;

/// The socket's drop counter (`sk_drops`: packets its filter dropped plus
/// packets that found its queue full), a wrapping `u32`; `None` where the
/// kernel cannot tell. One system call: read once per 100 ms window.
pub(crate) fn drops(fd: RawFd) -> Option<u32> {
    #[cfg(not(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64")))]
    {
        let mut info = [0u32; 9];
        let mut len = size_of_val(&info) as libc::socklen_t;
        // SAFETY: a valid descriptor and a buffer of `len` writable bytes;
        // the kernel writes at most `len` bytes and sets `len` to what it
        // wrote.
        let rc = unsafe {
            libc::getsockopt(
                fd,
                libc::SOL_SOCKET,
                SO_MEMINFO,
                info.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let index = libc::SK_MEMINFO_DROPS as usize;
        if rc != 0 || (len as usize) < (index + 1) * size_of::<u32>() {
            return None;
        }
        Some(info[index])
    }
    #[cfg(any(target_arch = "mips", target_arch = "mips64", target_arch = "sparc64"))]
    {
        let _ = fd;
        None
    }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    use candor_traffic::filter::{ALWAYS, Rule, program};
    use candor_wire::Name;

    use super::{attach, detach, drops};

    /// A query for `name` (any case kept).
    fn query(id: u16, name: &str) -> Vec<u8> {
        let mut q = id.to_be_bytes().to_vec();
        q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
        for label in name.trim_end_matches('.').split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        q
    }

    /// The ids of the queries that reach `server` within a short wait.
    fn received(server: &UdpSocket) -> Vec<u16> {
        let mut ids = Vec::new();
        let mut buf = [0u8; 512];
        server
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        while let Ok(n) = server.recv(&mut buf) {
            if n >= 2 {
                ids.push(u16::from_be_bytes([buf[0], buf[1]]));
            }
        }
        ids
    }

    /// The kernel runs the program as `candor_traffic::filter::run` does:
    /// queries under the shed zone are dropped before the socket's queue
    /// (any case), a zone below it and other zones arrive, half of the
    /// queries of a zone admitted at one half arrive, and after `detach`
    /// everything does.
    #[test]
    fn the_kernel_drops_what_the_filter_says() {
        let server = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
        client
            .connect(server.local_addr().expect("addr"))
            .expect("connect");
        let apex = |n: &str| Name::from_text(n, None).expect("name").as_wire().to_vec();
        let rules = [
            Rule {
                apex: apex("victim.test."),
                admit: 0,
            },
            Rule {
                apex: apex("sub.victim.test."),
                admit: ALWAYS,
            },
            Rule {
                apex: apex("half.test."),
                admit: 1 << 31,
            },
        ];
        attach(server.as_raw_fd(), &program(&rules).expect("a program")).expect("attach");
        let before = drops(server.as_raw_fd()).expect("a drop count");
        let names = [
            (1, "a.victim.test."),
            (2, "www.z0001.test."),
            (3, "B.VICTIM.TEST."),
            (4, "www.sub.victim.test."),
            (5, "victim.test."),
        ];
        for (id, name) in names {
            client.send(&query(id, name)).expect("send");
        }
        assert_eq!(received(&server), vec![2, 4]);
        // The filter's drops count as the socket's.
        let after = drops(server.as_raw_fd()).expect("a drop count");
        assert_eq!(after.wrapping_sub(before), 3);
        // Half of them, give or take: 1,000 queries, 5 standard deviations
        // (sent 50 at a time, so the socket's own queue never overflows).
        let mut half = 0;
        for chunk in 0..20u16 {
            for id in 0..50u16 {
                let q = query(1000 + chunk * 50 + id, "x.half.test.");
                client.send(&q).expect("send");
            }
            half += received(&server).len();
        }
        assert!((420..=580).contains(&half), "{half} of 1000 arrived");
        detach(server.as_raw_fd()).expect("detach");
        detach(server.as_raw_fd()).expect("detach twice");
        client.send(&query(7, "a.victim.test.")).expect("send");
        assert_eq!(received(&server), vec![7]);
    }
}
