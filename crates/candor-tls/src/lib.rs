//! HTTPS for Candor's HTTP listeners (the REST API and the status page).
//!
//! - [`Certificates`] holds the certificate chain and private key read from
//!   two PEM files ([`CertFiles`]) and is rustls' certificate resolver: every
//!   handshake loads the [`CertifiedKey`] in use from an [`ArcSwap`], so
//!   [`Certificates::reload`] (on SIGHUP) swaps in new files for the next
//!   handshake without touching the listener or open connections, and a file
//!   that does not load leaves the old certificate in use.
//! - [`TlsListener`] is an [`axum::serve::Listener`]: it accepts TCP
//!   connections and runs each handshake as a task of its own (at most
//!   [`MAX_HANDSHAKES`] at once, each within [`HANDSHAKE_TIMEOUT`]), so a
//!   client that stalls in its handshake delays nobody. [`WithPeer`] gives
//!   handlers the client's address as `ConnectInfo<SocketAddr>`, as the
//!   plain listener does.
//! - [`Certificates::probe_config`] is a client configuration that trusts
//!   exactly the certificate being served, for Candor's own monitors.

#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::{Ready, ready};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arc_swap::ArcSwap;
use axum::Extension;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::{IncomingStream, Listener};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{DigitallySignedStruct, ServerConfig, SignatureScheme};

/// A TLS client configuration, as [`Certificates::probe_config`] makes it.
pub use rustls::ClientConfig;
use sha2::{Digest, Sha256};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;

/// Handshakes in progress at once on one listener; a connection beyond
/// this is closed at once (a flood of half-open handshakes holds at most
/// this many tasks and buffers).
pub const MAX_HANDSHAKES: usize = 1024;

/// A handshake must complete within this, or the connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The two PEM files of a certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFiles {
    /// The certificate chain: the server's certificate first, then the
    /// intermediates (a CA's `fullchain.pem`).
    pub cert: PathBuf,
    /// The private key of the first certificate (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why a certificate could not be loaded.
