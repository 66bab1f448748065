//! The `candor` binary: argument parsing, logging set-up and wiring.

#![forbid(unsafe_code)]

mod audit_cli;
mod backup;
mod catalog;
mod check;
mod cli;
mod config;
mod data;
mod dnssec_cli;
mod fleet;
mod guard;
mod keyroll;
mod observe;
mod parent_check;
mod resign;
mod secondary;
mod serve;
mod status;
mod status_cli;
mod top;
mod traffic;
mod xfr;
mod zone_health;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// The version `--version` prints: the crate's version and the commit.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CANDOR_COMMIT"), ")");

/// Candor: authoritative DNS that stays up under attack and tells the truth.
#[derive(Parser, Debug)]
#[command(name = "candor", version = VERSION, about)]
struct Cli {
    /// Configuration file (TOML; every key is a flag of `serve`, see
    /// `candor config example`) [default: $CANDOR_CONFIG, else
    /// /etc/candor/candor.toml if it exists]. Flags and CANDOR_*
    /// environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    command: Command,
    /// Log lines as text or as one JSON object per line (for log
    /// collectors); `CANDOR_LOG` filters them (default `info`).
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "CANDOR_LOG_FORMAT"
    )]
    log_format: observe::LogFormat,
}

/// Top-level commands.
#[derive(Subcommand, Debug)]
enum Command {
    /// Serve zones over UDP and TCP (foreground; stops on SIGTERM/SIGINT, reloads on SIGHUP).
    Serve(Box<ServeArgs>),
    /// Zones: check zone files, and list/create/delete/import/export stored zones.
    #[command(subcommand)]
    Zone(ZoneCommand),
    /// Records of stored zones: add, list, delete.
    #[command(subcommand)]
    Record(cli::RecordCommand),
    /// API tokens: create (secret shown once), list, revoke.
    #[command(subcommand)]
    Token(cli::TokenCommand),
    /// TSIG keys for zone transfers and NOTIFY: add (secret shown once), list, remove.
    #[command(subcommand)]
    Tsig(cli::TsigCommand),
    /// DNSSEC per zone: enable, disable, status (DS, CDS, CDNSKEY), export (signed zone file).
    #[command(subcommand)]
    Dnssec(dnssec_cli::DnssecCommand),
    /// Users of an account: create, add, remove, list.
    #[command(subcommand)]
    User(cli::UserCommand),
    /// Accounts (the operator's): create, list, suspend, unsuspend, delete.
    #[command(subcommand)]
    Account(cli::AccountCommand),
    /// Start a clean store for production: the operator's account and its
    /// first owner, whose API token is printed once.
    Init {
        /// The operator's e-mail address (account and first owner).
        #[arg(long)]
        email: String,
        #[command(flatten)]
        data: data::DataArgs,
    },
    /// The audit log: who changed what, when and from where (newest first).
    Audit(audit_cli::AuditArgs),
    /// The configuration file: check it, or print an example with every key.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// ALIAS resolution: switch refreshing on or off.
    #[command(subcommand)]
    Alias(cli::AliasCommand),
    /// Status page: incidents, maintenance, subscribers, components.
    #[command(subcommand)]
    Status(status_cli::StatusCommand),
    /// The zones receiving the most queries, their NXDOMAIN ratio, rate
    /// limiter actions and shed queries, and attacks in progress (from the
    /// running server's API; an operator's token).
    Top(top::TopArgs),
    /// Print shell completions for bash, zsh, fish, elvish or powershell.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Write man pages (candor.1 and one per subcommand) into DIR.
    Man {
        /// Where to write them.
        dir: PathBuf,
    },
    /// Copy the data directory's databases into DEST while `serve` runs.
    Backup {
        /// A new (or empty) directory for the copy.
        dest: PathBuf,
        #[command(flatten)]
        data: data::DataArgs,
    },
    /// Restore a backup into the data directory (which must hold no data,
    /// unless --force moves it aside).
    Restore {
        /// A directory written by `candor backup`.
        src: PathBuf,
        /// Move the data it replaces to DATA_DIR/before-restore-TIME
        /// (stop the server first).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        data: data::DataArgs,
    },
}

/// `candor config` subcommands.
#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Check the configuration file and CANDOR_* variables as `serve`
    /// would, and print the settings in effect with where each comes from
    /// (secrets redacted).
    Check,
    /// Print a configuration file with every key, its help and its
    /// default (commented out).
    Example,
}

