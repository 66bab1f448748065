//! What subscribers are sent when an incident is created, updated or
//! resolved: a JSON document for webhooks and a plain-text plus HTML
//! e-mail. Delivery (signing, SMTP, retries) is not done here.

use maud::{DOCTYPE, html};
use serde_json::{Value, json};

use crate::model::{Event, IncidentUpdate, IncidentView, PageSnapshot};
use crate::render::html::text as html_text;
use crate::render::{
    human_time, impact_label, incident_url, json, location_of, paragraphs, source_label,
    time_range, zones_text,
};

/// The page, as texts written outside a snapshot name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// Its name.
    pub name: String,
    /// Its public URL, without a trailing slash.
    pub url: String,
}

/// The e-mail telling an account that one of its subscriptions was
/// disabled: subject and plain-text body.
pub fn disabled_notice(page: &Page, subscriber: i64, what: &str, reason: &str) -> (String, String) {
    let subject = format!("[{}] Subscription {subscriber} disabled", page.name);
    let body = format!(
        "Notifications from {name} to subscription {subscriber} ({what}) have stopped: \
         {reason}.\n\n\
         Nothing more is sent to it until it is enabled again, with\n\n  \
         POST /v2/{{account}}/status/subscriptions/{subscriber}/enable\n\n\
         on the API (or `candor status subscriber enable {subscriber}` for the operator's own). \
         Incidents missed meanwhile are on {url}/history and in the feed at {url}/history.atom.\n",
        name = page.name,
        url = page.url,
    );
    (subject, body)
}

/// The link that ends a subscription in one click (RFC 8058).
pub fn unsubscribe_url(page_url: &str, token: &str) -> String {
    format!("{page_url}/unsubscribe?token={token}")
}

/// The request to confirm an address subscribed on the public page:
/// subject and plain-text body.
pub fn confirmation(page: &Page, token: &str) -> (String, String) {
    let subject = format!("[{}] Confirm your subscription", page.name);
    let body = format!(
        "Someone, hopefully you, asked for {name}'s incident updates at this address.\n\n\
         To confirm, open this link and press the button:\n\n  {url}/subscribe/confirm?token={token}\n\n\
         If it was not you, ignore this e-mail: nothing else is sent unless the address is \
         confirmed.\n",
        name = page.name,
        url = page.url,
    );
    (subject, body)
}

/// An e-mail's subject and bodies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailText {
    /// One line, e.g. `[Candor status] Investigating: ns2 (Frankfurt) not answering`.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (inline styles only, as mail clients want).
    pub html: String,
}

/// The body of a webhook POST:
///
/// ```json
/// {"event": "incident.created",
///  "page": {"id": ..., "name": ..., "url": ..., "time_zone": "Etc/UTC", "updated_at": ...,
///           "status_indicator": "major", "status_description": "Partial System Outage"},
///  "incident": {... as in /api/v2/incidents.json, with every update ...},
///  "update": {... the update that caused this event ...}}
/// ```
pub fn webhook_payload(
    snapshot: &PageSnapshot,
    view: &IncidentView,
    update: &IncidentUpdate,
    event: Event,
) -> Vec<u8> {
    let mut page = json::page(snapshot);
    if let Value::Object(map) = &mut page {
        map.insert(
            "status_indicator".into(),
            snapshot.indicator.as_str().into(),
        );
        map.insert(
            "status_description".into(),
            snapshot.indicator.description().into(),
        );
    }
    json!({
        "event": event.as_str(),
        "page": page,
        "incident": json::incident(snapshot, view),
        "update": json::incident_update(view, update),
    })
    .to_string()
    .into_bytes()
}

