//! `GET /v2/{account}/traffic/top`: the last second's busiest zones from
//! the shared counters, ordered as asked; bad parameters name the field.

use candor_traffic::worker::{Counts, WindowReport, ZoneCounts};
use candor_zone::{ZoneId, ZoneSet};

use super::Harness;

/// Two zones' window, folded and closed into a one-second snapshot.
fn count(h: &Harness) {
    let report = WindowReport {
        zones: vec![
            ZoneCounts {
                id: ZoneId::of(b"\x04busy\x07example\x00"),
                pos: 0,
                counts: Counts {
                    queries: 900,
                    nxdomain: 10,
                    rrl: 0,
                    shed: 0,
                },
            },
            ZoneCounts {
                id: ZoneId::of(b"\x06victim\x07example\x00"),
                pos: 1,
                counts: Counts {
                    queries: 500,
                    nxdomain: 450,
                    rrl: 20,
                    shed: 0,
                },
            },
        ],
        ..WindowReport::default()
    };
    h.traffic.fold(0, &report, &ZoneSet::new());
    h.traffic.tick(1_700_000_000, 1.0);
}

/// The operator reads the top zones by queries or by NXDOMAIN ratio.
#[tokio::test]
async fn the_operator_reads_the_top_zones() {
    let h = Harness::new();
    count(&h);
    let path = format!("/v2/{}/traffic/top", h.account);
    let reply = h.call_as(Some(&h.token), "GET", &path, None).await;
    assert_eq!(reply.status, 200, "{:#}", reply.json);
    let data = &reply.json["data"];
    assert_eq!(data["enabled"], true);
    assert_eq!(data["total"]["queries"], 1400);
    assert_eq!(data["zones"][0]["qps"], 900.0);
    assert_eq!(data["zones"][0]["totals"]["nxdomain"], 10);
    let reply = h
        .call_as(
            Some(&h.token),
            "GET",
            &format!("{path}?order=nxdomain&limit=1"),
            None,
        )
        .await;
    let zones = reply.json["data"]["zones"]
        .as_array()
        .expect("zones")
        .clone();
    assert_eq!(zones.len(), 1);
    assert_eq!(zones[0]["nxdomain_ratio"], 0.9);
    assert_eq!(zones[0]["rrl_per_second"], 20.0);
}

/// Unknown orders and out-of-range limits are refused, naming the field.
#[tokio::test]
async fn bad_parameters_name_the_field() {
    let h = Harness::new();
    for (query, field) in [
        ("order=loud", "order"),
        ("limit=0", "limit"),
        ("limit=x", "limit"),
    ] {
        let path = format!("/v2/{}/traffic/top?{query}", h.account);
        let reply = h.call_as(Some(&h.token), "GET", &path, None).await;
        assert_eq!(reply.status, 400, "{query}: {:#}", reply.json);
        assert!(
            reply.json.to_string().contains(field),
            "{query}: {:#}",
            reply.json
        );
    }
}
