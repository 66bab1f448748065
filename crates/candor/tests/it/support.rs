//! Shared machinery for the integration tests: unique temporary
//! directories, free ports, guards that run the real `candor` binary and
//! `knotd` (killed on drop), and a small blocking DNS client that builds
//! queries and decodes responses with [`candor_wire::decode::decode_message`].

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use candor_wire::decode::{Message, Record, decode_message};
use candor_wire::{Class, Header, Name, Rtype};

/// How long a server may take to answer its first query.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Interval between readiness probes.
const READY_POLL: Duration = Duration::from_millis(20);

/// How long a normal UDP exchange waits for each try.
const UDP_TIMEOUT: Duration = Duration::from_millis(1000);

/// Tries per normal UDP exchange.
const UDP_TRIES: usize = 3;

/// How long a TCP exchange may take in all.
const TCP_TIMEOUT: Duration = Duration::from_secs(5);

/// Times a server start is retried on a fresh port if the first one was taken.
const START_TRIES: usize = 4;

//----------- Random numbers --------------------------------------------------

/// xorshift64* (Vigna): small, fast and good enough to pick test data.
pub(crate) struct Rng(u64);

impl Rng {
    /// A generator from a seed (zero is replaced, xorshift never leaves it).
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True with probability `percent`/100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A random lower-case label of 3..=10 letters and digits, starting
    /// with `q` so it never collides with a generated owner.
    pub(crate) fn label(&mut self) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let len = 3 + self.below(8);
        let mut s = String::from("q");
        for _ in 1..len {
            s.push(char::from(*self.pick(CHARS)));
        }
        s
    }

    /// `name` with each letter's case flipped at random.
    pub(crate) fn mix_case(&mut self, name: &str) -> String {
        name.chars()
            .map(|c| {
                if self.chance(50) {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    }
}

//----------- Temporary directories -------------------------------------------

/// A directory under [`std::env::temp_dir`] with a unique name, removed on drop.
pub(crate) struct TempDir {
    /// Where it is.
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh, empty directory whose name contains `tag`.
    pub(crate) fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "candor-it-{tag}-{}-{n}-{nanos:x}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        TempDir { path }
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to the file `name` in the directory; returns its path.
    pub(crate) fn write(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path.join(name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

//----------- Ports -----------------------------------------------------------

/// The ports tests hand out: below the kernel's ephemeral range
/// (`net.ipv4.ip_local_port_range`, 32768–60999 by default), so no client
/// socket of a parallel test can take a port between the moment it is found
/// free and the moment the server under test binds it (with ports from
/// `bind(0)` that race made a test fail now and then).
const PORTS: std::ops::Range<u32> = 20_000..32_000;

/// How many ports this process has tried; each is tried once.
static TRIED: AtomicU32 = AtomicU32::new(0);

/// A port on 127.0.0.1 that is free for both UDP and TCP right now and has
/// not been handed out before in this process. Processes start at different
/// offsets (by process id), so two test runs side by side rarely probe the
/// same ports, and a taken port is skipped.
pub(crate) fn free_port() -> u16 {
    let span = PORTS.end - PORTS.start;
    let offset = std::process::id().wrapping_mul(7_919) % span;
    loop {
        let n = TRIED.fetch_add(1, Ordering::Relaxed);
        assert!(n < span, "no free port left in {PORTS:?}");
        let port = u16::try_from(PORTS.start + (offset + n) % span).expect("ports fit u16");
        let udp = UdpSocket::bind(("127.0.0.1", port));
        let tcp = TcpListener::bind(("127.0.0.1", port));
        if udp.is_ok() && tcp.is_ok() {
            return port;
        }
    }
}

/// The `serve` flags of the listeners other than DNS, in the order of
/// [`Listeners`]' fields. Each has a fixed default port (8053, 8054, 8080),
/// so a test that left one out would collide with a `candor serve` running
/// on the machine, or with another test.
const LISTENER_FLAGS: [&str; 3] = ["--api-listen", "--status-listen", "--redirect-listen"];

/// Where the HTTP listeners of a `candor serve` started by a test are (they
/// only listen when the store is served).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Listeners {
    /// The REST API.
    pub(crate) api: SocketAddr,
    /// The status page.
    pub(crate) status: SocketAddr,
    /// The URL redirector.
    pub(crate) redirector: SocketAddr,
}

/// The address `args` gives for `flag` (`--flag ADDR` or `--flag=ADDR`).
fn given_address(args: &[String], flag: &str) -> Option<SocketAddr> {
    let prefix = format!("{flag}=");
    let text = args.iter().enumerate().find_map(|(i, a)| {
        if a == flag {
            args.get(i + 1).map(String::as_str)
        } else {
            a.strip_prefix(&prefix)
        }
    })?;
    Some(
        text.parse()
            .unwrap_or_else(|e| panic!("{flag} {text:?} is not an address: {e}")),
    )
}

/// `serve` arguments `args` plus a free port on 127.0.0.1 for every
/// listener flag ([`LISTENER_FLAGS`]) that `args` does not give, and where
/// each listener is. Every `candor serve` a test starts goes through here,
/// so none binds a default port.
pub(crate) fn with_free_listeners(args: &[String]) -> (Vec<String>, Listeners) {
    let mut all = args.to_vec();
    let [api, status, redirector] = LISTENER_FLAGS.map(|flag| {
        given_address(args, flag).unwrap_or_else(|| {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            all.extend([flag.to_owned(), addr.to_string()]);
            addr
        })
    });
    let listeners = Listeners {
        api,
        status,
        redirector,
    };
    (all, listeners)
}

//----------- Child processes -------------------------------------------------

/// A child process that is killed (and reaped) when dropped.
pub(crate) struct Process {
    /// The child.
    child: Child,
    /// What it is, for messages.
    what: String,
}

impl Process {
    /// Starts `cmd` with standard output and error going to `log`.
    pub(crate) fn spawn(mut cmd: Command, what: &str, log: &Path) -> Process {
        let out = std::fs::File::create(log).expect("create log file");
        let err = out.try_clone().expect("clone log file");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Process {
            child,
            what: what.to_owned(),
        }
    }

    /// The process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if it has exited.
    pub(crate) fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child
            .try_wait()
            .unwrap_or_else(|e| panic!("cannot poll {}: {e}", self.what))
    }

    /// Polls every 20 ms until the process exits or `timeout` passes.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a signal (`TERM`, `HUP`, ...) with kill(1).
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill(1)");
        assert!(status.success(), "kill -{name} {} failed", self.pid());
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//----------- candor ----------------------------------------------------------

/// The real `candor serve` binary on 127.0.0.1, killed on drop.
pub(crate) struct Candor {
    /// The process (declared first: it is killed before the logs go).
    process: Process,
    /// Where it listens (UDP and TCP).
    addr: SocketAddr,
    /// Where its HTTP listeners are.
    listeners: Listeners,
    /// Holds the log file.
    logs: TempDir,
}

impl Candor {
    /// Starts `candor serve --zones zone_dir` plus `extra` arguments and
    /// waits until it answers an SOA query for `ready_zone` (polling every
    /// 20 ms, up to 30 s). Panics with the server's log if it does not.
    pub(crate) fn start(zone_dir: &Path, extra: &[&str], ready_zone: &str) -> Candor {
        let mut args = vec!["--zones".to_owned(), zone_dir.display().to_string()];
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        Candor::start_with(&args, ready_zone)
    }

    /// Starts `candor serve` with `args` (besides `--listen`, `--workers`
    /// and a free port for each HTTP listener `args` does not place, see
    /// [`with_free_listeners`]) and waits as [`Candor::start`] does.
    pub(crate) fn start_with(args: &[String], ready_zone: &str) -> Candor {
        let logs = TempDir::new("candor-log");
        for attempt in 1..=START_TRIES {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let (args, listeners) = with_free_listeners(args);
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_candor"));
            cmd.arg("serve")
                .args(&args)
                .arg("--listen")
                .arg(addr.to_string())
                .args(["--workers", "1"])
                .env("NO_COLOR", "1")
                .env("CANDOR_LOG", "info");
            let log = logs.path().join(format!("candor-{attempt}.log"));
            let mut process = Process::spawn(cmd, "candor", &log);
            match wait_ready(&mut process, addr, &[ready_zone]) {
                Ready::Yes => {
                    return Candor {
                        process,
                        addr,
                        listeners,
                        logs,
                    };
                }
                Ready::Exited(status) => {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    if text.contains("cannot listen") && attempt < START_TRIES {
                        continue; // The port was taken in between: try another.
                    }
                    panic!("candor exited ({status}) before answering:\n{text}");
                }
                Ready::TimedOut => {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("candor did not answer within {READY_TIMEOUT:?}:\n{text}");
                }
            }
        }
        unreachable!("the last attempt panics or returns")
    }

    /// The address it answers on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where its REST API, status page and redirector listen (when it
    /// serves the store).
    pub(crate) fn listeners(&self) -> Listeners {
        self.listeners
    }

    /// The process, to signal or wait for.
    pub(crate) fn process(&mut self) -> &mut Process {
        &mut self.process
    }

    /// Everything it wrote to standard output and error so far.
    pub(crate) fn log(&self) -> String {
        let mut all = String::new();
        let mut files: Vec<_> = std::fs::read_dir(self.logs.path())
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        if let Some(last) = files.last() {
            all = std::fs::read_to_string(last).unwrap_or_default();
        }
        all
    }
}

/// The outcome of waiting for a server.
enum Ready {
    /// Every zone answered.
    Yes,
    /// The process exited first.
    Exited(ExitStatus),
    /// It did not answer in time.
    TimedOut,
}

/// Polls an SOA query for each zone over UDP every 20 ms until each gets an
/// authoritative NOERROR answer, the process exits, or 30 s pass; then does
/// the same over TCP for the first zone (candor binds TCP after UDP).
fn wait_ready(process: &mut Process, addr: SocketAddr, zones: &[&str]) -> Ready {
    let deadline = Instant::now() + READY_TIMEOUT;
    let good =
        |m: &Message| m.rcode() == 0 && m.header.flags & Header::AA != 0 && !m.answer.is_empty();
    let mut pending: Vec<&str> = zones.to_vec();
    let mut tcp_ready = false;
    while !pending.is_empty() || !tcp_ready {
        if let Some(status) = process.try_wait() {
            return Ready::Exited(status);
        }
        if Instant::now() >= deadline {
            return Ready::TimedOut;
        }
        let probe_started = Instant::now();
        if let Some(&zone) = pending.first() {
            let q = Query::new(zone, Rtype::SOA);
            let answered = udp_exchange(addr, &q.to_wire(), READY_POLL, 1)
                .and_then(|r| decode_message(&r).ok())
                .is_some_and(|m| good(&m));
            if answered {
                pending.remove(0);
                continue;
            }
        } else {
            let q = Query::new(zones[0], Rtype::SOA);
            tcp_ready = tcp(addr, &q.to_wire())
                .ok()
                .and_then(|r| decode_message(&r).ok())
                .is_some_and(|m| good(&m));
            if tcp_ready {
                continue;
            }
        }
        // One probe every 20 ms, however fast a failed one came back.
        std::thread::sleep(READY_POLL.saturating_sub(probe_started.elapsed()));
    }
    Ready::Yes
}

//----------- Knot DNS --------------------------------------------------------

/// Where `knotd` is, if installed.
pub(crate) fn knotd_path() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = vec!["/usr/sbin".into(), "/usr/local/sbin".into()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter()
        .map(|d| d.join("knotd"))
        .find(|p| p.is_file())
}

/// `knotd` serving some zone files on 127.0.0.1 in the foreground, killed
/// on drop.
pub(crate) struct KnotServer {
    /// The process (declared first: it is killed before the directory goes).
    process: Process,
    /// Where it listens.
    addr: SocketAddr,
    /// Configuration, run directory, storage and log.
    _dir: TempDir,
}

impl KnotServer {
    /// Writes a knot.conf for `zones` (origin without the final dot, file)
    /// and starts `knotd -c knot.conf`; waits until every zone answers.
    pub(crate) fn start(knotd: &Path, zones: &[(String, PathBuf)]) -> KnotServer {
        let dir = TempDir::new("knot");
        for attempt in 1..=START_TRIES {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let run = dir.path().join(format!("run{attempt}"));
            let storage = dir.path().join(format!("storage{attempt}"));
            std::fs::create_dir_all(&run).expect("create knot rundir");
            std::fs::create_dir_all(&storage).expect("create knot storage");
            let mut conf = String::new();
            let _ = write!(
                conf,
                "server:\n    rundir: \"{run}\"\n    listen: 127.0.0.1@{port}\n    \
                 udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n\
                 database:\n    storage: \"{storage}\"\n\
                 log:\n  - target: stderr\n    any: info\n\
                 template:\n  - id: default\n    storage: \"{storage}\"\n    \
                 journal-content: none\n    zonefile-sync: -1\n    zonefile-load: whole\n    \
                 semantic-checks: off\n\
                 zone:\n",
                run = run.display(),
                storage = storage.display(),
                port = addr.port(),
            );
            for (domain, file) in zones {
                let _ = write!(
                    conf,
                    "  - domain: \"{domain}.\"\n    file: \"{}\"\n",
                    file.display()
                );
            }
            let conf_path = dir.write(&format!("knot{attempt}.conf"), &conf);
            let log = dir.path().join(format!("knot{attempt}.log"));
            let mut cmd = Command::new(knotd);
            cmd.arg("-c").arg(&conf_path);
            let mut process = Process::spawn(cmd, "knotd", &log);
            let names: Vec<&str> = zones.iter().map(|(d, _)| d.as_str()).collect();
            match wait_ready(&mut process, addr, &names) {
                Ready::Yes => {
                    return KnotServer {
                        process,
                        addr,
                        _dir: dir,
                    };
                }
                Ready::Exited(status) if attempt < START_TRIES => {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    eprintln!("knotd exited ({status}), retrying on another port:\n{text}");
                }
                Ready::Exited(_) | Ready::TimedOut => {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    panic!("knotd did not answer every zone within {READY_TIMEOUT:?}:\n{text}");
                }
            }
        }
        unreachable!("the last attempt panics or returns")
    }

    /// The address it answers on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Makes it read its configuration and changed zone files again
    /// (SIGHUP).
    pub(crate) fn reload(&self) {
        self.process.signal("HUP");
    }

    /// Whether it is still running (for failure reports).
    pub(crate) fn is_running(&mut self) -> bool {
        self.process.try_wait().is_none()
    }
}

//----------- Queries ---------------------------------------------------------

/// EDNS settings of a query.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edns {
    /// Advertised UDP payload size.
    pub(crate) payload: u16,
    /// EDNS version.
    pub(crate) version: u8,
    /// The DO bit.
    pub(crate) dnssec_ok: bool,
    /// Ask for NSID.
    pub(crate) nsid: bool,
}

impl Edns {
    /// EDNS(0) with `payload`, no DO, no options.
    pub(crate) fn with_payload(payload: u16) -> Edns {
        Edns {
            payload,
            version: 0,
            dnssec_ok: false,
            nsid: false,
        }
    }
}

/// A query to build.
#[derive(Clone, Debug)]
pub(crate) struct Query {
    /// Message id.
    pub(crate) id: u16,
    /// QNAME in presentation format (absolute; a final dot is optional).
    pub(crate) name: String,
    /// QTYPE.
    pub(crate) qtype: Rtype,
    /// QCLASS.
    pub(crate) qclass: Class,
    /// OPT record, if any.
    pub(crate) edns: Option<Edns>,
    /// RD bit.
    pub(crate) rd: bool,
    /// Opcode (0 = QUERY).
    pub(crate) opcode: u8,
    /// Records of the answer section, in wire form (a NOTIFY's SOA, UPDATE
    /// prerequisites).
    pub(crate) answer: Vec<Vec<u8>>,
    /// Records of the authority section, in wire form (an IXFR's SOA,
    /// UPDATE updates).
    pub(crate) authority: Vec<Vec<u8>>,
    /// A deliberate defect, to see how a server answers a broken message.
    pub(crate) defect: Option<Defect>,
}

/// Ways to break a query message, each of which earns a FORMERR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Defect {
    /// QDCOUNT is 0: the question is left out.
    NoQuestion,
    /// ARCOUNT counts one record more than the message holds.
    MissingAdditional,
    /// NSCOUNT counts one record more than the authority section holds
    /// (so the additional section is read in its place).
    MissingAuthority,
    /// A second OPT record follows the first (RFC 6891 §6.1.1); only in a
    /// query with EDNS.
    SecondOpt,
    /// The OPT record's option list ends inside an option; only in a query
    /// with EDNS.
    BrokenOption,
}

impl Defect {
    /// A short name for reports.
    fn name(self) -> &'static str {
        match self {
            Defect::NoQuestion => "no-question",
            Defect::MissingAdditional => "missing-additional",
            Defect::MissingAuthority => "missing-authority",
            Defect::SecondOpt => "second-opt",
            Defect::BrokenOption => "broken-option",
        }
    }
}

/// One resource record in wire form, the owner uncompressed.
pub(crate) fn record(owner: &str, rtype: Rtype, class: Class, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let text = if owner.ends_with('.') {
        owner.to_owned()
    } else {
        format!("{owner}.")
    };
    let mut r = Name::from_text(&text, None)
        .unwrap_or_else(|e| panic!("bad owner {text:?}: {e}"))
        .as_wire()
        .to_vec();
    r.extend_from_slice(&rtype.0.to_be_bytes());
    r.extend_from_slice(&class.0.to_be_bytes());
    r.extend_from_slice(&ttl.to_be_bytes());
    r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    r.extend_from_slice(rdata);
    r
}

impl Query {
    /// A class IN, opcode QUERY query without EDNS and without RD.
    pub(crate) fn new(name: &str, qtype: Rtype) -> Query {
        static NEXT_ID: AtomicU32 = AtomicU32::new(1);
        Query {
            id: NEXT_ID.fetch_add(7919, Ordering::Relaxed) as u16,
            name: name.to_owned(),
            qtype,
            qclass: Class::IN,
            edns: None,
            rd: false,
            opcode: 0,
            answer: Vec::new(),
            authority: Vec::new(),
            defect: None,
        }
    }

    /// The same query with EDNS.
    pub(crate) fn edns(mut self, edns: Edns) -> Query {
        self.edns = Some(edns);
        self
    }

    /// The QNAME in wire form.
    pub(crate) fn qname_wire(&self) -> Vec<u8> {
        let text = if self.name.ends_with('.') {
            self.name.clone()
        } else {
            format!("{}.", self.name)
        };
        Name::from_text(&text, None)
            .unwrap_or_else(|e| panic!("bad query name {text:?}: {e}"))
            .as_wire()
            .to_vec()
    }

    /// The query message.
    pub(crate) fn to_wire(&self) -> Vec<u8> {
        let mut m = Vec::with_capacity(64);
        let flags: u16 =
            (u16::from(self.opcode & 0x0f) << 11) | if self.rd { Header::RD } else { 0 };
        let defect = |d: Defect| self.defect == Some(d);
        let qdcount = u16::from(!defect(Defect::NoQuestion));
        let ancount = self.answer.len() as u16;
        let nscount = self.authority.len() as u16 + u16::from(defect(Defect::MissingAuthority));
        let opts = u16::from(self.edns.is_some()) * (1 + u16::from(defect(Defect::SecondOpt)));
        let arcount = opts + u16::from(defect(Defect::MissingAdditional));
        m.extend_from_slice(&self.id.to_be_bytes());
        m.extend_from_slice(&flags.to_be_bytes());
        for count in [qdcount, ancount, nscount, arcount] {
            m.extend_from_slice(&count.to_be_bytes());
        }
        if qdcount == 1 {
            m.extend_from_slice(&self.qname_wire());
            m.extend_from_slice(&self.qtype.0.to_be_bytes());
            m.extend_from_slice(&self.qclass.0.to_be_bytes());
        }
        for r in self.answer.iter().chain(&self.authority) {
            m.extend_from_slice(r);
        }
        if let Some(e) = self.edns {
            push_opt(&mut m, e);
            if defect(Defect::BrokenOption) {
                // An option whose length runs past the OPT's RDATA: RDLENGTH
                // grows by 4 for a header announcing 8 bytes of data.
                let n = m.len();
                let rdlen = u16::from_be_bytes([m[n - 2], m[n - 1]]) + 4;
                m[n - 2..].copy_from_slice(&rdlen.to_be_bytes());
                m.extend_from_slice(&[0xfd, 0xe9, 0, 8]);
            }
            if defect(Defect::SecondOpt) {
                push_opt(&mut m, e);
            }
        }
        m
    }

    /// A one-line description for reports.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!("{} {} {}", self.name, self.qclass, self.qtype);
        if self.opcode != 0 {
            let _ = write!(s, " opcode={}", self.opcode);
        }
        for (section, records) in [("an", &self.answer), ("ns", &self.authority)] {
            if !records.is_empty() {
                let _ = write!(s, " +{section}={}", records.len());
            }
        }
        if let Some(d) = self.defect {
            let _ = write!(s, " +defect={}", d.name());
        }
        if self.rd {
            s.push_str(" +rd");
        }
        match self.edns {
            None => s.push_str(" +noedns"),
            Some(e) => {
                let _ = write!(s, " +edns={} +bufsize={}", e.version, e.payload);
                if e.dnssec_ok {
                    s.push_str(" +do");
                }
                if e.nsid {
                    s.push_str(" +nsid");
                }
            }
        }
        s
    }
}

