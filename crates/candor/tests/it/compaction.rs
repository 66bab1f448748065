//! Background compaction through the real binary (docs/incremental.md):
//! record writes through the API grow the zone's overlay, the server
//! compacts it in the background and publishes the result, and every
//! acknowledged write stays served throughout.

use std::time::{Duration, Instant};

use crate::http::request;
use crate::store::{addresses, host_with};
use crate::support::TempDir;

/// Writes of new names through the API with a small compaction threshold:
/// each is served when its response arrives, the server compacts the
/// overlay several times while the writes go on (its log says so), and
/// afterwards every name written still answers with its address.
#[test]
fn writes_are_compacted_in_the_background_and_stay_served() {
    let dir = TempDir::new("candor-compaction");
    let h = host_with(
        dir.path(),
        None,
        &["--compact-overlay-names".to_owned(), "8".to_owned()],
    );
    let path = format!("/v2/{}/zones/example.com/records", h.account);
    let ip = |i: usize| format!("198.51.100.{}", i + 1);
    let writes = 60;
    for i in 0..writes {
        let body = format!(
            r#"{{"name":"c{i}","type":"A","content":"{}","ttl":300}}"#,
            ip(i)
        );
        let r = request(h.api, "POST", &path, Some(&h.token), Some(&body));
        assert_eq!(r.status, 201, "write {i}: {}", r.body);
        let name = format!("c{i}.example.com.");
        assert_eq!(
            addresses(h.candor.addr(), &name),
            [ip(i)],
            "{name} served at once"
        );
    }
    let compactions = || {
        h.candor
            .log()
            .matches("compacted the zone's overlay into a new base")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while compactions() < 3 {
        assert!(
            Instant::now() < deadline,
            "{} compactions in the log:\n{}",
            compactions(),
            h.candor.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for i in 0..writes {
        let name = format!("c{i}.example.com.");
        assert_eq!(
            addresses(h.candor.addr(), &name),
            [ip(i)],
            "{name} still served"
        );
    }
}
