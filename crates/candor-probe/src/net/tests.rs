//! The probes against real sockets on 127.0.0.1.

use std::net::Ipv4Addr;

use tokio::net::TcpListener;

use super::*;
use crate::dns::tests::response;
use crate::plan::Target;
use candor_wire::Header;

/// The loopback address, as a probe's source.
const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// The canary of these tests.
fn canary() -> Ask {
    Ask::canary("example.com").expect("a name")
}

/// A name server on UDP and TCP at one port: over UDP it first sends a
/// message with another ID (which must be skipped), then the answer; over
/// TCP it answers with `tcp_flags` (or closes at once with `None`).
async fn server(tcp_flags: Option<u16>) -> SocketAddr {
    // A UDP port whose TCP twin is free too: another test (or process)
    // may hold the TCP port of the number the kernel picked for UDP.
    let mut tries = 0;
    let (udp, tcp, addr) = loop {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        match TcpListener::bind(addr).await {
            Ok(tcp) => break (udp, tcp, addr),
            Err(e) => {
                tries += 1;
                assert!(tries < 100, "no port free for both UDP and TCP: {e}");
            }
        }
    };
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        while let Ok((_, from)) = udp.recv_from(&mut buf).await {
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            let good = Header::QR | Header::AA;
            let _ = udp
                .send_to(&response(id.wrapping_add(1), good, 0, true), from)
                .await;
            let _ = udp.send_to(&response(id, good, 0, true), from).await;
        }
    });
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = tcp.accept().await {
            let Some(flags) = tcp_flags else { continue };
            let mut len = [0u8; 2];
            let _ = stream.read_exact(&mut len).await;
            let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
            let _ = stream.read_exact(&mut q).await;
            let r = response(u16::from_be_bytes([q[0], q[1]]), flags, 0, true);
            let mut framed = (r.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&r);
            let _ = stream.write_all(&framed).await;
        }
    });
    addr
}

/// Both legs answered (the UDP leg skipped a message with another ID).
#[tokio::test]
async fn a_good_server_is_ok() {
    let addr = server(Some(Header::QR | Header::AA)).await;
    let outcome = dns(LO, addr, &canary(), Duration::from_secs(5)).await;
    assert!(matches!(outcome, Outcome::Ok { .. }), "{outcome:?}");
}

/// TCP closes without an answer, or answers without AA: impaired, with the
/// TCP leg's reason.
#[tokio::test]
async fn a_broken_tcp_leg_is_impaired() {
    for (flags, why) in [
        (None, "tcp: connection closed without an answer"),
        (Some(Header::QR), "tcp: answer without the AA flag"),
    ] {
        let addr = server(flags).await;
        match dns(LO, addr, &canary(), Duration::from_secs(5)).await {
            Outcome::Impaired { reason, .. } => assert!(reason.starts_with(why), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}

/// Nobody there: UDP hears nothing in time, TCP is refused.
#[tokio::test]
async fn nobody_there_fails() {
    let addr = {
        let s = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        s.local_addr().unwrap()
    };
    let outcome = dns(LO, addr, &canary(), Duration::from_millis(300)).await;
    let Outcome::Failed { reason } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(reason.contains("udp: "), "{reason}");
    assert!(reason.contains("tcp: connection refused"), "{reason}");
}

/// An HTTP server answering `status`; the redirector's check judges it,
/// and a probe of a `Other` component is not made.
#[tokio::test]
async fn http_probes() {
    for (status, up) in [("404 Not Found", true), ("503 Unavailable", false)] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reply = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        tokio::spawn(async move {
            if let Ok((mut s, _)) = listener.accept().await {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply.as_bytes()).await;
            }
        });
        let probe = Probe {
            target: Target {
                id: 3,
                kind: ComponentKind::Redirector,
                addr,
                tls: None,
            },
            vantage: "lo".into(),
            source: LO,
        };
        let o = observe(&probe, &Ask::Root, Duration::from_secs(5))
            .await
            .expect("probed");
        assert_eq!((o.component_id, o.vantage.as_str()), (3, "lo"));
        assert_eq!(
            matches!(o.outcome, Outcome::Ok { .. }),
            up,
            "{status}: {o:?}"
        );
    }
    let other = Probe {
        target: Target {
            id: 4,
            kind: ComponentKind::Other,
            addr: "127.0.0.1:9".parse().unwrap(),
            tls: None,
        },
        vantage: "lo".into(),
        source: LO,
    };
    assert_eq!(
        observe(&other, &Ask::Root, Duration::from_millis(10)).await,
        None
    );
}
