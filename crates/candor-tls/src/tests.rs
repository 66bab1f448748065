//! Certificates made by the `openssl` command (a test CA and a leaf for
//! localhost and 127.0.0.1), served through a real [`TlsListener`] to a
//! rustls client that trusts the CA.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::routing::get;
use rustls::RootCertStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::test_certs::issue;

/// A fresh directory, removed on drop.
struct Dir(PathBuf);

impl Dir {
    /// Makes one named after `tag`.
    fn new(tag: &str) -> Dir {
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "candor-tls-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create dir");
        Dir(path)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A client configuration trusting `ca.pem` of `dir`.
fn client(dir: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(dir.join("ca.pem")).expect("ca") {
        roots.add(ca.expect("ca pem")).expect("add ca");
    }
    Arc::new(
        ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// Connects to `addr` with `config`, sends `GET /` and returns the
/// response and the certificate the server presented.
async fn get_root(
    addr: SocketAddr,
    config: Arc<ClientConfig>,
) -> Result<(String, Vec<u8>), String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let mut tls = tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())?;
    let served = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.as_ref().to_vec())
        .unwrap_or_default();
    tls.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    let _ = tls.read_to_end(&mut response).await;
    Ok((String::from_utf8_lossy(&response).into_owned(), served))
}

/// The DER of the first certificate of `files`.
fn der(files: &CertFiles) -> Vec<u8> {
    CertificateDer::pem_file_iter(&files.cert)
        .expect("cert")
        .next()
        .expect("one")
        .expect("pem")
        .as_ref()
        .to_vec()
}

/// A served request reaches the handler with the client's address; after a
/// reload with new files the next handshake gets the new certificate; a
/// broken file at reload keeps the one in use; the probe client trusts
/// exactly the certificate served.
#[tokio::test(flavor = "current_thread")]
async fn serves_reloads_and_keeps_the_old_certificate_on_a_bad_file() {
    let dir = Dir::new("serve");
    let first = issue(&dir.0, "first");
    let live = CertFiles {
        cert: dir.0.join("live.pem"),
        key: dir.0.join("live.key"),
    };
    std::fs::copy(&first.cert, &live.cert).expect("copy");
    std::fs::copy(&first.key, &live.key).expect("copy");
    let certs = Certificates::load(live.clone()).expect("loads");
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let listener = TlsListener::new(tcp, certs.server_config().expect("config")).expect("listener");
    let addr = listener.local_addr().expect("addr");
    let app =
        Router::new().route(
            "/",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                format!("hello {}", peer.ip())
            }),
        );
    let server = tokio::spawn(async move { axum::serve(listener, WithPeer(app)).await });

    let (response, served) = get_root(addr, client(&dir.0)).await.expect("https");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("hello 127.0.0.1"), "{response}");
    assert_eq!(served, der(&first));
    let probe = certs.probe_config().expect("probe");
    get_root(addr, probe.clone())
        .await
        .expect("the probe trusts the served certificate");

    // A new certificate (same CA) in place of the files, then a reload.
    let second = issue(&dir.0, "second");
    std::fs::copy(&second.cert, &live.cert).expect("copy");
    std::fs::copy(&second.key, &live.key).expect("copy");
    let print = certs.reload().expect("reloads");
    assert_eq!(print, fingerprint(&CertificateDer::from(der(&second))));
    let (_, served) = get_root(addr, client(&dir.0)).await.expect("https");
    assert_eq!(served, der(&second), "the new certificate is served");
    get_root(addr, probe.clone())
        .await
        .expect("the probe follows the reload");

    // A probe pinned to what is served refuses another certificate.
    let other = Certificates::load(first.clone()).expect("loads");
    let wrong = other.probe_config().expect("probe");
    assert!(
        get_root(addr, wrong).await.is_err(),
        "a pinned probe accepted another certificate"
    );

    // A broken key: the reload fails and the second certificate stays.
    std::fs::write(&live.key, "not a key\n").expect("write");
    let e = certs.reload().expect_err("refused");
    assert!(
        e.to_string()
            .starts_with(&format!("{}: no private key", live.key.display())),
        "{e}"
    );
    let (_, served) = get_root(addr, client(&dir.0)).await.expect("https");
    assert_eq!(served, der(&second), "the old certificate is kept");
    server.abort();
}

/// Files that cannot serve are refused with the file and the reason.
#[test]
fn bad_files_are_named() {
    let dir = Dir::new("bad");
    let a = issue(&dir.0, "a");
    let b = issue(&dir.0, "b");
    let mismatched = CertFiles {
        cert: a.cert.clone(),
        key: b.key.clone(),
    };
    let e = load(&mismatched).expect_err("mismatch");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: this key does not belong to the first certificate of {}",
            b.key.display(),
            a.cert.display()
        )
    );
    let empty = dir.0.join("empty.pem");
    std::fs::write(&empty, "").expect("write");
    let e = load(&CertFiles {
        cert: empty.clone(),
        key: a.key.clone(),
    })
    .expect_err("empty");
    assert!(
        e.to_string()
            .starts_with(&format!("{}: no certificate", empty.display())),
        "{e}"
    );
    let missing = dir.0.join("missing.pem");
    let e = load(&CertFiles {
        cert: missing.clone(),
        key: a.key.clone(),
    })
    .expect_err("missing");
    assert!(
        e.to_string().starts_with(&missing.display().to_string()),
        "{e}"
    );
    // The key alone in the certificate file is no certificate either.
    let e = load(&CertFiles {
        cert: a.key.clone(),
        key: a.key.clone(),
    })
    .expect_err("key as cert");
    assert!(e.to_string().contains("no certificate"), "{e}");
}

/// The fingerprint is openssl's.
#[test]
fn fingerprint_matches_openssl() {
    let dir = Dir::new("print");
    let a = issue(&dir.0, "a");
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(&a.cert)
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&out.stdout);
    let theirs = text.trim().rsplit('=').next().unwrap_or_default();
    assert_eq!(fingerprint(&CertificateDer::from(der(&a))), theirs);
}