/// The data of the first EDNS option with `code` in a response's OPT
/// record, if any.
pub(crate) fn edns_option(m: &Message, code: u16) -> Option<Vec<u8>> {
    let mut rest: &[u8] = &m.opt()?.rdata;
    while rest.len() >= 4 {
        let found = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + len)?;
        if found == code {
            return Some(value.to_vec());
        }
        rest = &rest[4 + len..];
    }
    None
}

/// Appends an OPT record to a message (the caller counts it in ARCOUNT).
pub(crate) fn push_opt(m: &mut Vec<u8>, e: Edns) {
    m.push(0);
    m.extend_from_slice(&Rtype::OPT.0.to_be_bytes());
    m.extend_from_slice(&e.payload.to_be_bytes());
    let ttl: u32 = (u32::from(e.version) << 16) | if e.dnssec_ok { 0x8000 } else { 0 };
    m.extend_from_slice(&ttl.to_be_bytes());
    if e.nsid {
        m.extend_from_slice(&4u16.to_be_bytes());
        m.extend_from_slice(&3u16.to_be_bytes());
        m.extend_from_slice(&0u16.to_be_bytes());
    } else {
        m.extend_from_slice(&0u16.to_be_bytes());
    }
}

//----------- Transports ------------------------------------------------------

/// Sends `msg` over UDP and waits up to `timeout` per try for a datagram
/// with the same id, trying `tries` times. `None` if nothing came.
pub(crate) fn udp_exchange(
    addr: SocketAddr,
    msg: &[u8],
    timeout: Duration,
    tries: usize,
) -> Option<Vec<u8>> {
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind client socket");
    sock.connect(addr).expect("connect client socket");
    let mut buf = vec![0u8; 65535];
    for _ in 0..tries {
        // A refused send (ICMP port unreachable) is like a lost packet.
        let _ = sock.send(msg);
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            sock.set_read_timeout(Some(left)).expect("set read timeout");
            match sock.recv(&mut buf) {
                Ok(n) if n >= 2 && msg.len() >= 2 && buf[..2] == msg[..2] => {
                    return Some(buf[..n].to_vec());
                }
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    std::thread::sleep(left.min(Duration::from_millis(5)));
                }
                Err(_) => break,
            }
        }
    }
    None
}

