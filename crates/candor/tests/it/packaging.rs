//! What packaging relies on: the systemd unit is valid, `--version` names
//! the build, man pages and completions come from the CLI definition.

use std::process::Command;

use crate::support::TempDir;

/// Runs the binary with `args`; returns (success, stdout, stderr).
fn candor(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_candor"))
        .args(args)
        .output()
        .expect("run candor");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_systemd_unit_verifies_cleanly() {
    let Ok(analyze) = which("systemd-analyze") else {
        eprintln!("packaging: systemd-analyze is not installed; the unit is not verified");
        return;
    };
    let dir = TempDir::new("candor-unit");
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../packaging/candor.service"
    ))
    .expect("packaging/candor.service");
    assert!(unit.contains("AmbientCapabilities=CAP_NET_BIND_SERVICE"));
    assert!(unit.contains("ProtectSystem=strict"));
    assert!(unit.contains("StateDirectory=candor"));
    // The unit names the installed path; verify it against this build.
    let path = dir.write(
        "candor.service",
        &unit.replace("/usr/local/bin/candor", env!("CARGO_BIN_EXE_candor")),
    );
    let out = Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
}

/// The path of a program on PATH.
fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(program))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

#[test]
fn version_man_pages_and_completions_come_from_the_build() {
    let (ok, stdout, _) = candor(&["--version"]);
    assert!(ok);
    let version = stdout.trim();
    assert!(
        version.starts_with(&format!("candor {} (", env!("CARGO_PKG_VERSION")))
            && version.ends_with(')'),
        "{version}"
    );
    let dir = TempDir::new("candor-man");
    let (ok, _, stderr) = candor(&["man", &dir.path().display().to_string()]);
    assert!(ok, "{stderr}");
    for page in [
        "candor.1",
        "candor-serve.1",
        "candor-zone-check.1",
        "candor-backup.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap_or_default();
        assert!(text.contains(".TH"), "{page} is a man page");
    }
    let serve = std::fs::read_to_string(dir.path().join("candor-serve.1")).unwrap_or_default();
    assert!(
        serve.contains("udp\\-recv\\-buffer"),
        "every flag is documented"
    );
    let (ok, stdout, _) = candor(&["completions", "bash"]);
    assert!(ok && stdout.contains("_candor") && stdout.contains("--data-dir"));
}

/// The container image cannot be built here (no container engine, and the
/// base images come from a registry this machine does not reach), so the
/// Dockerfile is checked statically against this build: the final stage
/// runs as an unprivileged user, the binary it copies is the one the build
/// stage makes and the entry point runs, every flag of its command is a
/// flag of `candor serve`, its data directory is the declared volume, and
/// every port it listens on is exposed.
#[test]
fn the_dockerfile_runs_what_it_declares() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../packaging/Dockerfile"
    ))
    .expect("packaging/Dockerfile");
    // Instructions, with continuation lines joined and comments dropped.
    let mut instructions: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(line);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    let last_from = instructions
        .iter()
        .rposition(|i| i.starts_with("FROM "))
        .expect("a FROM");
    assert!(last_from > 0, "a build stage and a run stage");
    let build = &instructions[..last_from];
    let run = &instructions[last_from..];
    let find = |stage: &[String], op: &str| -> Vec<String> {
        stage
            .iter()
            .filter_map(|i| i.strip_prefix(op).map(|r| r.trim().to_owned()))
            .collect()
    };
    assert!(
        find(build, "RUN ")
            .iter()
            .any(|r| r.contains("cargo build --release --locked -p candor")),
        "the build stage builds the release binary"
    );
    let user = find(run, "USER ");
    assert!(
        user.len() == 1 && user[0] != "root" && user[0] != "0",
        "runs as an unprivileged user: {user:?}"
    );
    let copy = find(run, "COPY ");
    assert!(
        copy.iter()
            .any(|c| c == "--from=build /src/target/release/candor /usr/local/bin/candor"),
        "copies the built binary: {copy:?}"
    );
    let json = |op: &str| -> Vec<String> {
        let v = find(run, op);
        assert_eq!(v.len(), 1, "one {op}");
        serde_json::from_str(&v[0]).unwrap_or_else(|e| panic!("{op} {:?}: {e}", v[0]))
    };
    assert_eq!(json("ENTRYPOINT "), ["/usr/local/bin/candor"]);
    let cmd = json("CMD ");
    assert_eq!(cmd.first().map(String::as_str), Some("serve"));
    let (ok, help, _) = candor(&["serve", "--help"]);
    assert!(ok);
    let mut ports = Vec::new();
    let mut args = cmd[1..].iter();
    while let Some(flag) = args.next() {
        assert!(flag.starts_with("--"), "{flag} is not a flag");
        assert!(
            help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
            "{flag} is not a flag of candor serve"
        );
        let value = args.next().expect("every flag of CMD takes a value");
        if flag == "--data-dir" {
            assert_eq!(
                find(run, "VOLUME ").join(" "),
                *value,
                "the data is the volume"
            );
        } else if flag.ends_with("listen") {
            let addr: std::net::SocketAddr = value.parse().expect("a listen address");
            ports.push(addr.port());
        }
    }
    let exposed = find(run, "EXPOSE ").join(" ");
    for port in ports {
        assert!(
            exposed
                .split_whitespace()
                .any(|p| p.split('/').next() == Some(&port.to_string())),
            "port {port} is not exposed: {exposed}"
        );
    }
}