#[derive(Debug)]
pub enum TlsError {
    /// A file could not be read or holds no valid PEM.
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The key does not belong to the certificate, or rustls refuses it.
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl std::fmt::Display for TlsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsError::File { path, reason } | TlsError::Key { path, reason } => {
                write!(f, "{}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for TlsError {}

/// The crypto provider: ring, as for the webhook client.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The error for `path` with `reason`.
fn file_error(path: &Path, reason: impl std::fmt::Display) -> TlsError {
    TlsError::File {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Reads the chain and key of `files` and checks that the key is the
/// first certificate's.
pub fn load(files: &CertFiles) -> Result<Arc<CertifiedKey>, TlsError> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .map_err(|e| file_error(&files.cert, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(&files.cert, e))?;
    if chain.is_empty() {
        return Err(file_error(
            &files.cert,
            "no certificate (expected PEM blocks BEGIN CERTIFICATE)",
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        file_error(
            &files.key,
            format!("no private key ({e}; expected a PEM block BEGIN PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)"),
        )
    })?;
    let certified = CertifiedKey::from_der(chain, key, &provider()).map_err(|e| TlsError::Key {
        path: files.key.clone(),
        reason: match e {
            rustls::Error::InconsistentKeys(_) => format!(
                "this key does not belong to the first certificate of {}",
                files.cert.display()
            ),
            other => format!("unusable key: {other}"),
        },
    })?;
    Ok(Arc::new(certified))
}

/// The SHA-256 fingerprint of a certificate, as `openssl x509 -fingerprint
/// -sha256` prints it (upper-case hex pairs separated by colons).
pub fn fingerprint(cert: &CertificateDer<'_>) -> String {
    let digest = Sha256::digest(cert.as_ref());
    let mut out = String::with_capacity(digest.len() * 3);
    for (i, byte) in digest.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{byte:02X}");
    }
    out
}

/// The certificate in use and where it is read from; the certificate
/// resolver of every TLS listener made from it.
#[derive(Debug)]
pub struct Certificates {
    /// Where the certificate is read from.
    files: CertFiles,
    /// The certificate in use.
    current: ArcSwap<CertifiedKey>,
}

impl Certificates {
    /// Loads `files`.
    pub fn load(files: CertFiles) -> Result<Arc<Certificates>, TlsError> {
        let current = load(&files)?;
        Ok(Arc::new(Certificates {
            files,
            current: ArcSwap::new(current),
        }))
    }

    /// Reads the files again and, if they load, serves them from the next
    /// handshake on; otherwise keeps the certificate in use. Returns the
    /// new certificate's fingerprint.
    pub fn reload(&self) -> Result<String, TlsError> {
        let next = load(&self.files)?;
        let print = next.cert.first().map(fingerprint).unwrap_or_default();
        self.current.store(next);
        Ok(print)
    }

    /// The files it reads.
    pub fn files(&self) -> &CertFiles {
        &self.files
    }

    /// The fingerprint of the certificate in use.
    pub fn fingerprint(&self) -> String {
        self.current
            .load()
            .cert
            .first()
            .map(fingerprint)
            .unwrap_or_default()
    }

    /// A server configuration (TLS 1.2 and 1.3, HTTP/1.1) that serves the
    /// certificate in use at each handshake.
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<ServerConfig>, rustls::Error> {
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// A client configuration that accepts exactly the certificate in use
    /// (at the time of each handshake): Candor's monitors probe its own
    /// API with it, whoever issued the certificate.
    pub fn probe_config(self: &Arc<Self>) -> Result<Arc<ClientConfig>, rustls::Error> {
        let provider = provider();
        let verifier = Arc::new(Pinned {
            certificates: self.clone(),
            algorithms: provider.signature_verification_algorithms,
        });
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// A verifier that accepts the certificate a [`Certificates`] serves and
/// nothing else, and checks the handshake's signatures.
#[derive(Debug)]
struct Pinned {
    /// The certificates served.
    certificates: Arc<Certificates>,
    /// The provider's signature algorithms.
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let current = self.certificates.current.load();
        if current.cert.first().map(CertificateDer::as_ref) == Some(end_entity.as_ref()) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Starts TLS as a client on `tcp` with `config` (from
/// [`Certificates::probe_config`]): the monitors' HTTPS probe of the API.
pub async fn connect(
    config: Arc<ClientConfig>,
    tcp: TcpStream,
) -> std::io::Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let name = ServerName::IpAddress(tcp.peer_addr()?.ip().into());
    tokio_rustls::TlsConnector::from(config)
        .connect(name, tcp)
        .await
}

/// A connection whose handshake completed.
pub type TlsStream = tokio_rustls::server::TlsStream<TcpStream>;

/// A TLS listener for [`axum::serve`]: accepted connections come out of
/// [`Listener::accept`] once their handshake is done.
pub struct TlsListener {
    /// Completed handshakes.
    incoming: mpsc::Receiver<(TlsStream, SocketAddr)>,
    /// The bound address.
    local: SocketAddr,
    /// The accept loop (aborted on drop, which closes the socket).
    task: JoinHandle<()>,
}

impl TlsListener {
    /// Serves TLS with `config` on the connections of `tcp`.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let (tx, incoming) = mpsc::channel(64);
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let task = tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(TlsListener {
            incoming,
            local,
            task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts connections and starts a handshake task for each.
async fn accept_loop(
    tcp: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    done: mpsc::Sender<(TlsStream, SocketAddr)>,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait a little, as
                // axum's own listener does.
                tracing::debug!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(%peer, "too many TLS handshakes in progress: connection closed");
            continue;
        };
        let (acceptor, done) = (acceptor.clone(), done.clone());
        tokio::spawn(async move {
            let _slot = slot;
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = done.send((tls, peer)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = TlsStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.incoming.recv().await {
            Some(accepted) => accepted,
            // The accept loop never ends while the listener lives.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// The make-service for [`axum::serve`] over a [`TlsListener`]: each
/// connection gets the router with the client's address as
/// `ConnectInfo<SocketAddr>`, as `into_make_service_with_connect_info`
/// gives it over plain TCP.
#[derive(Clone)]
pub struct WithPeer(
    /// The router every connection gets.
    pub Router,
);

impl<'a> tower_service::Service<IncomingStream<'a, TlsListener>> for WithPeer {
    type Response = Router;
    type Error = Infallible;
    type Future = Ready<Result<Router, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, stream: IncomingStream<'a, TlsListener>) -> Self::Future {
        let peer = *stream.remote_addr();
        ready(Ok(self.0.clone().layer(Extension(ConnectInfo(peer)))))
    }
}

#[cfg(any(test, feature = "test-certs"))]
pub mod test_certs;
#[cfg(test)]
mod tests;