/// `candor serve` options.
#[derive(Args, Debug)]
struct ServeArgs {
    /// Directory of `<origin>.zone` files (origin = file name without
    /// `.zone`), served read-only. Without it, zones come from the store.
    #[arg(long, value_name = "DIR")]
    zones: Option<PathBuf>,
    /// The embedded store (used when --zones is absent or --data-dir is given).
    #[command(flatten)]
    data: data::DataArgs,
    /// Address of the REST API (DNSimple API v2 shaped), when serving the store.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8053")]
    api_listen: SocketAddr,
    /// Address to serve Prometheus metrics on (`GET /metrics`, with
    /// `/healthz` and `/readyz`), without authentication: keep it on
    /// loopback or an internal network. Off unless given.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<SocketAddr>,
    /// Address of the HTTP redirector for URL records, when serving the store.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    redirect_listen: SocketAddr,
    /// ALIAS answers are kept at least this many seconds before refreshing.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    alias_ttl_floor: u64,
    /// ALIAS answers are refreshed at least this often (seconds).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    alias_ttl_ceiling: u64,
    /// An ALIAS answer is served this long after its upstream stopped answering.
    #[arg(long, value_name = "SECONDS", default_value_t = 86400)]
    alias_max_stale: u64,
    /// Wait this long for an upstream answer.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    alias_timeout_ms: u64,
    /// Most ALIAS lookups at once.
    #[arg(long, value_name = "N", default_value_t = 64)]
    alias_max_concurrent: usize,
    /// Most ALIAS lookups started per second.
    #[arg(long, value_name = "N", default_value_t = 500)]
    alias_max_per_second: u32,
    /// API requests allowed per token per hour (X-RateLimit-Limit).
    #[arg(long, value_name = "N", default_value_t = 2400)]
    api_rate_limit: u32,
    /// Address to answer on, UDP and TCP (repeat for several, IPv4 or IPv6).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5300")]
    listen: Vec<SocketAddr>,
    /// UDP worker threads per address (default: one per core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Threads that sign a DNSSEC zone when it is compiled (default: one
    /// per core). Only zones with DNSSEC enabled are signed.
    #[arg(long, value_name = "N")]
    dnssec_signing_threads: Option<std::num::NonZeroUsize>,
    /// Receive coalescing: while a UDP worker is busy (working more than
    /// half its time), after a partly filled batch it waits this many
    /// microseconds for more packets before receiving again; fewer wake-ups
    /// per query under heavy load, no added latency at light load. 0 turns
    /// it off.
    #[arg(long, value_name = "US", default_value_t = 50)]
    udp_coalesce_us: u64,
    /// Kernel receive buffer per UDP socket, in bytes (SO_RCVBUF; the kernel
    /// grants twice this, capped by net.core.rmem_max). It bounds how much
    /// queue, and so latency, a flood can build in front of a worker (the
    /// default: about 0.8 ms at 350k qps), and how long a worker can be off
    /// its core without losing a query (about 5 ms at 50k qps).
    #[arg(long, value_name = "BYTES", default_value_t = 128 * 1024)]
    udp_recv_buffer: usize,
    /// Largest UDP response, whatever the client offers (512..=4096).
    #[arg(long, value_name = "BYTES", default_value_t = 1232)]
    max_udp_payload: u16,
    /// Name server identifier returned to clients that ask for NSID (RFC 5001).
    #[arg(long, value_name = "TEXT")]
    nsid: Option<String>,
    /// This name server's region (`ams`, `sv1`, ...): it serves the store's
    /// global records and those whose `regions` list this label (regional
    /// records, docs/regions.md). Without it, the global records only. A
    /// secondary (--secondary) serves its zones' records for this region
    /// too, as a Candor primary sends them. A server with a region cannot
    /// feed secondaries (--xfr-allow, --notify, --catalog).
    #[arg(long, value_name = "LABEL", value_parser = region_label)]
    region: Option<String>,
    /// The status page and its monitors (run when the store is served).
    #[command(flatten)]
    status: status::StatusArgs,
    /// DNSSEC key rollovers (docs/dnssec.md, "Rollovers").
    #[command(flatten)]
    keyroll: keyroll::KeyrollArgs,
    /// Start without the demo account, zone and token that a new store
    /// otherwise gets (production; create the operator's account with
    /// `candor init --email ...`).
    #[arg(long)]
    no_demo: bool,
    /// For benchmarks: names in a zone's overlay at which the background
    /// compaction starts, of stored and secondary zones alike (0: never,
    /// as before it existed; see docs/incremental.md).
    #[arg(long, value_name = "NAMES", hide = true, default_value_t = candor_store::COMPACT_OVERLAY_NAMES)]
    compact_overlay_names: usize,
    /// Close a TCP connection when no complete query arrived this many
    /// seconds after its last response (decimals allowed). Trickled bytes
    /// do not restart it; over half the cap it shrinks to a tenth.
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = seconds)]
    tcp_idle_timeout: Duration,
    /// A TCP query must arrive completely within this many seconds of its
    /// first byte, and a response must be taken within as long (decimals
    /// allowed).
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = seconds)]
    tcp_query_timeout: Duration,
    /// Most TCP connections open at once, over all addresses (default:
    /// 32768, or what the file-descriptor limit allows). At the cap the
    /// oldest idle connection is closed to make room.
    #[arg(long, value_name = "N")]
    tcp_max_connections: Option<usize>,
    /// Most TCP connections open at once from one IPv4 address or IPv6 /64;
    /// over it the source's oldest idle connection is closed, or the new
    /// one if none is idle.
    #[arg(long, value_name = "N", default_value_t = 64)]
    tcp_max_per_source: usize,
    /// Response rate limiting and DNS cookies.
    #[command(flatten)]
    guard: guard::GuardArgs,
    /// Zone transfers out and NOTIFY.
    #[command(flatten)]
    xfr: XfrArgs,
    /// The secondaries' lag.
    #[command(flatten)]
    fleet: fleet::FleetArgs,
    /// Certificate chain (PEM, the server's certificate first) for HTTPS
    /// on the API and the status page, with --tls-key. Read again on
    /// SIGHUP; a file that does not load then keeps the one in use.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Per-zone accounting, fair-share shedding and attack notices.
    #[command(flatten)]
    traffic: traffic::TrafficArgs,
}

