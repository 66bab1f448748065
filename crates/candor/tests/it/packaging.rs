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
