//! `candor status …` through the real binary on a data directory a
//! `candor serve` has made: an incident's whole life, maintenance,
//! subscribers, and errors that name the field.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::{Candor, TempDir};

/// Runs `candor status <args>` on a data directory, as user `tester`.
fn status(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_candor"))
        .arg("status")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("USER", "tester")
        .env("NO_COLOR", "1")
        .output()
        .expect("run candor")
}

/// A fresh data directory that `candor serve` has run on once (and was
/// stopped before its monitors finished a round), so the store and the
/// status database exist: CLI commands create neither.
fn served_dir() -> TempDir {
    let dir = TempDir::new("status-cli");
    let args = ["--data-dir".to_owned(), dir.path().display().to_string()];
    drop(Candor::start_with(&args, "example.com."));
    dir
}

/// Runs a command that must succeed; returns its standard output.
#[track_caller]
fn ok(dir: &Path, args: &[&str]) -> String {
    let out = status(dir, args);
    assert!(
        out.status.success(),
        "candor status {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail; returns its standard error.
#[track_caller]
fn fails(dir: &Path, args: &[&str]) -> String {
    let out = status(dir, args);
    assert!(!out.status.success(), "candor status {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn status_cli_runs_an_incident_from_open_to_postmortem() {
    let dir = served_dir();
    let d = dir.path();
    let id = ok(
        d,
        &[
            "incident",
            "open",
            "--name",
            "ns1 down",
            "--body",
            "Looking into it.",
            "--zone",
            "example.com",
        ],
    );
    let id = id.trim();
    assert!(id.parse::<i64>().is_ok(), "{id:?}");
    let update = ok(
        d,
        &[
            "incident",
            "update",
            id,
            "--status",
            "identified",
            "--body",
            "Found it.",
            "--impact",
            "major",
        ],
    );
    let update = update.trim();
    ok(
        d,
        &[
            "update",
            "edit",
            update,
            "--body",
            "Found it: a bad route.",
            "--as",
            "alice",
        ],
    );
    ok(d, &["incident", "edit", id, "--name", "ns1 unreachable"]);
    ok(d, &["incident", "resolve", id, "--body", "Fixed."]);
    let report = dir.write("report.txt", "A route leaked.\n\nWe filter it now.\n");
    let report = report.to_str().expect("UTF-8 path");
    ok(d, &["incident", "postmortem", id, "--file", report]);

    let shown = ok(d, &["incident", "show", id]);
    for expected in [
        "ns1 unreachable",
        "status      resolved",
        "impact      major",
        "zones       example.com",
        "resolved  by tester@cli",
        "Found it: a bad route.",
        "by alice:",
        "      Found it.",
        "investigating  by tester@cli",
        "postmortem, ",
        "  We filter it now.",
    ] {
        assert!(shown.contains(expected), "{expected:?} not in:\n{shown}");
    }
    let list = ok(d, &["incident", "list"]);
    let line = list.lines().next().expect("one incident");
    assert!(line.starts_with(&format!("{id}\t")), "{list}");
    assert!(line.contains("\tresolved\t") && line.ends_with("ns1 unreachable"));
}

#[test]
fn status_cli_schedules_and_completes_maintenance() {
    let dir = served_dir();
    let d = dir.path();
    let id = ok(
        d,
        &[
            "maintenance",
            "schedule",
            "--name",
            "Moving ns1",
            "--body",
            "ns1 moves racks.",
            "--from",
            "2036-11-26T11:00:00Z",
            "--until",
            "2036-11-26T13:00:00+01:00",
        ],
    );
    let id = id.trim();
    let shown = ok(d, &["incident", "show", id]);
    assert!(shown.contains("maintenance window"), "{shown}");
    assert!(
        shown.contains("window      2036-11-26T11:00:00Z to 2036-11-26T12:00:00Z"),
        "{shown}"
    );
    assert!(shown.contains("status      scheduled"), "{shown}");
    // Listed, moved, and (another one) cancelled.
    assert!(ok(d, &["maintenance", "list"]).contains("Moving ns1"));
    ok(
        d,
        &[
            "maintenance",
            "reschedule",
            id,
            "--from",
            "2036-11-27T11:00:00Z",
            "--until",
            "2036-11-27T12:00:00Z",
        ],
    );
    let shown = ok(d, &["incident", "show", id]);
    assert!(
        shown.contains("window      2036-11-27T11:00:00Z to 2036-11-27T12:00:00Z"),
        "{shown}"
    );
    let other = ok(
        d,
        &[
            "maintenance",
            "schedule",
            "--name",
            "Never mind",
            "--body",
            "b",
            "--from",
            "2036-12-01T10:00:00Z",
            "--until",
            "2036-12-01T11:00:00Z",
        ],
    );
    ok(
        d,
        &[
            "maintenance",
            "cancel",
            other.trim(),
            "--body",
            "Not needed.",
        ],
    );
    let listed = ok(d, &["maintenance", "list"]);
    assert!(!listed.contains("Never mind"), "{listed}");
    ok(d, &["incident", "resolve", id, "--body", "Done."]);
    let shown = ok(d, &["incident", "show", id]);
    assert!(shown.contains("status      completed"), "{shown}");
}

#[test]
fn status_cli_manages_subscribers_and_shows_secrets_once() {
    let dir = served_dir();
    let d = dir.path();
    let added = ok(
        d,
        &[
            "subscriber",
            "add",
            "--webhook",
            "https://hooks.example.net/x",
        ],
    );
    let mut lines = added.lines();
    let hook = lines.next().expect("id").to_owned();
    let secret = lines.next().expect("secret").to_owned();
    assert_eq!(secret.len(), 32, "{added}");
    let mail = ok(d, &["subscriber", "add", "--email", "ops@example.net"]);
    let mail = mail.trim();

    let list = ok(d, &["subscriber", "list"]);
    assert!(
        list.contains(&format!(
            "{hook}\twebhook\thttps://hooks.example.net/x\toperator"
        )),
        "{list}"
    );
    assert!(
        list.contains(&format!("{mail}\temail\tops@example.net")),
        "{list}"
    );
    assert!(
        !list.contains(&secret),
        "the list shows the secret:\n{list}"
    );

    ok(d, &["subscriber", "enable", &hook]);
    ok(d, &["subscriber", "remove", &hook]);
    let list = ok(d, &["subscriber", "list"]);
    assert!(!list.contains("hooks.example.net"), "{list}");
    let err = fails(d, &["subscriber", "remove", &hook]);
    assert!(
        err.contains(&format!("subscriber {hook} not found")),
        "{err}"
    );
}

#[test]
fn status_cli_errors_name_the_field() {
    let dir = served_dir();
    let d = dir.path();
    let open = ["incident", "open", "--name", "n", "--body", "b"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            [&open[..], &["--status", "exploded"]].concat(),
            "candor: status: unknown incident status \"exploded\"",
        ),
        (
            [&open[..], &["--status", "resolved"]].concat(),
            "candor: status: a new incident starts as one of",
        ),
        (
            [&open[..], &["--component", "999=major_outage"]].concat(),
            "candor: components: no component with id 999",
        ),
        (
            [&open[..], &["--component", "1"]].concat(),
            "candor: components: \"1\" is not ID=STATUS",
        ),
        (
            [&open[..], &["--impact", "huge"]].concat(),
            "candor: impact: unknown impact",
        ),
        (
            vec!["incident", "open", "--name", "n", "--body", " "],
            "candor: body: must not be empty",
        ),
        (
            vec![
                "maintenance",
                "schedule",
                "--name",
                "n",
                "--body",
                "b",
                "--from",
                "tomorrow",
                "--until",
                "2026-11-26T12:00:00Z",
            ],
            "candor: from: \"tomorrow\" is not an RFC 3339 time",
        ),
        (
            vec!["subscriber", "add", "--webhook", "ftp://x.example/h"],
            "candor: webhook: must be an http:// or https:// URL",
        ),
        (
            vec![
                "subscriber",
                "add",
                "--email",
                "a@example.net",
                "--zone",
                "example.org",
            ],
            "candor: zones[0]: example.org is not a zone in the store",
        ),
        (
            vec!["incident", "show", "nosuch"],
            "candor: incident nosuch not found",
        ),
    ];
    for (args, expected) in cases {
        let err = fails(d, &args);
        assert!(err.starts_with(expected), "{args:?}: {err}");
    }
    assert_eq!(ok(d, &["incident", "list"]), "");
}
