//! The probes' I/O: sockets bound to the vantage point's source address,
//! timeouts, and nothing else. What to send and what the answers mean is
//! decided in [`crate::dns`] and [`crate::http`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use candor_status::engine::{Observation, Outcome};
use candor_status::model::ComponentKind;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};

use crate::dns::{Ask, Leg, Reply};
use crate::http::Check;
use crate::plan::Probe;

#[cfg(test)]
mod tests;

/// Makes one probe of a round; `None` for a component that is not probed.
pub async fn observe(probe: &Probe, ask: &Ask, timeout: Duration) -> Option<Observation> {
    let at = candor_status::db::now();
    let (source, addr) = (probe.source, probe.target.addr);
    let outcome = match probe.target.kind {
        ComponentKind::NameServer => dns(source, addr, ask, timeout).await,
        kind => {
            let tls = probe.target.tls.clone();
            http(source, addr, Check::for_kind(kind)?, tls, timeout).await
        }
    };
    Some(Observation {
        component_id: probe.target.id,
        vantage: probe.vantage.clone(),
        at,
        outcome,
    })
}

/// Asks `target` over UDP and over TCP at once (a silent server costs one
/// timeout, not two), from `source`.
pub async fn dns(source: IpAddr, target: SocketAddr, ask: &Ask, timeout: Duration) -> Outcome {
    let (udp, tcp) = tokio::join!(
        leg(timeout, dns_udp(source, target, ask)),
        leg(timeout, dns_tcp(source, target, ask)),
    );
    crate::dns::verdict(&udp, &tcp, timeout)
}

/// Runs one leg for at most `timeout`.
async fn leg(timeout: Duration, f: impl Future<Output = Result<(), String>>) -> Leg {
    let started = Instant::now();
    match tokio::time::timeout(timeout, f).await {
        Ok(Ok(())) => Leg::Answered(started.elapsed()),
        Ok(Err(e)) => Leg::Failed(e),
        Err(_) => Leg::TimedOut,
    }
}

/// An I/O error in words, without the OS error number:
/// `connection refused`.
fn io_text(e: std::io::Error) -> String {
    if e.raw_os_error().is_some() {
        e.kind().to_string()
    } else {
        e.to_string()
    }
}

/// A message ID that is hard to guess (from the standard library's
/// randomly keyed hasher: no dependency for 16 bits).
fn random_id() -> u16 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0u8) as u16
}

/// The UDP leg: sends the query and waits for our answer, skipping
/// messages that are not.
async fn dns_udp(source: IpAddr, target: SocketAddr, ask: &Ask) -> Result<(), String> {
    let socket = UdpSocket::bind(SocketAddr::new(source, 0))
        .await
        .map_err(|e| format!("cannot bind {source}: {e}"))?;
    socket.connect(target).await.map_err(io_text)?;
    let id = random_id();
    socket.send(&ask.query(id)).await.map_err(io_text)?;
    let mut buf = vec![0u8; 4096];
    loop {
        let n = socket.recv(&mut buf).await.map_err(io_text)?;
        match ask.check(&buf[..n], id) {
            Reply::Good => return Ok(()),
            Reply::NotOurs => {}
            Reply::Wrong(why) => return Err(why),
        }
    }
}

/// A TCP connection to `target` from `source`.
async fn connect(source: IpAddr, target: SocketAddr) -> Result<TcpStream, String> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(io_text)?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("cannot bind {source}: {e}"))?;
    socket.connect(target).await.map_err(io_text)
}

/// The TCP leg: one framed query, one framed answer.
async fn dns_tcp(source: IpAddr, target: SocketAddr, ask: &Ask) -> Result<(), String> {
    let mut stream = connect(source, target).await?;
    let id = random_id();
    let q = ask.query(id);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    stream.write_all(&framed).await.map_err(io_text)?;
    let mut len = [0u8; 2];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| format!("connection closed without an answer ({e})"))?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).await.map_err(io_text)?;
    match ask.check(&buf, id) {
        Reply::Good => Ok(()),
        Reply::NotOurs => Err("answer to another question".into()),
        Reply::Wrong(why) => Err(why),
    }
}

/// A connection a probe talks HTTP over: TCP, or TLS over TCP.
trait ProbeIo: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}

impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> ProbeIo for T {}

/// `GET` over HTTP/1.1 from `source` (over TLS with `tls`), judged by
/// `check`.
pub async fn http(
    source: IpAddr,
    target: SocketAddr,
    check: Check,
    tls: Option<Arc<candor_tls::ClientConfig>>,
    timeout: Duration,
) -> Outcome {
    let started = Instant::now();
    let result = tokio::time::timeout(timeout, async {
        let tcp = connect(source, target).await?;
        let mut stream: Box<dyn ProbeIo> = match tls {
            Some(config) => Box::new(
                candor_tls::connect(config, tcp)
                    .await
                    .map_err(|e| format!("tls: {e}"))?,
            ),
            None => Box::new(tcp),
        };
        stream
            .write_all(check.request(target).as_bytes())
            .await
            .map_err(io_text)?;
        let mut head = [0u8; 64];
        let mut got = 0;
        while got < 12 {
            let n = stream.read(&mut head[got..]).await.map_err(io_text)?;
            if n == 0 {
                return Err("connection closed without a response".to_owned());
            }
            got += n;
        }
        check.judge(&head[..got])
    })
    .await;
    crate::http::verdict(result.ok(), started.elapsed(), timeout)
}