/// The e-mail for an event: the subject names the update's status and the
/// incident (`[Candor status] Investigating: ...`); the bodies hold the
/// update, where the incident stands, what it affects, the link to its
/// page and how to unsubscribe.
pub fn email(
    snapshot: &PageSnapshot,
    view: &IncidentView,
    update: &IncidentUpdate,
    event: Event,
    unsubscribe_link: Option<&str>,
) -> EmailText {
    let inc = &view.incident;
    let subject = one_line(&format!(
        "[{}] {}: {}",
        snapshot.name,
        update.status.label(),
        inc.name
    ));
    let link = incident_url(&snapshot.url, &inc.public_id);
    let intro = format!(
        "{} on {}: {}",
        headline(view, event),
        snapshot.name,
        inc.name
    );
    let posted = match update.edited_at() {
        Some(edited) => format!(
            "{} · posted {} · {} · edited {}",
            update.status.label(),
            human_time(update.created_at),
            source_label(&update.source),
            human_time(edited)
        ),
        None => format!(
            "{} · posted {} · {}",
            update.status.label(),
            human_time(update.created_at),
            source_label(&update.source)
        ),
    };
    let standing = if inc.maintenance {
        format!(
            "Status: {} · Scheduled: {}",
            inc.status.label(),
            time_range(inc.scheduled_for, inc.scheduled_until)
        )
    } else {
        format!(
            "Status: {} · Impact: {}",
            inc.status.label(),
            impact_label(inc.impact)
        )
    };
    let affects: Vec<String> = inc
        .components
        .iter()
        .map(|c| match location_of(snapshot, c.id) {
            Some(location) => format!("{} ({location}) – {}", c.name, c.status.label()),
            None => format!("{} – {}", c.name, c.status.label()),
        })
        .collect();
    let zones = zones_text(snapshot, view);
    let footer = format!(
        "You receive this because you subscribed to notifications from {} ({}).",
        snapshot.name, snapshot.url
    );
    let unsubscribe = match unsubscribe_link {
        Some(link) => format!("To unsubscribe, open {link} (one click)."),
        None => "To unsubscribe, delete the subscription in your Candor account, or ask the \
                 operator of this status page to remove it."
            .to_owned(),
    };

    let mut text = String::new();
    text.push_str(&intro);
    text.push_str("\n\n");
    text.push_str(&posted);
    text.push_str("\n\n");
    for paragraph in paragraphs(&update.body) {
        text.push_str(&paragraph.join("\n"));
        text.push_str("\n\n");
    }
    text.push_str(&standing);
    text.push('\n');
    if !affects.is_empty() {
        text.push_str("Affects: ");
        text.push_str(&affects.join(", "));
        text.push('\n');
    }
    if let Some(zones) = &zones {
        text.push_str("Zones: ");
        text.push_str(zones);
        text.push('\n');
    }
    text.push_str("\nFull timeline: ");
    text.push_str(&link);
    text.push_str("\n\n-- \n");
    text.push_str(&footer);
    text.push('\n');
    text.push_str(&unsubscribe);
    text.push('\n');

    let muted = "color:#59636e;font-size:14px";
    let html = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (subject) }
            }
            body style="margin:0;padding:16px;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#1f2328;background:#fff" {
                div style="max-width:600px;margin:0 auto" {
                    p style=(muted) { (snapshot.name) }
                    h1 style="font-size:20px;line-height:1.3;margin:0 0 12px" {
                        a href=(link) style="color:#1f2328" { (inc.name) }
                    }
                    p style="margin:0 0 4px" { strong { (update.status.label()) } }
                    (html_text(&update.body))
                    p style=(muted) { (posted) }
                    hr style="border:0;border-top:1px solid #d1d9e0;margin:16px 0";
                    p style="margin:4px 0" { (standing) }
                    @if !affects.is_empty() {
                        p style="margin:4px 0" { "Affects: " (affects.join(", ")) }
                    }
                    @if let Some(zones) = &zones {
                        p style="margin:4px 0" { "Zones: " (zones) }
                    }
                    p style="margin:16px 0" {
                        a href=(link) style="color:#0969da" { "Full timeline on the status page" }
                    }
                    hr style="border:0;border-top:1px solid #d1d9e0;margin:16px 0";
                    p style=(muted) {
                        (footer) br;
                        @if let Some(link) = unsubscribe_link {
                            a href=(link) style="color:#59636e" { "Unsubscribe" } " (one click)."
                        } @else {
                            (unsubscribe)
                        }
                    }
                }
            }
        }
    }
    .into_string();
    EmailText {
        subject,
        text,
        html,
    }
}

/// What happened, in words, for the first line of an e-mail.
fn headline(view: &IncidentView, event: Event) -> &'static str {
    match (view.incident.maintenance, event) {
        (false, Event::IncidentCreated) => "New incident",
        (false, Event::IncidentUpdated) => "Incident update",
        (false, Event::IncidentResolved) => "Incident resolved",
        (true, Event::IncidentCreated) => "Maintenance scheduled",
        (true, Event::IncidentUpdated) => "Maintenance update",
        (true, Event::IncidentResolved) => "Maintenance completed",
    }
}

/// The text on one line: control characters (line breaks included, so no
/// header can be smuggled into a subject) become spaces, runs of spaces
/// one space.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    out.trim_end().to_owned()
}