/// One UDP exchange with the normal timeout and retries.
pub(crate) fn udp(addr: SocketAddr, msg: &[u8]) -> Option<Vec<u8>> {
    udp_exchange(addr, msg, UDP_TIMEOUT, UDP_TRIES)
}

/// Connects over TCP with the usual timeouts set.
pub(crate) fn tcp_connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, TCP_TIMEOUT)?;
    stream.set_read_timeout(Some(TCP_TIMEOUT))?;
    stream.set_write_timeout(Some(TCP_TIMEOUT))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// The message with its two-byte length prefix (RFC 1035 §4.2.2).
pub(crate) fn frame(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + 2);
    out.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    out.extend_from_slice(msg);
    out
}

/// Reads one length-prefixed message.
pub(crate) fn read_framed(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut msg)?;
    Ok(msg)
}

/// One query on a new TCP connection.
pub(crate) fn tcp(addr: SocketAddr, msg: &[u8]) -> io::Result<Vec<u8>> {
    let mut stream = tcp_connect(addr)?;
    stream.write_all(&frame(msg))?;
    read_framed(&mut stream)
}

/// Sends a query (UDP or TCP) and decodes the response; `None` if there
/// was none. Panics on a response that does not decode.
pub(crate) fn ask(addr: SocketAddr, q: &Query, over_tcp: bool) -> Option<Message> {
    let wire = q.to_wire();
    let raw = if over_tcp {
        tcp(addr, &wire).ok()
    } else {
        udp(addr, &wire)
    };
    raw.map(|r| {
        decode_message(&r)
            .unwrap_or_else(|e| panic!("undecodable response to {}: {e}: {r:02x?}", q.describe()))
    })
}

