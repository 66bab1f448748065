//! `candor top`: the zones receiving the most queries, in the terminal,
//! read from the operator API's `GET /v2/{account}/traffic/top` once a
//! second (or once, with `--once`).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::Value;

/// `candor top` options.
#[derive(Args, Debug)]
pub(crate) struct TopArgs {
    /// The API of the running server (plain HTTP, as `serve --api-listen`).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8053")]
    api: String,
    /// An API token of the operator's account.
    #[arg(long, env = "CANDOR_TOKEN", hide_env_values = true)]
    token: String,
    /// The operator's account id (default: the token's account).
    #[arg(long)]
    account: Option<i64>,
    /// Order by queries, nxdomain (ratio), rrl (rate limiter actions) or
    /// shed (queries dropped under overload).
    #[arg(long, default_value = "queries")]
    order: String,
    /// Zones shown.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print once and exit (for scripts); otherwise refresh every second
    /// until interrupted.
    #[arg(long)]
    once: bool,
}

/// The host:port and path prefix of an `http://` URL.
fn split_url(url: &str) -> anyhow::Result<(String, String)> {
    let rest = url.strip_prefix("http://").with_context(|| {
        format!("--api {url:?}: only http:// URLs (the API listens on plain HTTP)")
    })?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    if host.is_empty() {
        bail!("--api {url:?} names no host");
    }
    let path = path.trim_end_matches('/');
    Ok((
        host.to_owned(),
        if path.is_empty() {
            String::new()
        } else {
            format!("/{path}")
        },
    ))
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a chunk size line without an end")?;
        let size_text = std::str::from_utf8(&body[..end])?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .with_context(|| format!("bad chunk size {size_text:?}"))?;
        body = &body[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(body.get(..size).context("a chunk shorter than its size")?);
        body = body.get(size + 2..).unwrap_or_default();
    }
}

/// `GET path` from the API with the token: the JSON body of a 200.
fn get(args: &TopArgs, path: &str) -> anyhow::Result<Value> {
    let (host, prefix) = split_url(&args.api)?;
    let mut stream = TcpStream::connect(&host)
        .with_context(|| format!("cannot connect to the API at {host}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {prefix}{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Accept: application/json\r\nConnection: close\r\n\r\n",
        args.token
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the API's answer has no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let body = &raw[split + 4..];
    let body = if head.contains("transfer-encoding: chunked") {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the API's answer has no status")?;
    let json: Value = serde_json::from_slice(&body)
        .with_context(|| format!("the API answered {status} with no JSON"))?;
    if status != 200 {
        bail!(
            "the API answered {status}: {}",
            json["message"].as_str().unwrap_or("(no message)")
        );
    }
    Ok(json)
}

/// `1234567.8` as `1,234,568`.
fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The screen for one answer of the endpoint.
pub(crate) fn render(data: &Value) -> String {
    let mut s = String::new();
    if data["enabled"] == Value::Bool(false) {
        return "Per-zone accounting is off on this server (--no-zone-traffic).\n".to_owned();
    }
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let seconds = f(&data["seconds"]).max(1e-9);
    let total = f(&data["total"]["queries"]) / seconds;
    let capacity = match data["capacity"].as_f64() {
        Some(c) => format!("capacity ~{} qps", thousands(c)),
        None => "capacity not measured yet".to_owned(),
    };
    s.push_str(&format!(
        "candor top: {} qps in all, {} zones counted, {}, {} zones held to a fair share\n\n",
        thousands(total),
        data["tracked"].as_u64().unwrap_or(0),
        capacity,
        data["limited"].as_u64().unwrap_or(0),
    ));
    s.push_str(&format!(
        "{:<40} {:>12} {:>9} {:>10} {:>10}\n",
        "ZONE", "QPS", "NXDOMAIN", "RRL/S", "SHED/S"
    ));
    for z in data["zones"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        s.push_str(&format!(
            "{:<40} {:>12} {:>8.1}% {:>10} {:>10}\n",
            z["zone"].as_str().unwrap_or("?"),
            thousands(f(&z["qps"])),
            f(&z["nxdomain_ratio"]) * 100.0,
            thousands(f(&z["rrl_per_second"])),
            thousands(f(&z["shed_per_second"])),
        ));
    }
    let attacks = data["attacks"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if !attacks.is_empty() {
        s.push_str("\nUNDER ATTACK\n");
        for a in attacks {
            s.push_str(&format!(
                "{} — {} at {} qps (peak {}): {}\n",
                a["zone"].as_str().unwrap_or("?"),
                a["kind"].as_str().unwrap_or("?"),
                thousands(f(&a["qps"])),
                thousands(f(&a["peak_qps"])),
                a["mitigation"].as_str().unwrap_or(""),
            ));
        }
    }
    s
}

/// Runs `candor top`.
pub(crate) fn run(args: &TopArgs) -> anyhow::Result<ExitCode> {
    let account = match args.account {
        Some(a) => a,
        None => get(args, "/v2/whoami")?["data"]["account"]["id"]
            .as_i64()
            .context("the token has no account")?,
    };
    let path = format!(
        "/v2/{account}/traffic/top?order={}&limit={}",
        args.order, args.limit
    );
    let mut out = std::io::stdout();
    loop {
        let screen = render(&get(args, &path)?["data"]);
        if args.once {
            out.write_all(screen.as_bytes())?;
            return Ok(ExitCode::SUCCESS);
        }
        // Clear the screen and home the cursor, then draw.
        out.write_all(format!("\x1b[2J\x1b[H{screen}").as_bytes())?;
        out.flush()?;
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{dechunk, render, split_url, thousands};

    /// What the screen shows for an endpoint answer.
    #[test]
    fn the_screen_lists_zones_and_attacks() {
        let data = json!({
            "enabled": true, "seconds": 1.0, "total": {"queries": 120000}, "tracked": 3,
            "capacity": 300000, "limited": 1,
            "zones": [{"zone": "victim.example", "qps": 100000.0, "nxdomain_ratio": 0.98,
                       "rrl_per_second": 12000.0, "shed_per_second": 80000.0}],
            "attacks": [{"zone": "victim.example", "kind": "random_subdomain", "qps": 100000.0,
                         "peak_qps": 120000.0, "mitigation": "shedding"}],
        });
        let screen = render(&data);
        assert!(screen.contains("120,000 qps in all"), "{screen}");
        assert!(screen.contains("victim.example"), "{screen}");
        assert!(screen.contains("98.0%"), "{screen}");
        assert!(screen.contains("UNDER ATTACK"), "{screen}");
        assert!(render(&json!({"enabled": false})).contains("--no-zone-traffic"));
    }

    /// URL and body helpers.
    #[test]
    fn urls_chunks_and_numbers() {
        assert_eq!(
            split_url("http://127.0.0.1:8053").unwrap(),
            ("127.0.0.1:8053".to_owned(), String::new())
        );
        assert_eq!(
            split_url("http://h:1/api/").unwrap(),
            ("h:1".to_owned(), "/api".to_owned())
        );
        assert!(split_url("https://h").is_err());
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(12.0), "12");
    }
}
