//! `candor serve`'s attack defences: the flags of response rate limiting
//! and DNS cookies, the random seed and secrets they need, and the secret
//! rollover. The rules themselves are in `candor-guard`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use candor_answer::{CookieSecrets, Cookies};
use candor_guard::rrl::{DEFAULT_ENTRIES, MAX_RATE, MAX_SLIP, MAX_WINDOW};
use candor_guard::{Limiter, Prefix, RrlConfig};
use clap::Args;
use tokio::sync::watch;

/// Response rate limiting and DNS cookies.
#[derive(Args, Debug)]
pub(crate) struct GuardArgs {
    /// Response rate limiting (UDP only): identical responses (an answer by
    /// name and type, NXDOMAIN and NODATA by zone, a wildcard, a referral,
    /// an error) allowed per second to one client network. Over it,
    /// responses are dropped and every --rrl-slip'th is sent truncated. 0
    /// turns rate limiting off.
    #[arg(long, value_name = "N", default_value_t = 200,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_RATE)))]
    rrl_rate: u32,
    /// Every Nth response over the rate goes out as TC=1 (BADCOOKIE with a
    /// fresh cookie when the query had a client cookie), so a real client
    /// behind a spoofed address still gets through; the others are dropped.
    /// 0 drops them all, 1 truncates them all.
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(0..=i64::from(MAX_SLIP)))]
    rrl_slip: u32,
    /// Seconds a flood is remembered after it stops (an account's debt goes
    /// down to WINDOW × rate responses).
    #[arg(long, value_name = "SECONDS", default_value_t = 15,
          value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_WINDOW)))]
    rrl_window: u32,
    /// IPv4 clients are accounted per network of this prefix length.
    #[arg(long, value_name = "LENGTH", default_value_t = 24,
          value_parser = clap::value_parser!(u8).range(0..=32))]
    rrl_ipv4_prefix: u8,
    /// IPv6 clients are accounted per network of this prefix length.
    #[arg(long, value_name = "LENGTH", default_value_t = 56,
          value_parser = clap::value_parser!(u8).range(0..=128))]
    rrl_ipv6_prefix: u8,
    /// Never rate limit this network (ADDRESS or ADDRESS/LENGTH; repeat for
    /// several), e.g. your own monitoring or a partner's resolvers.
    #[arg(long, value_name = "PREFIX")]
    rrl_exempt: Vec<Prefix>,
    /// DNS cookie secrets shared with the other servers of an anycast set:
    /// one or two lines of 32 hexadecimal digits (the current secret, then
    /// the previous one during a rollover). Read at start and on SIGHUP.
    /// Without it, a random secret is made at start and rolled over every
    /// 26 hours.
    #[arg(long, value_name = "FILE")]
    cookie_secret_file: Option<PathBuf>,
}

/// How long a random cookie secret makes cookies before the next one takes
/// over (Knot's default `secret-lifetime`). It must be at least the hour a
/// cookie is accepted for, so the previous secret verifies every cookie
/// still within its lifetime.
const SECRET_LIFETIME: Duration = Duration::from_secs(26 * 3600);

impl GuardArgs {
    /// The rate limiter these flags ask for, or `None` with `--rrl-rate 0`.
    pub(crate) fn limiter(&self) -> anyhow::Result<Option<Arc<Limiter>>> {
        if self.rrl_rate == 0 {
            tracing::info!("response rate limiting off (--rrl-rate 0)");
            return Ok(None);
        }
        let config = RrlConfig {
            rate: self.rrl_rate,
            window: self.rrl_window,
            slip: self.rrl_slip,
            ipv4_prefix: self.rrl_ipv4_prefix,
            ipv6_prefix: self.rrl_ipv6_prefix,
            exempt: self.rrl_exempt.clone(),
            entries: DEFAULT_ENTRIES,
        };
        let seed = random::<16>().context("cannot seed the rate limiter")?;
        let [a, b] = [&seed[..8], &seed[8..]].map(|half| {
            let mut word = [0u8; 8];
            word.copy_from_slice(half);
            u64::from_le_bytes(word)
        });
        tracing::info!(
            rate = self.rrl_rate,
            slip = self.rrl_slip,
            window_s = self.rrl_window,
            ipv4_prefix = self.rrl_ipv4_prefix,
            ipv6_prefix = self.rrl_ipv6_prefix,
            exempt = ?self.rrl_exempt.iter().map(ToString::to_string).collect::<Vec<_>>(),
            table_entries = DEFAULT_ENTRIES,
            "response rate limiting (UDP)"
        );
        Ok(Some(Arc::new(Limiter::new(&config, [a, b]))))
    }

    /// Checks the cookie secret file, if one is given, without logging
    /// (the preflight of `serve` and `config check`; `cookie_secrets` says
    /// which secrets are used when the server starts).
    pub(crate) fn check_cookie_secrets(&self) -> anyhow::Result<()> {
        if let Some(path) = &self.cookie_secret_file {
            read_secrets(path)?;
        }
        Ok(())
    }

    /// The cookie secrets to start with: the secret file's, or a random
    /// one.
    pub(crate) fn cookie_secrets(&self) -> anyhow::Result<CookieSecrets> {
        match &self.cookie_secret_file {
            Some(path) => {
                let secrets = read_secrets(path)?;
                tracing::info!(file = %path.display(), "DNS cookie secrets from the secret file");
                Ok(secrets)
            }
            None => {
                let secret = random::<16>().context("cannot make a cookie secret")?;
                tracing::info!(
                    rollover_h = SECRET_LIFETIME.as_secs() / 3600,
                    "DNS cookies with a random secret"
                );
                Ok(CookieSecrets::new(secret, None))
            }
        }
    }

    /// On SIGHUP: reads the secret file again, if there is one; a file that
    /// cannot be read leaves the secrets as they are.
    pub(crate) fn reload(&self, cookies: &Cookies) {
        let Some(path) = &self.cookie_secret_file else {
            return;
        };
        match read_secrets(path) {
            Ok(secrets) if secrets == *cookies.get() => {}
            Ok(secrets) => {
                cookies.set(secrets);
                tracing::info!(file = %path.display(), "DNS cookie secrets read again");
            }
            Err(e) => tracing::error!("keeping the DNS cookie secrets: {e:#}"),
        }
    }

    /// Whether the secrets are Candor's own, to roll over with
    /// [`roll_secrets`] (a secret file's owner rolls its secrets over).
    pub(crate) fn rolls_secrets(&self) -> bool {
        self.cookie_secret_file.is_none()
    }
}

/// Rolls the cookie secret over to a random one every [`SECRET_LIFETIME`]
/// until `stop` turns.
pub(crate) async fn roll_secrets(cookies: Cookies, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(SECRET_LIFETIME) => {}
            _ = stop.changed() => return,
        }
        match random::<16>() {
            Ok(next) => {
                cookies.set(cookies.get().rotate(next));
                tracing::info!("DNS cookie secret rolled over (the previous one still verifies)");
            }
            Err(e) => tracing::error!("cannot make a new cookie secret, keeping the old: {e}"),
        }
    }
}

/// Reads a secret file.
fn read_secrets(path: &std::path::Path) -> anyhow::Result<CookieSecrets> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the cookie secret file {}", path.display()))?;
    CookieSecrets::parse(&text).with_context(|| format!("cookie secret file {}", path.display()))
}

/// `N` bytes from the operating system's random source.
fn random<const N: usize>() -> anyhow::Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no random bytes: {e}"))?;
    Ok(bytes)
}