/// `candor serve` options for secondaries (zone transfers out, NOTIFY).
#[derive(Args, Debug)]
struct XfrArgs {
    /// Allow zone transfers (AXFR, IXFR) from this IPv4 or IPv6 prefix
    /// (`192.0.2.0/24`, `2001:db8::/32`, an address), or only when signed
    /// with a TSIG key (`PREFIX@KEYNAME`, see `candor tsig`). Repeat for
    /// several. Without any, every transfer is refused.
    #[arg(long = "xfr-allow", value_name = "PREFIX[@KEY]")]
    allow: Vec<candor_xfr::Rule>,
    /// Send NOTIFY to this secondary on every change of a zone, signed
    /// with a TSIG key if one is named: `ADDR[:PORT][@KEYNAME]` (port 53
    /// unless given). Repeat for several.
    #[arg(long = "notify", value_name = "ADDR[@KEY]")]
    notify: Vec<candor_xfr::Target>,
    /// Most zone transfers sent at once; others wait up to 10 seconds.
    #[arg(long = "xfr-max-concurrent", value_name = "N", default_value_t = 8)]
    max_concurrent: usize,
    /// Versions of each zone kept in memory for IXFR; a secondary further
    /// behind gets the whole zone.
    #[arg(long = "ixfr-history", value_name = "N", default_value_t = 20)]
    ixfr_history: usize,
    /// Publish a catalog zone (RFC 9432, schema version 2) of this name
    /// listing every served zone (e.g. `catalog.invalid`), so Knot or BIND
    /// secondaries of it add and remove member zones by themselves. It is
    /// transferred and NOTIFYed like any zone (`--xfr-allow`, `--notify`).
    #[arg(long = "catalog", value_name = "NAME", value_parser = zone_name)]
    catalog: Option<candor_wire::Name>,
    /// Be a secondary of ZONE: transfer it from PRIMARY (`ADDR[:PORT]`,
    /// port 53 unless given), signing with TSIG key KEY if named (see
    /// `candor tsig`), and accept NOTIFY for it only from there (signed
    /// with KEY). Repeat for more zones, or for more primaries of a zone
    /// (tried in order). What is received is kept in DATA_DIR/secondary/
    /// and served after a restart until the SOA expire passes.
    #[arg(long = "secondary", value_name = "ZONE@PRIMARY[@KEY]")]
    secondary: Vec<candor_xfr::secondary::Upstream>,
    /// Be a secondary of every zone the catalog zone CATALOG (RFC 9432)
    /// of PRIMARY lists, as with `--secondary` for each: zones added to
    /// the catalog are transferred, zones removed from it stop being
    /// served. The catalog itself is transferred but not served.
    #[arg(long = "secondary-catalog", value_name = "CATALOG@PRIMARY[@KEY]")]
    secondary_catalog: Vec<candor_xfr::secondary::Upstream>,
}

/// Parses an absolute zone name (a trailing dot is optional), lower-cased.
fn zone_name(text: &str) -> Result<candor_wire::Name, String> {
    let absolute = match text.ends_with('.') {
        true => text.to_owned(),
        false => format!("{text}."),
    };
    match candor_wire::Name::from_text(&absolute, None) {
        Ok(name) if !name.is_root() => Ok(name.to_lowercase()),
        Ok(_) => Err("the root cannot be used here".to_owned()),
        Err(e) => Err(format!("{text:?} is not a zone name: {e}")),
    }
}

