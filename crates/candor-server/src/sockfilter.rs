//! Attaching classic BPF programs to sockets, for the kernel-side
//! shedding of `candor_traffic::filter`: a socket filter
//! (`SO_ATTACH_FILTER`) that drops, and a `SO_REUSEPORT` group's steering
//! program (`SO_ATTACH_REUSEPORT_CBPF`) that chooses the socket.

use std::io;
use std::os::fd::RawFd;

use candor_traffic::filter::Insn;

/// Attaches `program` to the socket `fd`, replacing any filter it had.
/// The kernel checks the program (jumps in bounds, ends in a return) and
/// refuses a bad one with `EINVAL`.
pub(crate) fn attach(fd: RawFd, program: &[Insn]) -> io::Result<()> {
    set_program(fd, libc::SO_ATTACH_FILTER, program)
}

/// `SO_ATTACH_REUSEPORT_CBPF` (asm-generic, as x86 and ARM use).
const SO_ATTACH_REUSEPORT_CBPF: libc::c_int = 51;

/// `SO_DETACH_REUSEPORT_BPF` (Linux 5.8).
const SO_DETACH_REUSEPORT_BPF: libc::c_int = 68;

/// Attaches `program` as the steering program of the `SO_REUSEPORT` group
/// of the socket `fd` (every socket bound to its address and port),
/// replacing any it had: the kernel runs it on each packet for the group
/// and delivers the packet to the socket at the index it returns (bind
/// order; an index past the group falls back to the kernel's hash).
pub(crate) fn attach_steering(fd: RawFd, program: &[Insn]) -> io::Result<()> {
    set_program(fd, SO_ATTACH_REUSEPORT_CBPF, program)
}

/// Removes the steering program of `fd`'s group, if any (the kernel's hash
/// chooses again).
pub(crate) fn detach_steering(fd: RawFd) -> io::Result<()> {
    detach_option(fd, SO_DETACH_REUSEPORT_BPF)
}

/// Sets the classic BPF `program` with socket option `option`.
fn set_program(fd: RawFd, option: libc::c_int, program: &[Insn]) -> io::Result<()> {
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
            option,
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
    detach_option(fd, libc::SO_DETACH_FILTER)
}

/// Removes a program with socket option `option` (`ENOENT`: there was
/// none, not an error).
fn detach_option(fd: RawFd, option: libc::c_int) -> io::Result<()> {
    let zero: libc::c_int = 0;
    // SAFETY: a valid descriptor; the detach options ignore their
    // argument, passed as a live int of the size given.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
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
pub(crate) mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    use candor_traffic::filter::{ALWAYS, Rule, program, steering};
    use candor_wire::Name;
    use socket2::{Domain, Protocol, Socket, Type};

    use super::{attach, attach_steering, detach, detach_steering, drops};

    /// A query for `name` (any case kept).
    pub(crate) fn query(id: u16, name: &str) -> Vec<u8> {
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
    pub(crate) fn received(server: &UdpSocket) -> Vec<u16> {
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

    /// `name` (presentation form) in lower-case wire form.
    fn apex(name: &str) -> Vec<u8> {
        Name::from_text(name, None)
            .expect("name")
            .as_wire()
            .to_vec()
    }

    /// Rules that shed `victim.test.` entirely and keep the zone below it.
    fn victim_rules() -> Vec<Rule> {
        vec![
            Rule {
                apex: apex("victim.test."),
                admit: 0,
            },
            Rule {
                apex: apex("sub.victim.test."),
                admit: ALWAYS,
            },
        ]
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
        let mut rules = victim_rules();
        rules.push(Rule {
            apex: apex("half.test."),
            admit: 1 << 31,
        });
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

    /// A UDP socket in the `SO_REUSEPORT` group of `port` on 127.0.0.1
    /// (0: a free port).
    fn member(port: u16) -> UdpSocket {
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).expect("socket");
        s.set_reuse_port(true).expect("reuseport");
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        s.bind(&addr.into()).expect("bind");
        s.into()
    }

    /// The kernel steers as `candor_traffic::filter::steering` says: with
    /// two workers' sockets and their two quarantine sockets in one group,
    /// a shed zone's queries land in a quarantine socket, the others in
    /// a worker's own, each by message ID; with no rules nothing is
    /// quarantined; after `detach_steering` the kernel's hash chooses.
    #[test]
    fn the_kernel_steers_what_the_program_says() {
        let first = member(0);
        let port = first.local_addr().expect("addr").port();
        let group = [first, member(port), member(port), member(port)];
        let client = UdpSocket::bind("127.0.0.1:0").expect("bind");
        client.connect(("127.0.0.1", port)).expect("connect");
        let rules = victim_rules();
        let fd = group[1].as_raw_fd();
        attach_steering(fd, &steering(&rules, 2)).expect("attach");
        let sent = [
            (10, "a.victim.test."),
            (11, "a.victim.test."),
            (12, "www.z0001.test."),
            (13, "www.z0001.test."),
            (14, "x.sub.victim.test."),
            (15, "VICTIM.TEST."),
        ];
        for (id, name) in sent {
            client.send(&query(id, name)).expect("send");
        }
        let got: Vec<Vec<u16>> = group.iter().map(received).collect();
        assert_eq!(got, vec![vec![12, 14], vec![13], vec![10], vec![11, 15]]);
        // No rules: every query on a worker's own socket.
        attach_steering(fd, &steering(&[], 2)).expect("attach");
        for id in 20..24 {
            client.send(&query(id, "a.victim.test.")).expect("send");
        }
        let got: Vec<Vec<u16>> = group.iter().map(received).collect();
        assert_eq!(got, vec![vec![20, 22], vec![21, 23], vec![], vec![]]);
        detach_steering(fd).expect("detach");
        detach_steering(fd).expect("detach twice");
        for id in 30..34 {
            client.send(&query(id, "a.victim.test.")).expect("send");
        }
        let total: usize = group.iter().map(|s| received(s).len()).sum();
        assert_eq!(total, 4);
    }
}