//----------- Rendering -------------------------------------------------------

/// Response code name.
pub(crate) fn rcode_name(rcode: u16) -> String {
    candor_wire::Rcode(rcode).to_string()
}

/// The header flags as dig shows them.
pub(crate) fn flag_names(flags: u16) -> String {
    let mut out = Vec::new();
    for (bit, name) in [
        (Header::QR, "qr"),
        (Header::AA, "aa"),
        (Header::TC, "tc"),
        (Header::RD, "rd"),
        (Header::RA, "ra"),
        (Header::AD, "ad"),
        (Header::CD, "cd"),
    ] {
        if flags & bit != 0 {
            out.push(name);
        }
    }
    out.join(" ")
}

/// Renders a name inside RDATA starting at `pos`; returns text and the end.
fn rdata_name(rdata: &[u8], pos: usize) -> Option<(String, usize)> {
    let len = candor_wire::wire_name_len(rdata.get(pos..)?)?;
    let name = Name::from_wire(&rdata[pos..pos + len]).ok()?;
    Some((name.to_string(), pos + len))
}

/// RDATA in a readable form: names and addresses decoded where the type is
/// simple, RFC 3597 generic form otherwise.
pub(crate) fn render_rdata(rtype: Rtype, rdata: &[u8]) -> String {
    let generic = || {
        let hex: String = rdata.iter().map(|b| format!("{b:02x}")).collect();
        format!("\\# {} {hex}", rdata.len())
    };
    let text = match rtype {
        Rtype::A if rdata.len() == 4 => {
            Some(std::net::Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3]).to_string())
        }
        Rtype::AAAA if rdata.len() == 16 => {
            let b: [u8; 16] = rdata.try_into().unwrap_or([0; 16]);
            Some(std::net::Ipv6Addr::from(b).to_string())
        }
        Rtype::NS | Rtype::CNAME | Rtype::DNAME | Rtype::PTR => rdata_name(rdata, 0)
            .filter(|(_, end)| *end == rdata.len())
            .map(|(n, _)| n),
        Rtype::MX if rdata.len() > 2 => rdata_name(rdata, 2)
            .filter(|(_, end)| *end == rdata.len())
            .map(|(n, _)| format!("{} {n}", u16::from_be_bytes([rdata[0], rdata[1]]))),
        Rtype::SRV if rdata.len() > 6 => rdata_name(rdata, 6)
            .filter(|(_, end)| *end == rdata.len())
            .map(|(n, _)| {
                let w = |i: usize| u16::from_be_bytes([rdata[i], rdata[i + 1]]);
                format!("{} {} {} {n}", w(0), w(2), w(4))
            }),
        Rtype::SOA => rdata_name(rdata, 0).and_then(|(m, p)| {
            let (r, p) = rdata_name(rdata, p)?;
            let f = rdata.get(p..p + 20).filter(|_| p + 20 == rdata.len())?;
            let w = |i: usize| u32::from_be_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]]);
            Some(format!(
                "{m} {r} {} {} {} {} {}",
                w(0),
                w(4),
                w(8),
                w(12),
                w(16)
            ))
        }),
        Rtype::TXT => {
            let mut out = Vec::new();
            let mut pos = 0;
            while pos < rdata.len() {
                let len = usize::from(rdata[pos]);
                let Some(s) = rdata.get(pos + 1..pos + 1 + len) else {
                    break;
                };
                out.push(format!("\"{}\"", s.escape_ascii()));
                pos += 1 + len;
            }
            (pos == rdata.len()).then(|| out.join(" "))
        }
        _ => None,
    };
    text.unwrap_or_else(generic)
}

