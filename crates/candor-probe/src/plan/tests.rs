//! Tests of the round plan and the vantage point syntax.

use super::*;

/// A target of `kind` at `addr`.
fn target(id: i64, kind: ComponentKind, addr: &str) -> Target {
    Target {
        id,
        kind,
        addr: addr.parse().unwrap(),
        tls: None,
    }
}

/// Each target from each vantage point of its family; `Other` components
/// are not probed; without a source address, the family's unspecified one.
#[test]
fn every_target_from_every_vantage_point_of_its_family() {
    let targets = [
        target(1, ComponentKind::NameServer, "127.0.0.1:53"),
        target(2, ComponentKind::NameServer, "[::1]:53"),
        target(3, ComponentKind::Api, "127.0.0.1:8080"),
        target(4, ComponentKind::Other, "127.0.0.1:9"),
    ];
    let vantages = [
        Vantage::parse("lo=127.0.0.1").unwrap(),
        Vantage::parse("lo2=127.0.0.2").unwrap(),
        Vantage::parse("::1").unwrap(),
    ];
    let got: Vec<(i64, String, String)> = plan(&targets, &vantages)
        .into_iter()
        .map(|p| (p.target.id, p.vantage, p.source.to_string()))
        .collect();
    let want: Vec<(i64, String, String)> = [
        (1, "lo", "127.0.0.1"),
        (1, "lo2", "127.0.0.2"),
        (2, "::1", "::1"),
        (3, "lo", "127.0.0.1"),
        (3, "lo2", "127.0.0.2"),
    ]
    .iter()
    .map(|(id, v, s)| (*id, (*v).to_owned(), (*s).to_owned()))
    .collect();
    assert_eq!(got, want);

    let local: Vec<String> = plan(&targets[..2], &[Vantage::local()])
        .into_iter()
        .map(|p| p.source.to_string())
        .collect();
    assert_eq!(local, ["0.0.0.0", "::"]);
}

/// `NAME=IP` and `IP`; anything else says what is wrong.
#[test]
fn vantage_syntax() {
    let v = Vantage::parse("lo2=127.0.0.2").unwrap();
    assert_eq!(
        (v.name.as_str(), v.source),
        ("lo2", Some(IpAddr::from([127, 0, 0, 2])))
    );
    let v = Vantage::parse(" ::1 ").unwrap();
    assert_eq!(
        (v.name.as_str(), v.source),
        ("::1", Some(IpAddr::from(Ipv6Addr::LOCALHOST)))
    );
    assert_eq!(
        Vantage::parse("x=y").unwrap_err(),
        r#"--status-vantage "x=y": "y" is not an IP address"#
    );
}
