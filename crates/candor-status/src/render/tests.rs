//! Tests of the rendered HTML, JSON, Atom and notifications, on the
//! fixture page.

use expect_test::expect;
use serde_json::Value;

use crate::model::{Event, PageSnapshot};
use crate::render::fixture::{MAINTENANCE_ID, NOW, OPEN_ID, RESOLVED_ID, snapshot};
use crate::render::{atom, duration, html, json, notify, paragraphs, percent, rfc3339};

/// The position of `needle` in `haystack`, failing the test when absent.
#[track_caller]
fn find(haystack: &str, needle: &str) -> usize {
    match haystack.find(needle) {
        Some(at) => at,
        None => panic!("{needle:?} not found in:\n{haystack}"),
    }
}

/// Fails unless the needles appear in this order.
#[track_caller]
fn in_order(haystack: &str, needles: &[&str]) {
    let positions: Vec<usize> = needles.iter().map(|n| find(haystack, n)).collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "not in order {needles:?}: {positions:?}"
    );
}

/// The incident of the snapshot with this public id.
fn view<'a>(snapshot: &'a PageSnapshot, public_id: &str) -> &'a crate::model::IncidentView {
    snapshot
        .open_incidents
        .iter()
        .chain(&snapshot.maintenances)
        .chain(&snapshot.history)
        .find(|v| v.incident.public_id == public_id)
        .expect("fixture incident")
}

#[test]
fn render_helpers() {
    assert_eq!(rfc3339(NOW), "2026-11-26T11:03:00.000Z");
    assert_eq!(rfc3339(i64::MAX), "9999-12-31T23:59:59.000Z");
    assert_eq!(super::human_time(NOW), "26 Nov 2026, 11:03 UTC");
    assert_eq!(super::human_time(NOW + 6 * 86_400), "2 Dec 2026, 11:03 UTC");
    assert_eq!(duration(65 * 60), "1 h 5 min");
    assert_eq!(duration(40), "40 s");
    assert_eq!(duration(2 * 86_400 + 3 * 3600 + 60), "2 d 3 h");
    assert_eq!(percent(100.0), "100%");
    assert_eq!(percent(99.999), "99.99%");
    assert_eq!(
        paragraphs("one\ntwo  \n\n \n\nthree\r\n"),
        vec![vec!["one", "two"], vec!["three"]]
    );
}

