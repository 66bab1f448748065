//! Tests of the HTTP probe's request and judgement.

use super::*;

/// Status lines in a table: which are up for the API and the redirector.
#[test]
fn status_codes_are_judged_per_component() {
    let api = Check::for_kind(ComponentKind::Api).unwrap();
    let redirector = Check::for_kind(ComponentKind::Redirector).unwrap();
    let cases: &[(&Check, &str, Result<(), &str>)] = &[
        (&api, "HTTP/1.1 200 OK\r\n", Ok(())),
        (&api, "HTTP/1.0 200 OK\r\n", Ok(())),
        (
            &api,
            "HTTP/1.1 404 Not",
            Err("HTTP 404 for GET /v2/openapi.json"),
        ),
        (&redirector, "HTTP/1.1 404 Not", Ok(())),
        (&redirector, "HTTP/1.1 301 Moved", Ok(())),
        (&redirector, "HTTP/1.1 502 Bad", Err("HTTP 502 for GET /")),
        (&api, "SSH-2.0-OpenSSH", Err("not an HTTP response")),
        (&api, "HTTP/2 200 ok", Err("not an HTTP response")),
    ];
    for (check, head, want) in cases {
        assert_eq!(
            check.judge(head.as_bytes()),
            want.map_err(str::to_owned),
            "{head:?}"
        );
    }
    assert_eq!(Check::for_kind(ComponentKind::NameServer), None);
    assert_eq!(Check::for_kind(ComponentKind::Other), None);
}

/// The request names the host and closes the connection.
#[test]
fn the_request() {
    let api = Check::for_kind(ComponentKind::Api).unwrap();
    assert_eq!(
        api.request("127.0.0.1:8080".parse().unwrap()),
        "GET /v2/openapi.json HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: candor-monitor\r\nConnection: close\r\n\r\n"
    );
}

/// Answered, answered wrongly, or nothing in time.
#[test]
fn verdicts() {
    let (took, timeout) = (Duration::from_millis(5), Duration::from_millis(700));
    assert_eq!(
        verdict(Some(Ok(())), took, timeout),
        Outcome::Ok { latency_ms: 5 }
    );
    assert_eq!(
        verdict(Some(Err("HTTP 502 for GET /".into())), took, timeout),
        Outcome::Failed {
            reason: "http: HTTP 502 for GET /".into()
        }
    );
    assert_eq!(
        verdict(None, timeout, timeout),
        Outcome::Failed {
            reason: "http: no response within 700 ms".into()
        }
    );
}
