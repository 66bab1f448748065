//! HTTPS on the API and the status page through the real binary, with
//! certificates made by the `openssl` command as the README shows: a
//! client that trusts the CA gets the API and the page; SIGHUP after the
//! files are replaced serves the new certificate; a broken file at SIGHUP
//! keeps the old one; the monitors probe the API over HTTPS; and the
//! official DNSimple Python client works over HTTPS unchanged.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use crate::store::host_with;
use crate::support::TempDir;

/// Makes `ca.pem` in `dir` unless it exists, then `{name}.pem` and
/// `{name}.key`: a certificate for localhost and 127.0.0.1 signed by it.
fn issue(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let files = candor_tls::test_certs::issue(dir, name);
    (files.cert, files.key)
}

/// The DER of the first certificate in a PEM file.
fn der(path: &Path) -> Vec<u8> {
    CertificateDer::pem_file_iter(path)
        .expect("read cert")
        .next()
        .expect("a certificate")
        .expect("pem")
        .as_ref()
        .to_vec()
}

/// An HTTPS response and the certificate the server presented.
struct Fetched {
    /// The status code.
    status: u16,
    /// Head and body as text.
    text: String,
    /// The server's certificate (DER).
    cert: Vec<u8>,
}

/// `GET path` over HTTPS to `addr` (as `localhost`), trusting only
/// `ca.pem` of `dir`.
fn https_get(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    dir: &Path,
) -> Result<Fetched, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(der(&dir.join("ca.pem"))))
        .expect("add CA");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    tls.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n")
            .as_bytes(),
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            // A close without close_notify after the whole response.
            Err(_) if !raw.is_empty() => break,
            Err(e) => return Err(e.to_string()),
        }
    }
    let cert = tls
        .conn
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    Ok(Fetched { status, text, cert })
}

