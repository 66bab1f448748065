//! Running Candor as an operator, through the real binary: the
//! configuration file and `CANDOR_*` variables (shared by `serve` and the
//! CLI, checked with file and line), a clean production start (`serve
//! --no-demo`, `init`), the account commands end to end, a taken port
//! refused before anything is created, private permissions, and stop time.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use candor_wire::Rtype;

use crate::http::{json_field, request};
use crate::support::{Candor, Query, TempDir, ask, free_port, render_record};

/// Runs the binary with `args` and extra environment variables.
fn candor(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_candor"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("CANDOR_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run candor")
}

/// Standard output of a run that must succeed.
fn ok(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = candor(args, env);
    assert!(
        out.status.success(),
        "candor {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error of a run that must fail.
fn fails(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = candor(args, env);
    assert!(
        !out.status.success(),
        "candor {args:?} succeeded:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The records of the answer to `name type`, as text.
fn answer(addr: SocketAddr, name: &str, rtype: Rtype) -> Vec<String> {
    let m = ask(addr, &Query::new(name, rtype), false).expect("an answer");
    m.answer.iter().map(render_record).collect()
}

/// A configuration file sets the data directory, name servers and
/// hostmaster for `init`, `zone create` and `serve` alike, without a flag;
/// a `CANDOR_*` variable overrides the file, a flag overrides both, and
/// `config check` shows each value with where it came from.
#[test]
fn the_configuration_file_reaches_serve_and_every_cli_command() {
    let dir = TempDir::new("config");
    let data = dir.path().join("data");
    let file = dir.write(
        "candor.toml",
        &format!(
            "# Candor\ndata-dir = \"{}\"\nnameserver = [\"ns1.example.net\", \"ns2.example.net\"]\n\
             hostmaster = \"hostmaster.example.net\"\nno-demo = true\nrrl-rate = 100\n",
            data.display()
        ),
    );
    let file = file.to_str().expect("utf-8");
    let token = ok(
        &["init", "--email", "ops@example.org", "--config", file],
        &[],
    );
    assert!(
        data.join("candor.db").exists(),
        "init used the file's data-dir"
    );
    ok(&["zone", "create", "example.org", "--config", file], &[]);
    ok(
        &["zone", "create", "example.net"],
        &[
            ("CANDOR_CONFIG", file),
            ("CANDOR_HOSTMASTER", "dns.example.net"),
        ],
    );
    ok(
        &[
            "zone",
            "create",
            "example.com",
            "--config",
            file,
            "--hostmaster",
            "flag.example.com",
        ],
        &[("CANDOR_HOSTMASTER", "dns.example.net")],
    );

    let check = ok(
        &["config", "check", "--config", file],
        &[("CANDOR_RRL_SLIP", "3")],
    );
    assert!(
        check.contains(&format!("rrl-rate = 100   # {file}:6")),
        "{check}"
    );
    assert!(
        check.contains("rrl-slip = 3   # CANDOR_RRL_SLIP"),
        "{check}"
    );
    assert!(check.contains("rrl-window = 15   # default"), "{check}");
    assert!(
        check.contains(&format!(
            "nameserver = [\"ns1.example.net\", \"ns2.example.net\"]   # {file}:3"
        )),
        "{check}"
    );

    let server = Candor::start_with(&["--config".to_owned(), file.to_owned()], "example.org.");
    assert!(
        !server.log().contains("API token (shown once"),
        "no-demo from the file was ignored:\n{}",
        server.log()
    );
    let ns = answer(server.addr(), "example.org.", Rtype::NS);
    assert!(
        ns.iter().any(|r| r.ends_with("NS ns1.example.net.")),
        "{ns:?}"
    );
    assert!(
        ns.iter().any(|r| r.ends_with("NS ns2.example.net.")),
        "{ns:?}"
    );
    let soa = |zone: &str| answer(server.addr(), zone, Rtype::SOA).join("\n");
    assert!(
        soa("example.org.").contains(" hostmaster.example.net. "),
        "{}",
        soa("example.org.")
    );
    assert!(
        soa("example.net.").contains(" dns.example.net. "),
        "{}",
        soa("example.net.")
    );
    assert!(
        soa("example.com.").contains(" flag.example.com. "),
        "{}",
        soa("example.com.")
    );
    // The token init printed works on the server the file configured.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(server.listeners().api).is_err() {
        assert!(Instant::now() < deadline, "the API did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let whoami = request(
        server.listeners().api,
        "GET",
        "/v2/whoami",
        Some(token.trim()),
        None,
    );
    assert_eq!(whoami.status, 200, "{}", whoami.body);
}

/// A bad configuration file or variable stops every command before it does
/// anything, naming the file, line and key (or the variable).
#[test]
fn configuration_errors_name_the_file_line_and_key() {
    let dir = TempDir::new("config-bad");
    let data = dir.path().join("data");
    let file = dir.write(
        "candor.toml",
        "rrl-rate = 100\nlisen = \"127.0.0.1:5300\"\n",
    );
    let file = file.to_str().expect("utf-8");
    let data_arg = data.to_str().expect("utf-8");
    for args in [
        vec!["serve", "--config", file, "--data-dir", data_arg],
        vec!["config", "check", "--config", file],
        vec!["zone", "list", "--config", file, "--data-dir", data_arg],
    ] {
        let err = fails(&args, &[]);
        assert!(
            err.starts_with(&format!("candor: {file}:2: unknown key `lisen`")),
            "{args:?}: {err}"
        );
    }
    assert!(!data.exists(), "a refused start created the data directory");
    let bad_value = dir.write("value.toml", "\n\ntcp-idle-timeout = -1\n");
    let err = fails(
        &[
            "config",
            "check",
            "--config",
            bad_value.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(
        err.contains("value.toml:3: tcp-idle-timeout: invalid value '-1'"),
        "{err}"
    );
    let err = fails(&["config", "check"], &[("CANDOR_RRL_RATE", "lots")]);
    assert!(
        err.starts_with("candor: CANDOR_RRL_RATE: rrl-rate: invalid value 'lots'"),
        "{err}"
    );
    let err = fails(
        &["config", "check", "--config", "/nonexistent/candor.toml"],
        &[],
    );
    assert!(
        err.contains("cannot read the configuration file /nonexistent/candor.toml"),
        "{err}"
    );
}

/// `config check` redacts secrets, runs serve's own checks (TLS files
/// included), and its output is a configuration file that reads back.
#[test]
fn config_check_redacts_secrets_and_reads_back() {
    let dir = TempDir::new("config-check");
    let file = dir.write(
        "candor.toml",
        "smtp-relay = \"smtp.example.net:587\"\nsmtp-password = \"hunter2\"\nlisten = [\"127.0.0.1:5300\", \"[::1]:5300\"]\n",
    );
    let out = ok(
        &["config", "check", "--config", file.to_str().expect("utf-8")],
        &[],
    );
    assert!(out.contains("smtp-password = \"<redacted>\""), "{out}");
    assert!(!out.contains("hunter2"), "{out}");
    let again = dir.write("again.toml", &out.replace("<redacted>", "x"));
    let twice = ok(
        &[
            "config",
            "check",
            "--config",
            again.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert!(
        twice.contains("listen = [\"127.0.0.1:5300\", \"[::1]:5300\"]"),
        "{twice}"
    );
    let tls = dir.write(
        "tls.toml",
        "tls-cert = \"/nonexistent/cert.pem\"\ntls-key = \"/nonexistent/key.pem\"\n",
    );
    let err = fails(
        &["config", "check", "--config", tls.to_str().expect("utf-8")],
        &[],
    );
    assert!(
        err.contains(
            "cannot load the TLS certificate (--tls-cert, --tls-key): /nonexistent/cert.pem"
        ),
        "{err}"
    );
    let half = dir.write("half.toml", "tls-cert = \"/nonexistent/cert.pem\"\n");
    let err = fails(
        &["config", "check", "--config", half.to_str().expect("utf-8")],
        &[],
    );
    assert!(err.contains("--tls-cert needs --tls-key"), "{err}");
    // The example lists every key and, as shipped, is accepted.
    let example = ok(&["config", "example"], &[]);
    let shipped = dir.write("example.toml", &example);
    ok(
        &[
            "config",
            "check",
            "--config",
            shipped.to_str().expect("utf-8"),
        ],
        &[],
    );
}

/// A production start: `serve --no-demo` creates no account, zone or
/// token; `init` makes the operator's account and prints its token once;
/// the operator creates, lists, suspends, reactivates and deletes a
/// customer's account with the CLI while the server runs, and the API
/// follows each step.
#[test]
fn a_clean_start_and_the_account_lifecycle() {
    let dir = TempDir::new("accounts");
    let zones = dir.path().join("zones");
    std::fs::create_dir_all(&zones).expect("zones dir");
    std::fs::write(
        zones.join("files.test.zone"),
        "$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.1\n",
    )
    .expect("zone file");
    let data = dir.path().join("data");
    let data_arg = data.to_str().expect("utf-8");
    let server = Candor::start_with(
        &[
            "--zones".to_owned(),
            zones.display().to_string(),
            "--data-dir".to_owned(),
            data_arg.to_owned(),
            "--no-demo".to_owned(),
        ],
        "files.test.",
    );
    let api = server.listeners().api;
    assert!(!server.log().contains("API token"), "{}", server.log());
    assert_eq!(ok(&["account", "list", "--data-dir", data_arg], &[]), "");
    let err = fails(&["zone", "list", "--data-dir", data_arg], &[]);
    assert!(
        err.contains("the store has no account yet: run `candor init"),
        "{err}"
    );

    let operator = ok(
        &["init", "--email", "ops@example.org", "--data-dir", data_arg],
        &[],
    );
    let operator = operator.trim();
    let err = fails(
        &[
            "init",
            "--email",
            "again@example.org",
            "--data-dir",
            data_arg,
        ],
        &[],
    );
    assert!(err.contains("already has accounts"), "{err}");
    let who = request(api, "GET", "/v2/whoami", Some(operator), None);
    assert_eq!(who.status, 200, "{}", who.body);
    assert!(who.body.contains("ops@example.org"), "{}", who.body);

    let id = ok(
        &[
            "account",
            "create",
            "customer@example.net",
            "--data-dir",
            data_arg,
        ],
        &[],
    );
    assert_eq!(id.trim(), "2");
    let customer = ok(
        &[
            "token",
            "create",
            "--name",
            "ci",
            "--account",
            "2",
            "--data-dir",
            data_arg,
        ],
        &[],
    );
    let customer = customer.trim();
    let created = request(
        api,
        "POST",
        "/v2/2/domains",
        Some(customer),
        Some(r#"{"name":"customer.test"}"#),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(
        ok(&["account", "list", "--data-dir", data_arg], &[]),
        "1\tops@example.org\toperator\n2\tcustomer@example.net\tactive\n"
    );

    ok(&["account", "suspend", "2", "--data-dir", data_arg], &[]);
    let list = ok(&["account", "list", "--data-dir", data_arg], &[]);
    assert!(
        list.contains("2\tcustomer@example.net\tsuspended "),
        "{list}"
    );
    let record = r#"{"name":"www","type":"A","content":"192.0.2.7","ttl":300}"#;
    let path = "/v2/2/zones/customer.test/records";
    let refused = request(api, "POST", path, Some(customer), Some(record));
    assert_eq!(
        refused.status, 403,
        "a suspended account wrote: {}",
        refused.body
    );
    assert_eq!(
        request(api, "GET", path, Some(customer), None).status,
        200,
        "reads still work"
    );
    let err = fails(&["account", "suspend", "1", "--data-dir", data_arg], &[]);
    assert!(err.contains("operator"), "{err}");

    ok(&["account", "unsuspend", "2", "--data-dir", data_arg], &[]);
    let written = request(api, "POST", path, Some(customer), Some(record));
    assert_eq!(written.status, 201, "{}", written.body);
    assert_eq!(
        json_field(&written.body, "content").as_deref(),
        Some("192.0.2.7")
    );

    ok(&["account", "delete", "2", "--data-dir", data_arg], &[]);
    assert_eq!(
        ok(&["account", "list", "--data-dir", data_arg], &[]),
        "1\tops@example.org\toperator\n"
    );
    assert_eq!(
        request(api, "GET", "/v2/whoami", Some(customer), None).status,
        401
    );
    // Deleted zones stop being served within a second or so.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = ask(
            server.addr(),
            &Query::new("customer.test.", Rtype::SOA),
            false,
        )
        .expect("answer");
        if m.rcode() == 5 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "customer.test still served after deletion"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A port that is taken fails the start at once, naming the flag to
/// change, before any data directory, database or token exists.
#[test]
fn a_taken_port_names_its_flag_and_creates_nothing() {
    let dir = TempDir::new("taken");
    let data = dir.path().join("data");
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let taken = holder.local_addr().expect("addr").to_string();
    let free = |n: usize| -> Vec<String> {
        (0..n)
            .map(|_| format!("127.0.0.1:{}", free_port()))
            .collect()
    };
    let [dns, api, status, redirect]: [String; 4] = free(4).try_into().expect("four");
    for (flag, args) in [
        ("--api-listen", [&dns, &taken, &status, &redirect]),
        ("--status-listen", [&dns, &api, &taken, &redirect]),
        ("--redirect-listen", [&dns, &api, &status, &taken]),
        ("--listen", [&taken, &api, &status, &redirect]),
    ] {
        let started = Instant::now();
        let out = candor(
            &[
                "serve",
                "--data-dir",
                data.to_str().expect("utf-8"),
                "--listen",
                args[0],
                "--api-listen",
                args[1],
                "--status-listen",
                args[2],
                "--redirect-listen",
                args[3],
            ],
            &[],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{flag}: started on a taken port");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{flag}: slow to fail"
        );
        assert!(
            err.contains(&format!("cannot listen on tcp {taken} ({flag})"))
                && err.contains(&format!("change {flag}")),
            "{flag}: {err}"
        );
        assert!(
            !err.contains("API token"),
            "{flag}: a token was printed: {err}"
        );
        assert!(!data.exists(), "{flag}: the data directory was created");
    }
    // Two listeners on one address are refused the same way.
    let err = String::from_utf8_lossy(
        &candor(
            &[
                "serve",
                "--data-dir",
                data.to_str().expect("utf-8"),
                "--listen",
                &dns,
                "--api-listen",
                &api,
                "--status-listen",
                &api,
                "--redirect-listen",
                &redirect,
            ],
            &[],
        )
        .stderr,
    )
    .into_owned();
    assert!(err.contains(&format!("({})", "--status-listen")), "{err}");
    assert!(!data.exists());
    drop(holder);
}

/// The data directory `serve` creates, the store and the status database
/// (with SQLite's side files) are private to the owner; a store made
/// before this rule is made private at the next start.
#[test]
fn the_data_directory_and_databases_are_private() {
    let dir = TempDir::new("private");
    let data = dir.path().join("nested").join("data");
    let server = crate::store::host(&data, None);
    let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700, "data directory");
    let mut checked = 0;
    for entry in std::fs::read_dir(&data).expect("list") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.starts_with("candor.db") || name.starts_with("status.db") {
            assert_eq!(mode(&path), 0o600, "{name}");
            checked += 1;
        }
    }
    assert!(checked >= 4, "only {checked} database files");
    drop(server);
    // An older store with an open mode is made private on the next start.
    std::fs::set_permissions(
        data.join("candor.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let _again = crate::store::host(&data, Some("unused"));
    assert_eq!(mode(&data.join("candor.db")), 0o600);
}

/// `serve` with the store, the API, the status page and the redirector
/// stops on SIGTERM in well under the 5 s it used to take (the figure is
/// printed; the bound is loose so a loaded machine does not fail it).
#[test]
fn a_store_server_stops_promptly() {
    let dir = TempDir::new("stop");
    let mut h = crate::store::host(dir.path(), None);
    // An idle keep-alive HTTP connection must not hold the stop up.
    let _idle = std::net::TcpStream::connect(h.api).expect("connect");
    let started = Instant::now();
    h.candor.process().signal("TERM");
    let status = h.candor.process().wait_timeout(Duration::from_secs(10));
    let took = started.elapsed();
    eprintln!("stop took {} ms", took.as_millis());
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}\n{}",
        h.candor.log()
    );
    assert!(
        took < Duration::from_secs(2),
        "stop took {took:?}\n{}",
        h.candor.log()
    );
}

/// The ```sh block of the README that starts with `first`.
fn readme_block(first: &str) -> String {
    let readme = include_str!("../../../../README.md");
    readme
        .split("```sh\n")
        .skip(1)
        .filter_map(|b| b.split_once("\n```").map(|(block, _)| block))
        .find(|b| b.starts_with(first))
        .unwrap_or_else(|| panic!("no README block starts with {first:?}"))
        .to_owned()
}

/// The README's first steps (query the demo zone, the API, a change
/// served at once, the status page), its accounts block and its status
/// page CLI block run as
/// written against a server started with the defaults, in the directory it
/// started in; only the ports differ (tests never take the default ones).
#[test]
fn readme_examples_run_as_written() {
    let dir = TempDir::new("readme");
    let h = crate::store::host(&dir.path().join("candor-data"), None);
    let listeners = h.candor.listeners();
    let dns_port = h.candor.addr().port().to_string();
    let bin = Path::new(env!("CARGO_BIN_EXE_candor"))
        .parent()
        .expect("bin dir")
        .to_owned();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let localize = |block: &str| {
        block
            .replace("127.0.0.1:8053", &listeners.api.to_string())
            .replace("127.0.0.1:8054", &listeners.status.to_string())
            .replace("-p 5300", &format!("-p {dns_port}"))
            .replace(
                "TOKEN=...   # the token printed at the first start",
                &format!("TOKEN={}", h.token),
            )
    };
    let first = localize(&readme_block("kdig @127.0.0.1 -p 5300 www.example.com A"));
    let status = localize(&readme_block("curl -s -H \"Authorization: Bearer $TOKEN\""));
    let accounts = readme_block("ID=$(candor account create customer@example.org)");
    for (what, script) in [
        ("first steps", first),
        ("accounts CLI", accounts),
        ("status page CLI", format!("TOKEN={}\n{status}", h.token)),
    ] {
        let out = Command::new("bash")
            .args(["-eu", "-c", &script])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env_remove("CANDOR_CONFIG")
            .env_remove("CANDOR_DATA_DIR")
            .output()
            .expect("run bash");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "the README's {what} failed:\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        if what == "first steps" {
            assert!(stdout.contains("192.0.2.44"), "{stdout}");
            assert!(
                stdout.contains("<html") || stdout.contains("<!DOCTYPE"),
                "{stdout}"
            );
        }
    }
}
