//! The Atom 1.0 feed (RFC 4287) at `/history.atom`: one entry per
//! incident and maintenance window on the page (open, planned and past),
//! most recently updated first, each with its whole timeline as HTML.
//!
//! The XML is written by hand; every text and attribute goes through
//! `escape`, which also drops the characters XML 1.0 cannot carry, so
//! the output is well-formed whatever the incident texts contain.

use std::cmp::Reverse;
use std::fmt::Write as _;

use maud::{Markup, html};

use crate::model::{IncidentView, PageSnapshot};
use crate::render::html::text;
use crate::render::{
    human_time, impact_label, incident_url, paragraphs, rfc3339, source_label, time_range,
    updates_newest_first,
};

/// The feed of every incident in the snapshot.
///
/// Entry ids and links are `{url}/incidents/{public_id}`; the feed's id is
/// `{url}/history.atom`. `<updated>` is the incident's `updated_at` for
/// entries and the snapshot's `updated_at` for the feed.
pub fn feed(snapshot: &PageSnapshot) -> String {
    let base = &snapshot.url;
    let mut views: Vec<&IncidentView> = snapshot
        .open_incidents
        .iter()
        .chain(&snapshot.maintenances)
        .chain(&snapshot.history)
        .collect();
    views.sort_by_key(|v| Reverse((v.incident.updated_at, v.incident.id)));
    views.dedup_by(|a, b| a.incident.public_id == b.incident.public_id);

    let mut out = String::with_capacity(4096);
    out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str("<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"en\">\n");
    element(&mut out, 1, "id", &format!("{base}/history.atom"));
    element(
        &mut out,
        1,
        "title",
        &format!("{} – incident history", snapshot.name),
    );
    element(&mut out, 1, "updated", &rfc3339(snapshot.updated_at));
    link(
        &mut out,
        1,
        "self",
        "application/atom+xml",
        &format!("{base}/history.atom"),
    );
    link(&mut out, 1, "alternate", "text/html", &format!("{base}/"));
    let _ = writeln!(
        out,
        "  <author><name>{}</name><uri>{}/</uri></author>",
        escape(&snapshot.name),
        escape(base)
    );
    element(&mut out, 1, "generator", "Candor");
    for view in views {
        entry(&mut out, snapshot, view);
    }
    out.push_str("</feed>\n");
    out
}

/// One `<entry>`.
fn entry(out: &mut String, snapshot: &PageSnapshot, view: &IncidentView) {
    let inc = &view.incident;
    let url = incident_url(&snapshot.url, &inc.public_id);
    out.push_str("  <entry>\n");
    element(out, 2, "id", &url);
    element(out, 2, "title", &inc.name);
    link(out, 2, "alternate", "text/html", &url);
    element(out, 2, "published", &rfc3339(inc.created_at));
    element(out, 2, "updated", &rfc3339(inc.updated_at));
    let _ = writeln!(
        out,
        "    <category term=\"{}\" label=\"{}\"/>",
        escape(inc.impact.as_str()),
        escape(if inc.maintenance {
            "Maintenance"
        } else {
            impact_label(inc.impact)
        })
    );
    if let Some(latest) = updates_newest_first(view).first() {
        let summary = match paragraphs(&latest.body).first() {
            Some(first) => format!("{}: {}", latest.status.label(), first.join(" ")),
            None => latest.status.label().to_owned(),
        };
        element(out, 2, "summary", &summary);
    }
    let _ = writeln!(
        out,
        "    <content type=\"html\">{}</content>",
        escape(&content(view).into_string())
    );
    out.push_str("  </entry>\n");
}

/// The HTML of an entry: status, schedule or impact, the post-incident
/// report, and every update newest first with its earlier wordings.
fn content(view: &IncidentView) -> Markup {
    let inc = &view.incident;
    html! {
        p {
            strong { (inc.status.label()) }
            @if inc.maintenance {
                " · Maintenance · " (time_range(inc.scheduled_for, inc.scheduled_until))
            } @else {
                " · " (impact_label(inc.impact)) " impact · started " (human_time(inc.started_at))
                @if let Some(resolved) = inc.resolved_at { " · resolved " (human_time(resolved)) }
            }
        }
        @if !inc.components.is_empty() {
            p {
                "Affects: "
                @for (i, c) in inc.components.iter().enumerate() {
                    @if i > 0 { ", " }
                    (c.name) " (" (c.status.label()) ")"
                }
            }
        }
        @if !inc.zones.is_empty() {
            p { "Zones: " (inc.zones.join(", ")) }
        }
        @if let Some(report) = &inc.postmortem {
            h3 { "Post-incident report" }
            (text(report))
        }
        @for update in updates_newest_first(view) {
            p {
                small { (human_time(update.created_at)) " · " (source_label(&update.source)) }
                br;
                strong { (update.status.label()) }
                @if let Some(edited) = update.edited_at() { " (edited " (human_time(edited)) ")" }
            }
            (text(&update.body))
            @for revision in &update.revisions {
                blockquote {
                    p { small { "Earlier wording, replaced " (human_time(revision.replaced_at)) " by " (crate::render::public_name(&revision.replaced_by)) ":" } }
                    (text(&revision.body))
                }
            }
        }
    }
}

/// `<name>text</name>` on its own line, indented by `depth` levels.
fn element(out: &mut String, depth: usize, name: &str, text: &str) {
    let _ = writeln!(
        out,
        "{:width$}<{name}>{}</{name}>",
        "",
        escape(text),
        width = depth * 2
    );
}

/// `<link rel=".." type=".." href=".."/>` on its own line.
fn link(out: &mut String, depth: usize, rel: &str, media_type: &str, href: &str) {
    let _ = writeln!(
        out,
        "{:width$}<link rel=\"{}\" type=\"{}\" href=\"{}\"/>",
        "",
        escape(rel),
        escape(media_type),
        escape(href),
        width = depth * 2
    );
}

/// Escapes text for XML content and attribute values (`&`, `<`, `>`, `"`,
/// `'`), dropping the characters XML 1.0 does not allow (C0 controls other
/// than tab, line feed and carriage return; U+FFFE and U+FFFF).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}
