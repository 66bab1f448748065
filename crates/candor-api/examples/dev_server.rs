//! A development server for trying the API with real clients.
//!
//! It serves the router on 127.0.0.1 over an in-memory store seeded with one
//! account and token, and runs a tiny UDP name server on 127.0.0.1 that
//! answers from the published zones, so distribution checks work. It prints
//! `base_url=...`, `token=...`, `account_id=...` and `nameserver=...`, one
//! per line, then serves until killed:
//!
//! ```text
//! cargo run -p candor-api --example dev_server [127.0.0.1:PORT]
//! python3 tests/python/dnsimple_client.py "$base_url" "$token" "$account_id"
//! ```

use std::error::Error;
use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Arc, Mutex, PoisonError};

use candor_answer::{Config, CookieSecrets, Cookies, Request, Transport, respond};
use candor_api::{ApiState, router};
use candor_store::{Store, StoreConfig, ZoneChange};
use candor_wire::Name;
use candor_zone::ZoneSet;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let listen = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let root = Name::root();
    let config = StoreConfig {
        nameservers: vec![Name::from_text("ns1.candor.test", Some(&root))?],
        hostmaster: Name::from_text("hostmaster.candor.test", Some(&root))?,
        default_ttl: 3600,
        soa_refresh: 3600,
        soa_retry: 600,
        soa_expire: 604_800,
        soa_minimum: 300,
        redirector: Vec::new(),
        region: None,
    };
    let store = Arc::new(Store::open_in_memory(config)?);
    let account = store.create_account("dev@example.com")?;
    let (_, token) = store.create_token(account.id, "dev")?;

    let served = Arc::new(Mutex::new(ZoneSet::new()));
    let dns = UdpSocket::bind("127.0.0.1:0")?;
    let dns_addr = dns.local_addr()?;
    let zones = Arc::clone(&served);
    std::thread::spawn(move || serve_dns(&dns, &zones));

    let publish = move |change: &ZoneChange| {
        let mut set = served.lock().unwrap_or_else(PoisonError::into_inner);
        match &change.compiled {
            Some(zone) => set.insert(Arc::clone(zone)),
            None => {
                if let Ok(apex) = Name::from_text(&change.zone.name, Some(&Name::root())) {
                    *set = set.without(apex.to_lowercase().as_wire());
                }
            }
        }
    };
    let app = router(ApiState {
        store,
        publish: Arc::new(publish),
        nameservers: vec![dns_addr],
        rate_limit_per_hour: 5000,
        status: None,
        webhook_allow_private: true,
        zone_notes: Arc::new(|_: &candor_store::Store, _: &str| Vec::new()),
        traffic: None,
        secondaries: candor_api::Secondaries::none(),
        status_changed: Arc::new(|| {}),
    });
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    let addr = listener.local_addr()?;
    let mut out = std::io::stdout();
    writeln!(out, "base_url=http://{addr}")?;
    writeln!(out, "token={token}")?;
    writeln!(out, "account_id={}", account.id)?;
    writeln!(out, "nameserver={dns_addr}")?;
    out.flush()?;
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await?;
    Ok(())
}

/// A UDP request for `msg` from `peer` (the time only dates server
/// cookies, which these tests do not check).
fn request(msg: &[u8], peer: std::net::SocketAddr) -> Request<'_> {
    Request {
        msg,
        transport: Transport::Udp,
        client: peer.ip(),
        now: 0,
    }
}

/// Answers DNS queries on `socket` from the current zone set, forever.
fn serve_dns(socket: &UdpSocket, zones: &Mutex<ZoneSet>) {
    let config = Config {
        max_udp_payload: 1232,
        nsid: None,
        aliases: Default::default(),
        cookies: Cookies::new(CookieSecrets::new([0; 16], None)),
    };
    let mut query = vec![0u8; 4096];
    let mut out = vec![0u8; 65535];
    loop {
        let Ok((len, peer)) = socket.recv_from(&mut query) else {
            continue;
        };
        let set = zones.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = respond(&set, &config, &request(&query[..len], peer), &mut out) {
            // A lost answer is the client's timeout to handle.
            let _ = socket.send_to(&out[..n.len], peer);
        }
    }
}
