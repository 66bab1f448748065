//! DNS over TCP (RFC 7766): two-byte length framing, several queries per
//! connection, an idle timeout, and a cap on concurrent connections.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use candor_answer::{Config, Transport, respond};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::SharedZones;
use crate::stats::Stats;
use crate::xfr::{Transfers, serve_special};

/// Settings for the TCP side.
#[derive(Clone, Debug)]
pub struct TcpConfig {
    /// Most connections open at once; further ones wait in the backlog.
    pub max_connections: usize,
    /// A connection with no complete query for this long is closed
    /// (RFC 7766 §6.2.3 suggests a few seconds).
    pub idle_timeout: Duration,
    /// Answering settings.
    pub answer: Config,
    /// Zone transfers (AXFR, IXFR); without them every transfer request is
    /// refused by the answer path.
    pub transfers: Option<Arc<Transfers>>,
}

thread_local! {
    /// Response scratch space: `respond` is synchronous, so one buffer per
    /// runtime thread serves every connection on it.
    static SCRATCH: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 65535]);
}

/// Accepts connections on `listener` until `shutdown` turns true.
pub async fn serve_tcp(
    listener: TcpListener,
    zones: SharedZones,
    config: TcpConfig,
    stats: Arc<Stats>,
    mut shutdown: watch::Receiver<bool>,
) {
    let limit = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let config = Arc::new(config);
    loop {
        // Wait for a free slot first, so excess clients queue in the kernel.
        let permit = tokio::select! {
            p = limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "tcp accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let zones = zones.clone();
        let config = config.clone();
        let stats = stats.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            connection(stream, peer, &zones, &config, &stats, shutdown).await;
            drop(permit);
        });
    }
}

/// Serves one connection: read a framed query, answer, repeat.
async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    zones: &SharedZones,
    config: &TcpConfig,
    stats: &Stats,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut query = vec![0u8; 512];
    let mut out = Vec::with_capacity(512);
    loop {
        let mut len = [0u8; 2];
        let read = tokio::select! {
            r = tokio::time::timeout(config.idle_timeout, stream.read_exact(&mut len)) => r,
            _ = shutdown.changed() => return,
        };
        if !matches!(read, Ok(Ok(_))) {
            return; // Idle timeout, EOF or error.
        }
        let len = usize::from(u16::from_be_bytes(len));
        if query.len() < len {
            query.resize(len, 0);
        }
        match tokio::time::timeout(config.idle_timeout, stream.read_exact(&mut query[..len])).await
        {
            Ok(Ok(_)) => {}
            _ => return,
        }
        stats
            .received
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(transfers) = &config.transfers
            && let Some(special) = candor_xfr::special(&query[..len])
        {
            // A transfer writes many frames, a signed query one signed
            // answer; the connection goes on after either.
            let request = &query[..len];
            if !serve_special(&mut stream, transfers, special, request, peer, config).await {
                return;
            }
            continue;
        }
        let answered = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let zones = zones.load();
            let n = respond(
                &zones,
                &config.answer,
                &query[..len],
                Transport::Tcp,
                &mut scratch,
            )?;
            out.clear();
            out.extend_from_slice(&(n as u16).to_be_bytes());
            out.extend_from_slice(&scratch[..n]);
            Some(n)
        });
        let Some(_) = answered else {
            // Not a query: nothing sensible can follow on this stream.
            stats
                .dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        };
        stats.count_response(&out[2..]);
        match tokio::time::timeout(config.idle_timeout, stream.write_all(&out)).await {
            Ok(Ok(())) => {}
            _ => return,
        }
    }
}