/// One record in presentation form.
pub(crate) fn render_record(r: &Record) -> String {
    if r.rtype == Rtype::OPT {
        return format!(
            "OPT udp={} ext-rcode={} version={} do={} options={}",
            r.class.0,
            r.ttl >> 24,
            (r.ttl >> 16) & 0xff,
            r.ttl & 0x8000 != 0,
            render_rdata(Rtype(0), &r.rdata)
        );
    }
    format!(
        "{} {} {} {} {}",
        r.owner,
        r.ttl,
        r.class,
        r.rtype,
        render_rdata(r.rtype, &r.rdata)
    )
}

/// A response in a compact dig-like form, one line per record, indented.
pub(crate) fn render_message(m: Option<&Message>) -> String {
    let Some(m) = m else {
        return "    (no response)\n".to_owned();
    };
    let mut out = format!(
        "    {} flags: {} | an={} ns={} ar={}\n",
        rcode_name(m.rcode()),
        flag_names(m.header.flags),
        m.answer.len(),
        m.authority.len(),
        m.additional.len()
    );
    for (name, qtype, qclass) in &m.questions {
        let _ = writeln!(out, "    QD {name} {qclass} {qtype}");
    }
    for (name, records) in [
        ("AN", &m.answer),
        ("NS", &m.authority),
        ("AR", &m.additional),
    ] {
        for r in records.iter() {
            let _ = writeln!(out, "    {name} {}", render_record(r));
        }
    }
    out
}