#[test]
fn render_index_page() {
    let snapshot = snapshot();
    let page = html::index(&snapshot);
    assert!(
        page.starts_with("<!DOCTYPE html><html lang=\"en\">"),
        "{}",
        &page[..80]
    );
    assert!(!page.contains("<script"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no external assets"
    );
    find(
        &page,
        r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#,
    );
    find(
        &page,
        r#"<link rel="alternate" type="application/atom+xml" title="Candor status incident history" href="/history.atom">"#,
    );
    in_order(
        &page,
        &[
            "<h1 class=\"name\"><a href=\"/\">Candor status</a></h1>",
            "Partial System Outage",
            "Open incidents",
            "ns2.candor.test (Frankfurt) not answering",
            "Scheduled maintenance",
            "Kernel upgrade on ns1",
            "27 Nov 2026, 02:00 – 04:00 UTC",
            "Components",
            "Past incidents",
            "<footer",
            "/api/v2/summary.json",
            "Generated at",
        ],
    );
    // Components with their state in words.
    in_order(
        &page[find(&page, "<h2 id=\"components\">")..],
        &[
            "ns1.candor.test",
            "Amsterdam",
            "Operational",
            "ns2.candor.test",
            "Frankfurt",
            "Partial outage",
            "API",
            "The REST API for zones and records.",
        ],
    );
    // The timeline, newest first, with sources and absolute times.
    in_order(
        &page,
        &[
            "<strong>Identified</strong>",
            "<p>Our transit provider in Frankfurt drops packets to ns2.</p><p>ns1 still answers",
            "Posted <time datetime=\"2026-11-26T10:58:00.000Z\">26 Nov 2026, 10:58 UTC</time> · Operator · edited <time datetime=\"2026-11-26T11:01:00.000Z\">",
            "<details>",
            "The network in Frankfurt has a problem.",
            "</details>",
            "ALIAS refresh is off",
            "Mitigation",
            "3 of 4 vantage points",
            "Automatic (monitors)",
        ],
    );
    // The earlier wording is inside the details element.
    let details = find(&page, "<details>");
    let revision = find(&page, "The network in Frankfurt has a problem.");
    assert!(revision > details && revision < find(&page, "</details>"));
    // The latest probe from each vantage point, failures named.
    find(
        &page,
        "ams 38 ms; fra <span class=\"fail\">failed (udp: no answer within 2000 ms)</span>",
    );
    // 90 bars per component, each with a tooltip a line each: the day,
    // its figures and its incidents.
    let bars = page
        .match_indices("title=\"")
        .filter(|(i, _)| page[i + 7..].starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(bars, 3 * 90);
    find(
        &page,
        "title=\"27 Oct 2026\n94.79% uptime, mean answer 3 ms\n6 partial-outage rounds, 12 major-outage rounds\"",
    );
    find(
        &page,
        "title=\"26 Nov 2026\n98.49% uptime, mean answer 41 ms\n4 partial-outage rounds\nIncident: ns2.candor.test (Frankfurt) not answering\"",
    );
    find(
        &page,
        "title=\"23 Nov 2026\n100% uptime\n14 degraded rounds\nIncident: Zone updates through the API fail\"",
    );
    find(&page, "class=\"s-nodata\" title=\"29 Aug 2026\nNo data\"");
    find(
        &page,
        "title=\"8 Oct 2026\n100% uptime\n24 maintenance rounds\"",
    );
    find(&page, "Days with problems: 2026-10-27 (Major outage).");
    find(&page, "99.94% uptime");
    in_order(&page, &["90 days ago", "Today"]);
    // Fourteen days of history, quiet ones said so.
    assert_eq!(page.matches("No incidents reported.").count(), 12);
    in_order(
        &page[find(&page, "<h2 id=\"past\">")..],
        &[
            "<h3>26 Nov 2026</h3>",
            "/incidents/k3v9x2m7q1pd",
            "<h3>23 Nov 2026</h3>",
            "<a href=\"/incidents/a1b2c3d4e5f6\">Zone updates through the API fail</a>",
            "<h3>13 Nov 2026</h3>",
        ],
    );
    assert!(!page.contains("<h3>12 Nov 2026</h3>"));
}

#[test]
fn render_escapes_everything() {
    let mut snapshot = snapshot();
    snapshot.name = "Evil <b>&\"page".to_owned();
    snapshot.components[0].component.name = "ns1 <b>&\"".to_owned();
    snapshot.open_incidents[0].updates[0].body = "<script>alert(1)</script>".to_owned();
    for page in [
        html::index(&snapshot),
        html::history(&snapshot),
        html::incident(&snapshot, &snapshot.open_incidents[0]),
    ] {
        assert!(!page.contains("<b>&\""), "unescaped name");
        assert!(!page.contains("<script"), "unescaped body");
        find(&page, "Evil &lt;b&gt;&amp;&quot;page");
    }
    let index = html::index(&snapshot);
    find(&index, "ns1 &lt;b&gt;&amp;&quot;");
    find(&index, "&lt;script&gt;alert(1)&lt;/script&gt;");
}

#[test]
fn render_incident_page() {
    let snapshot = snapshot();
    let page = html::incident(&snapshot, view(&snapshot, RESOLVED_ID));
    in_order(
        &page,
        &[
            "<title>Zone updates through the API fail · Candor status</title>",
            "<p class=\"name\"><a href=\"/\">Candor status</a></p>",
            "<h1>Zone updates through the API fail</h1>",
            "Minor",
            "<dt>Duration</dt><dd>1 h 5 min</dd>",
            "<li>API: ",
            "Degraded performance",
            "example.com, example.net",
            "Post-incident report",
            "<p>A schema migration locked the records table for 65 minutes.</p><p>Migrations now run",
            "Timeline",
            "Zone updates work again.",
            "The migration is stopped",
            "Record changes time out.",
            "← Current status",
        ],
    );
    let open = html::incident(&snapshot, view(&snapshot, OPEN_ID));
    find(&open, "Every zone served by the affected name servers");
    find(&open, "The monitors (automatic)");
    find(&open, "The network in Frankfurt has a problem.");
    assert!(!open.contains("Duration"));
    let maintenance = html::incident(&snapshot, view(&snapshot, MAINTENANCE_ID));
    find(
        &maintenance,
        "<dt>Scheduled</dt><dd>27 Nov 2026, 02:00 – 04:00 UTC</dd>",
    );
}

#[test]
fn render_history_page() {
    let snapshot = snapshot();
    let page = html::history(&snapshot);
    in_order(
        &page,
        &[
            "<h1>Incident history</h1>",
            "<h2>November 2026</h2>",
            "/incidents/a1b2c3d4e5f6",
        ],
    );
    assert!(
        !page.contains(OPEN_ID),
        "open incidents are on the front page"
    );
    let mut empty = snapshot.clone();
    empty.history.clear();
    find(&html::history(&empty), "No past incidents.");
    find(&html::not_found(&snapshot), "Page not found");
}

#[test]
fn render_json_summary() {
    let snapshot = snapshot();
    let summary = json::summary(&snapshot);
    assert_eq!(summary["status"]["indicator"], "major");
    assert_eq!(summary["status"]["description"], "Partial System Outage");
    assert_eq!(summary["page"]["id"], "candor-status");
    assert_eq!(summary["page"]["time_zone"], "Etc/UTC");
    assert_eq!(summary["page"]["updated_at"], "2026-11-26T11:01:00.000Z");
    let components = summary["components"].as_array().expect("components");
    assert_eq!(components.len(), 3);
    let ns2 = &components[1];
    assert_eq!(ns2["id"], "2");
    assert_eq!(ns2["status"], "partial_outage");
    assert_eq!(ns2["position"], 2);
    assert_eq!(ns2["showcase"], true);
    assert_eq!(ns2["group"], false);
    assert_eq!(ns2["group_id"], Value::Null);
    assert_eq!(ns2["start_date"], "2026-01-01");
    assert_eq!(ns2["page_id"], "candor-status");
    assert_eq!(ns2["candor"]["location"], "Frankfurt");

    let incidents = summary["incidents"].as_array().expect("incidents");
    assert_eq!(incidents.len(), 1);
    let open = &incidents[0];
    assert_eq!(open["id"], OPEN_ID);
    assert_eq!(open["status"], "identified");
    assert_eq!(open["impact"], "major");
    assert_eq!(
        open["shortlink"],
        "https://status.candor.test/incidents/k3v9x2m7q1pd"
    );
    assert_eq!(open["started_at"], "2026-11-26T10:40:00.000Z");
    assert_eq!(open["resolved_at"], Value::Null);
    assert_eq!(open["components"][0]["name"], "ns2.candor.test");
    assert!(open.get("scheduled_for").is_none());
    let updates = open["incident_updates"].as_array().expect("updates");
    let ids: Vec<&str> = updates.iter().filter_map(|u| u["id"].as_str()).collect();
    assert_eq!(ids, ["103", "102", "101"]);
    assert_eq!(updates[0]["created_at"], "2026-11-26T10:58:00.000Z");
    assert_eq!(updates[0]["updated_at"], "2026-11-26T11:01:00.000Z");
    assert_eq!(updates[0]["incident_id"], OPEN_ID);
    assert_eq!(
        updates[0]["affected_components"][0]["new_status"],
        "partial_outage"
    );
    assert_eq!(updates[1]["affected_components"], Value::Null);
    assert_eq!(
        updates[0]["candor"]["revisions"][0]["body"],
        "The network in Frankfurt has a problem."
    );
    assert_eq!(updates[2]["candor"]["source"], "monitor");

    let maintenances = summary["scheduled_maintenances"]
        .as_array()
        .expect("maintenances");
    assert_eq!(maintenances.len(), 1);
    assert_eq!(maintenances[0]["scheduled_for"], "2026-11-27T02:00:00.000Z");
    assert_eq!(
        maintenances[0]["scheduled_until"],
        "2026-11-27T04:00:00.000Z"
    );
    assert_eq!(maintenances[0]["impact"], "maintenance");
}

#[test]
fn render_json_status() {
    let snapshot = snapshot();
    expect![[r#"
        {
          "page": {
            "id": "candor-status",
            "name": "Candor status",
            "time_zone": "Etc/UTC",
            "updated_at": "2026-11-26T11:01:00.000Z",
            "url": "https://status.candor.test"
          },
          "status": {
            "description": "Partial System Outage",
            "indicator": "major"
          }
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&json::status(&snapshot)).expect("json"));
}

#[test]
fn render_json_lists() {
    let snapshot = snapshot();
    let ids = |doc: &Value, key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|i| i["id"].as_str().map(str::to_owned))
            .collect()
    };
    assert_eq!(
        ids(&json::incidents(&snapshot), "incidents"),
        [OPEN_ID, RESOLVED_ID]
    );
    assert_eq!(ids(&json::unresolved(&snapshot), "incidents"), [OPEN_ID]);
    let resolved = &json::incidents(&snapshot)["incidents"][1];
    assert_eq!(
        resolved["postmortem_body"]
            .as_str()
            .map(|s| s.starts_with("A schema")),
        Some(true)
    );
    assert_eq!(resolved["candor"]["zones"][0], "example.com");
    assert_eq!(resolved["monitoring_at"], "2026-11-23T09:43:00.000Z");
    assert_eq!(
        ids(
            &json::scheduled_maintenances(&snapshot),
            "scheduled_maintenances"
        ),
        [MAINTENANCE_ID]
    );
    assert_eq!(
        ids(
            &json::upcoming_maintenances(&snapshot),
            "scheduled_maintenances"
        ),
        [MAINTENANCE_ID]
    );
    assert!(
        ids(
            &json::active_maintenances(&snapshot),
            "scheduled_maintenances"
        )
        .is_empty()
    );
    assert_eq!(
        json::components(&snapshot)["components"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let mut odd = snapshot.clone();
    odd.name = " --- ".to_owned();
    assert_eq!(json::page_id(&odd), "candor");
}

/// A parsed XML element.
#[derive(Debug, Default)]
struct Element {
    /// Its name.
    name: String,
    /// Its attributes, unescaped.
    attributes: Vec<(String, String)>,
    /// Its child elements.
    children: Vec<Element>,
    /// Its text, unescaped.
    text: String,
}

impl Element {
    /// The children with this name.
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child with this name.
    #[track_caller]
    fn text_of<'a>(&'a self, name: &'a str) -> &'a str {
        &self
            .all(name)
            .next()
            .unwrap_or_else(|| panic!("no <{name}>"))
            .text
    }

    /// An attribute's value.
    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a document with quick-xml, failing on anything not well-formed.
fn parse_xml(text: &str) -> Element {
    use quick_xml::events::{BytesStart, Event as Xml};

    let attributes = |e: &BytesStart<'_>| -> Vec<(String, String)> {
        e.attributes()
            .map(|a| {
                let a = a.expect("attribute");
                let key = a.key.as_ref().to_owned();
                (
                    key,
                    a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
                        .expect("value")
                        .into_owned(),
                )
            })
            .collect()
    };
    let mut reader = quick_xml::Reader::from_str(text);
    let mut stack = vec![Element::default()];
    loop {
        match reader.read_event().expect("well-formed XML") {
            Xml::Start(e) => stack.push(Element {
                name: e.name().as_ref().to_owned(),
                attributes: attributes(&e),
                ..Element::default()
            }),
            Xml::Empty(e) => {
                let element = Element {
                    name: e.name().as_ref().to_owned(),
                    attributes: attributes(&e),
                    ..Element::default()
                };
                stack.last_mut().expect("parent").children.push(element);
            }
            Xml::End(_) => {
                let done = stack.pop().expect("open element");
                stack.last_mut().expect("parent").children.push(done);
            }
            Xml::Text(t) => stack
                .last_mut()
                .expect("element")
                .text
                .push_str(&t.xml10_content()),
            Xml::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().expect("char ref") {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                        .expect("predefined entity")
                        .to_owned(),
                };
                stack.last_mut().expect("element").text.push_str(&resolved);
            }
            Xml::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut root = stack.pop().expect("root");
    assert_eq!(root.children.len(), 1, "one root element");
    root.children.pop().expect("root element")
}

#[test]
fn render_atom_feed() {
    let snapshot = snapshot();
    let text = atom::feed(&snapshot);
    let feed = parse_xml(&text);
    assert_eq!(feed.name, "feed");
    assert_eq!(feed.attribute("xmlns"), Some("http://www.w3.org/2005/Atom"));
    assert_eq!(feed.text_of("updated"), "2026-11-26T11:01:00.000Z");
    assert_eq!(
        feed.text_of("id"),
        "https://status.candor.test/history.atom"
    );
    let entries: Vec<&Element> = feed.all("entry").collect();
    assert_eq!(entries.len(), 3);
    let ids: Vec<&str> = entries.iter().map(|e| e.text_of("id")).collect();
    assert_eq!(
        ids,
        [
            "https://status.candor.test/incidents/k3v9x2m7q1pd",
            "https://status.candor.test/incidents/m4int3n4nce1",
            "https://status.candor.test/incidents/a1b2c3d4e5f6",
        ],
        "most recently updated first"
    );
    for entry in &entries {
        let link = entry.all("link").next().expect("link");
        assert_eq!(link.attribute("href"), Some(entry.text_of("id")));
        assert_eq!(link.attribute("rel"), Some("alternate"));
    }
    let open = entries[0];
    assert_eq!(
        open.text_of("title"),
        "ns2.candor.test (Frankfurt) not answering"
    );
    assert_eq!(open.text_of("updated"), "2026-11-26T11:01:00.000Z");
    let content = open.all("content").next().expect("content");
    assert_eq!(content.attribute("type"), Some("html"));
    in_order(
        &content.text,
        &[
            "<strong>Identified</strong>",
            "The network in Frankfurt",
            "ALIAS refresh",
            "3 of 4",
        ],
    );
    find(
        &entries[2].all("content").next().expect("content").text,
        "Post-incident report",
    );
}

#[test]
fn render_atom_escapes() {
    let mut snapshot = snapshot();
    snapshot.name = "A&B <status> \"quoted\" 'single'".to_owned();
    snapshot.open_incidents[0].incident.name = "bad\u{0}char\u{1b} & <b>".to_owned();
    snapshot.open_incidents[0].updates[0].body = "x < y && ]]> \u{7}".to_owned();
    let text = atom::feed(&snapshot);
    assert!(
        !text.chars().any(|c| c < ' ' && c != '\n'),
        "no control characters"
    );
    let feed = parse_xml(&text);
    assert_eq!(
        feed.text_of("title"),
        "A&B <status> \"quoted\" 'single' – incident history"
    );
    let open = feed.all("entry").next().expect("entry");
    assert_eq!(open.text_of("title"), "badchar & <b>");
    find(open.text_of("content"), "x &lt; y &amp;&amp; ]]&gt; ");
}

#[test]
fn render_webhook_payload() {
    let snapshot = snapshot();
    let open = &snapshot.open_incidents[0];
    let bytes = notify::webhook_payload(&snapshot, open, &open.updates[0], Event::IncidentUpdated);
    let payload: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(payload["event"], "incident.updated");
    assert_eq!(payload["page"]["id"], "candor-status");
    assert_eq!(payload["page"]["status_indicator"], "major");
    assert_eq!(payload["incident"]["id"], OPEN_ID);
    assert_eq!(
        payload["incident"]["incident_updates"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(payload["update"]["id"], "103");
    assert_eq!(payload["update"]["status"], "identified");
}

#[test]
fn render_email() {
    let snapshot = snapshot();
    let open = &snapshot.open_incidents[0];
    let mail = notify::email(
        &snapshot,
        open,
        &open.updates[2],
        Event::IncidentCreated,
        None,
    );
    assert_eq!(
        mail.subject,
        "[Candor status] Investigating: ns2.candor.test (Frankfurt) not answering"
    );
    expect![[r#"
        New incident on Candor status: ns2.candor.test (Frankfurt) not answering

        Investigating · posted 26 Nov 2026, 10:41 UTC · Automatic (monitors)

        3 of 4 vantage points get no answer from ns2.candor.test over UDP and TCP.

        Status: Identified · Impact: Major
        Affects: ns2.candor.test (Frankfurt) – Partial outage
        Zones: Every zone served by the affected name servers

        Full timeline: https://status.candor.test/incidents/k3v9x2m7q1pd

        -- 
        You receive this because you subscribed to notifications from Candor status (https://status.candor.test).
        To unsubscribe, delete the subscription in your Candor account, or ask the operator of this status page to remove it.
    "#]]
    .assert_eq(&mail.text);
    assert!(mail.html.starts_with("<!DOCTYPE html>"));
    find(
        &mail.html,
        "href=\"https://status.candor.test/incidents/k3v9x2m7q1pd\"",
    );
    find(&mail.html, "<p>3 of 4 vantage points");
    assert!(!mail.html.contains("<script"));

    let mut evil = snapshot.clone();
    evil.open_incidents[0].incident.name = "line\r\nBcc: x@example.com".to_owned();
    let evil_open = &evil.open_incidents[0];
    let mail = notify::email(
        &evil,
        evil_open,
        &evil_open.updates[0],
        Event::IncidentUpdated,
        Some("https://status.example.net/unsubscribe?token=abc"),
    );
    assert!(
        mail.text
            .contains("To unsubscribe, open https://status.example.net/unsubscribe?token=abc"),
        "{}",
        mail.text
    );
    assert_eq!(
        mail.subject,
        "[Candor status] Identified: line Bcc: x@example.com"
    );
}

#[test]
fn operators_are_never_named_by_their_address_in_public() {
    let snapshot = snapshot();
    let view = snapshot.open_incidents[0].clone();
    let update = view.updates[0].clone();
    let outputs = [
        html::index(&snapshot),
        html::incident(&snapshot, &view),
        atom::feed(&snapshot),
        json::summary(&snapshot).to_string(),
        json::incidents(&snapshot).to_string(),
        String::from_utf8_lossy(&notify::webhook_payload(
            &snapshot,
            &view,
            &update,
            Event::IncidentUpdated,
        ))
        .into_owned(),
    ];
    for out in outputs {
        assert!(!out.contains("alice@candor.test"), "{out}");
    }
}
