//! `candor audit`: the audit log from the store, newest first.

use std::io::Write as _;
use std::process::ExitCode;

use anyhow::Context;
use candor_store::{AuditEntry, AuditQuery};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::data::{DataArgs, open_store};

/// `candor audit` options.
#[derive(clap::Args, Debug)]
pub(crate) struct AuditArgs {
    /// Only this account's entries (default: every account's).
    #[arg(long, value_name = "ID")]
    account: Option<i64>,
    /// Only entries at or after this time: RFC 3339 (`2026-12-01T00:00:00Z`)
    /// or an age (`90m`, `24h`, `7d`).
    #[arg(long, value_name = "TIME", value_parser = since)]
    since: Option<i64>,
    /// Most entries shown (newest first; at most 100 per page).
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: u32,
    /// Which page of `--limit` entries (1 is the newest).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    page: u32,
    #[command(flatten)]
    data: DataArgs,
}

/// Parses `--since`: RFC 3339, or an age in minutes, hours or days.
fn since(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.unix_timestamp());
    }
    let bad = || {
        format!(
            "{text:?} is neither an RFC 3339 time (2026-12-01T00:00:00Z) nor an age (90m, 24h, 7d)"
        )
    };
    let split = text.len().checked_sub(1).ok_or_else(bad)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let age = n.checked_mul(seconds).filter(|a| *a >= 0).ok_or_else(bad)?;
    Ok(OffsetDateTime::now_utc().unix_timestamp() - age)
}

/// Who made a change, in words: the user and token, or the channel.
fn who(e: &AuditEntry) -> String {
    match (&e.user_email, &e.token_name, e.token_id) {
        (Some(user), Some(token), Some(id)) => format!("{user} (token {id} {token:?})"),
        (None, Some(token), Some(id)) => format!("token {id} {token:?}"),
        (_, _, Some(id)) => format!("token {id}"),
        _ => e.via.clone(),
    }
}

/// Runs `candor audit`.
pub(crate) fn run(args: &AuditArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&args.data)?;
    let log = store
        .audit(&AuditQuery {
            account_id: args.account,
            since: args.since,
            page: args.page,
            per_page: args.limit,
        })
        .map_err(|e| match (e, args.account) {
            (candor_store::StoreError::NotFound(_), Some(id)) => anyhow::anyhow!("no account {id}"),
            (e, _) => anyhow::anyhow!("cannot read the audit log: {e}"),
        })?;
    let mut out = std::io::stdout().lock();
    for e in &log.items {
        writeln!(
            out,
            "{}  account {}  {}  via {} from {}  {} {}  {}",
            e.at,
            e.account_id,
            who(e),
            e.via,
            e.remote.as_deref().unwrap_or("-"),
            e.action,
            e.target,
            e.detail
        )
        .context("cannot write to stdout")?;
    }
    if log.total_pages > log.current_page {
        eprintln!(
            "{} of {} entries shown; --page {} for older ones",
            log.items.len(),
            log.total_entries,
            log.current_page + 1
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `--since` takes RFC 3339 times and ages, and says what it wants
    /// otherwise.
    #[test]
    fn since_parses_times_and_ages() {
        assert_eq!(since("2026-12-01T00:00:00Z"), Ok(1_796_083_200));
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let day = since("1d").unwrap();
        assert!((now - 86_400 - day).abs() <= 2, "{day} vs {now}");
        assert!(since("90m").is_ok());
        for bad in ["", "yesterday", "5w", "-3h", "h"] {
            let err = since(bad).unwrap_err();
            assert!(err.contains("RFC 3339"), "{bad}: {err}");
        }
    }
}