/// Polls until `check` holds (up to 15 s), or panics with `what` and the log.
fn wait_for(what: &str, log: impl Fn() -> String, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check() {
        assert!(Instant::now() < deadline, "{what}; log:\n{}", log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The API and the status page over HTTPS with the configured certificate;
/// after SIGHUP with new files the new one; after SIGHUP with a broken key
/// still the one in use; the monitors see the API as operational (they
/// probe it over HTTPS).
#[test]
fn https_serves_the_certificate_and_reloads_it_on_sighup() {
    let dir = TempDir::new("tls");
    let (first_cert, first_key) = issue(dir.path(), "first");
    let (live_cert, live_key) = (dir.path().join("live.pem"), dir.path().join("live.key"));
    std::fs::copy(&first_cert, &live_cert).expect("copy");
    std::fs::copy(&first_key, &live_key).expect("copy");
    let data = dir.path().join("data");
    let mut h = host_with(
        &data,
        None,
        &[
            "--tls-cert".to_owned(),
            live_cert.display().to_string(),
            "--tls-key".to_owned(),
            live_key.display().to_string(),
            "--status-interval-ms".to_owned(),
            "200".to_owned(),
        ],
    );
    let status_page = h.candor.listeners().status;
    let whoami = https_get(h.api, "/v2/whoami", Some(&h.token), dir.path()).expect("https");
    assert_eq!(whoami.status, 200, "{}", whoami.text);
    assert!(whoami.text.contains("demo@candor.test"), "{}", whoami.text);
    assert_eq!(whoami.cert, der(&first_cert));
    let page = https_get(status_page, "/", None, dir.path()).expect("https status page");
    assert_eq!(page.status, 200);
    assert_eq!(page.cert, der(&first_cert));
    // Plain HTTP gets no API (a TLS alert, not an HTTP response).
    let mut plain = TcpStream::connect(h.api).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    plain
        .write_all(b"GET /v2/openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut raw = Vec::new();
    let _ = plain.read_to_end(&mut raw);
    assert!(
        !raw.starts_with(b"HTTP/"),
        "plain HTTP answered: {:?}",
        String::from_utf8_lossy(&raw)
    );

    // New files, then SIGHUP: the next handshakes get the new certificate.
    let (second_cert, second_key) = issue(dir.path(), "second");
    std::fs::copy(&second_cert, &live_cert).expect("copy");
    std::fs::copy(&second_key, &live_key).expect("copy");
    let pid = h.candor.process().pid().to_string();
    let hup = || {
        let status = Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -HUP {pid}");
    };
    hup();
    let log = || h.candor.log();
    wait_for("the new certificate is not served", log, || {
        https_get(h.api, "/v2/whoami", Some(&h.token), dir.path())
            .is_ok_and(|f| f.cert == der(&second_cert))
    });
    let page = https_get(status_page, "/", None, dir.path()).expect("https status page");
    assert_eq!(page.cert, der(&second_cert));

    // A broken key: logged, and the certificate in use stays.
    std::fs::write(
        &live_key,
        "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n",
    )
    .expect("write");
    hup();
    wait_for("no error logged for the broken key", log, || {
        h.candor
            .log()
            .contains("keeping the TLS certificate in use")
    });
    let after = https_get(h.api, "/v2/whoami", Some(&h.token), dir.path()).expect("https");
    assert_eq!(after.status, 200);
    assert_eq!(after.cert, der(&second_cert));

    // The monitors reach the API over HTTPS: it stays operational.
    std::thread::sleep(Duration::from_millis(1500));
    let components =
        https_get(status_page, "/api/v2/components.json", None, dir.path()).expect("json");
    let body = components
        .text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b);
    let start = body.find('{').unwrap_or(0);
    let json: serde_json::Value =
        serde_json::from_str(&body[start..body.rfind('}').map_or(body.len(), |e| e + 1)])
            .unwrap_or_else(|e| panic!("{e}: {body}"));
    let api = json["components"]
        .as_array()
        .and_then(|c| {
            c.iter()
                .find(|c| c["name"].as_str().is_some_and(|n| n.contains("API")))
        })
        .unwrap_or_else(|| panic!("no API component: {json}"));
    assert_eq!(api["status"], "operational", "{api}\n{}", h.candor.log());
}

/// The official DNSimple Python client, unchanged, over HTTPS: only the
/// base URL and the CA its requests session trusts (the test CA, through
/// CANDOR_CA_BUNDLE in the script) differ.
#[test]
fn the_official_dnsimple_python_client_works_over_https() {
    if std::env::var_os("CANDOR_SKIP_PYTHON").is_some() {
        eprintln!("CANDOR_SKIP_PYTHON is set: skipping the DNSimple client test");
        return;
    }
    let dir = TempDir::new("tls-python");
    let (cert, key) = issue(dir.path(), "api");
    let h = host_with(
        &dir.path().join("data"),
        None,
        &[
            "--tls-cert".to_owned(),
            cert.display().to_string(),
            "--tls-key".to_owned(),
            key.display().to_string(),
        ],
    );
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/dnsimple_client.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(format!("https://127.0.0.1:{}", h.api.port()))
        .arg(&h.token)
        .arg(&h.account)
        .env("CANDOR_CA_BUNDLE", dir.path().join("ca.pem"))
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "the DNSimple client failed over HTTPS:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// DNSimple's official Node client (npm `dnsimple`), unchanged, over HTTPS
/// (it speaks nothing else): it trusts the test CA through
/// NODE_EXTRA_CA_CERTS.
#[test]
fn the_official_dnsimple_node_client_works_over_https() {
    if std::env::var_os("CANDOR_SKIP_NODE").is_some() {
        eprintln!("CANDOR_SKIP_NODE is set: skipping the DNSimple Node client test");
        return;
    }
    let client_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/node");
    assert!(
        client_dir.join("node_modules/dnsimple").exists(),
        "the dnsimple npm package is missing: (cd tests/node && npm install) (scripts/test does), \
         or set CANDOR_SKIP_NODE=1"
    );
    let dir = TempDir::new("tls-node");
    let (cert, key) = issue(dir.path(), "api");
    let h = host_with(
        &dir.path().join("data"),
        None,
        &[
            "--tls-cert".to_owned(),
            cert.display().to_string(),
            "--tls-key".to_owned(),
            key.display().to_string(),
        ],
    );
    let out = Command::new("node")
        .arg(client_dir.join("dnsimple_client.js"))
        .arg(format!("https://127.0.0.1:{}", h.api.port()))
        .arg(&h.token)
        .arg(&h.account)
        .env("NODE_EXTRA_CA_CERTS", dir.path().join("ca.pem"))
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "the DNSimple Node client failed over HTTPS:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