/// Parses a region label (`--region`), lower-cased.
fn region_label(text: &str) -> Result<String, String> {
    let label = text.to_ascii_lowercase();
    if label == "global" {
        return Err("\"global\" is every server's view: leave --region out".to_owned());
    }
    if candor_store::is_region_label(&label) {
        Ok(label)
    } else {
        Err(format!(
            "{text:?} is not a region label (letters, digits and hyphens, at most 20, not \
             starting or ending with a hyphen)"
        ))
    }
}

/// Parses a positive number of seconds, decimals allowed (`0.5`).
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(value > 0.0 && value <= 86_400.0) {
        return Err(format!("{text} must be more than 0 and at most 86400"));
    }
    Ok(Duration::from_secs_f64(value))
}

/// `candor zone` subcommands.
#[derive(Subcommand, Debug)]
enum ZoneCommand {
    /// Check a zone file for every way it can reach Candor (`serve --zones`,
    /// `zone import`, the API) and report every problem as `file:line: message`.
    Check {
        /// The zone file.
        file: PathBuf,
        /// Zone origin (default: the file name without `.zone`).
        #[arg(long)]
        origin: Option<String>,
        /// Check only these ways (repeat; default: all of them).
        #[arg(long = "for", value_enum, value_name = "WAY")]
        ways: Vec<check::Way>,
    },
    /// Stored zones.
    #[command(flatten)]
    Store(cli::StoreZoneCommand),
}

/// Writes `candor.1` and a page per subcommand (`candor-zone-import.1`,
/// ...) into `dir`, from the same definitions `--help` uses.
fn man_pages(dir: &std::path::Path) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut written = 0;
    let mut stack = vec![(cmd.clone().name("candor"), "candor".to_owned())];
    while let Some((cmd, name)) = stack.pop() {
        for sub in cmd.get_subcommands() {
            if sub.get_name() != "help" {
                stack.push((sub.clone(), format!("{name}-{}", sub.get_name())));
            }
        }
        let path = dir.join(format!("{name}.1"));
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd.clone().name(name.clone()))
            .render(&mut out)
            .with_context(|| format!("cannot render {name}"))?;
        std::fs::write(&path, out).with_context(|| format!("cannot write {}", path.display()))?;
        written += 1;
    }
    eprintln!("wrote {written} man pages to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// Runs `candor config check|example`.
fn config_command(
    cmd: &ConfigCommand,
    definition: &clap::Command,
    layer: &config::Layer,
) -> anyhow::Result<ExitCode> {
    use clap::FromArgMatches;
    let text = match cmd {
        ConfigCommand::Example => config::example(definition),
        ConfigCommand::Check => {
            let (text, matches) = config::effective(definition, layer)?;
            let args = ServeArgs::from_arg_matches(&matches)
                .map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
            serve::preflight(&args)?;
            eprintln!("candor: the configuration is valid");
            text
        }
    };
    std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot write to stdout: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    use clap::{CommandFactory, FromArgMatches};
    // The configuration file and CANDOR_* variables become the flags'
    // defaults, so flags override them (see `config`).
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let definition = Cli::command();
    let layer = match config::load(&definition, &argv, &|name| std::env::var_os(name)) {
        Ok(layer) => layer,
        Err(e) => {
            eprintln!("candor: {e:#}");
            return ExitCode::from(2);
        }
    };
    let matches = layer.apply(definition.clone()).get_matches_from(&argv);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    observe::init_logging(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args),
        Command::Zone(ZoneCommand::Check { file, origin, ways }) => {
            check::run(&file, origin.as_deref(), &ways)
        }
        Command::Zone(ZoneCommand::Store(cmd)) => cli::zone(cmd),
        Command::Record(cmd) => cli::record(cmd),
        Command::Token(cmd) => cli::token(cmd),
        Command::Tsig(cmd) => cli::tsig(cmd),
        Command::Dnssec(cmd) => dnssec_cli::run(cmd),
        Command::User(cmd) => cli::user(cmd),
        Command::Account(cmd) => cli::account(cmd),
        Command::Init { email, data } => cli::init(&email, &data),
        Command::Config(cmd) => config_command(&cmd, &definition, &layer),
        Command::Alias(cmd) => cli::alias(cmd),
        Command::Audit(args) => audit_cli::run(&args),
        Command::Status(cmd) => status_cli::run(cmd),
        Command::Top(args) => top::run(&args),
        Command::Backup { dest, data } => backup::backup(&data, &dest),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut cmd, "candor", &mut out);
            std::io::Write::write_all(&mut std::io::stdout(), &out)
                .map(|()| ExitCode::SUCCESS)
                .map_err(|e| anyhow::anyhow!("cannot write the completions: {e}"))
        }
        Command::Man { dir } => man_pages(&dir),
        Command::Restore { src, force, data } => backup::restore(&data, &src, force),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("candor: {e:#}");
            ExitCode::FAILURE
        }
    }
}
