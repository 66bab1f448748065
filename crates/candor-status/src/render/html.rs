//! The status page in HTML: the front page, one page per incident, the
//! history page and the not-found page.
//!
//! Pages are HTML5 without JavaScript, with their CSS inline (no external
//! assets, fonts or CDNs), so they work from any static file server and
//! under the strictest Content-Security-Policy. Every value is escaped by
//! `maud`. Colours never carry meaning alone: every state also has a text
//! label, and every colour used for text passes WCAG AA on white.
//!
//! Timelines are shown newest update first, everywhere (as Statuspage
//! does): what readers need most is the latest word.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::model::{
    ComponentStatus, ComponentView, DayUptime, IncidentUpdate, IncidentView, PageSnapshot,
    Timestamp,
};
use crate::render::{
    day_of, day_start, duration, filed_at, human_date, human_month, human_time, impact_label,
    incident_path, is_safe_id, iso_date, location_of, paragraphs, percent, rfc3339, source_label,
    time_range, updates_newest_first, zones_text,
};

/// The page's CSS, inlined into every page.
const STYLE: &str = include_str!("style.css");
/// Days of uptime shown per component.
const UPTIME_DAYS: usize = 90;
/// Days listed under "Past incidents" on the front page, today included.
const PAST_DAYS: i64 = 14;

/// The status page (`/`): overall state, open incidents with their whole
/// timelines, maintenance, components with 90 days of uptime, and the
/// incidents of the last 14 days.
pub fn index(snapshot: &PageSnapshot) -> String {
    let body = html! {
        (banner(snapshot))
        @if !snapshot.open_incidents.is_empty() {
            section aria-labelledby="open" {
                h2 #open { "Open incidents" }
                @for view in &snapshot.open_incidents {
                    (incident_card(snapshot, view))
                }
            }
        }
        @if !snapshot.maintenances.is_empty() {
            section aria-labelledby="maintenance" {
                h2 #maintenance { "Scheduled maintenance" }
                @for view in &snapshot.maintenances {
                    (incident_card(snapshot, view))
                }
            }
        }
        (components(snapshot))
        (past_incidents(snapshot))
    };
    layout(snapshot, &snapshot.name, Top::Index, body)
}

/// One incident's page (`/incidents/{public_id}`): what it is, what it
/// affects, how long it lasted, the post-incident report when there is
/// one, and the whole timeline, newest first, with every earlier wording
/// of edited updates.
pub fn incident(snapshot: &PageSnapshot, view: &IncidentView) -> String {
    let inc = &view.incident;
    let body = html! {
        h1 { (inc.name) }
        p {
            span class={ "label impact-" (inc.impact.as_str()) } { (inc.status.label()) }
            " "
            span class={ "label impact-" (inc.impact.as_str()) } {
                @if inc.maintenance { "Maintenance" } @else { (impact_label(inc.impact)) " impact" }
            }
        }
        dl.facts {
            dt { "Status" }
            dd { (inc.status.label()) }
            dt { "Impact" }
            dd { (impact_label(inc.impact)) }
            @if inc.maintenance {
                dt { "Scheduled" }
                dd { (time_range(inc.scheduled_for, inc.scheduled_until)) }
            } @else {
                dt { "Started" }
                dd { (time_el(inc.started_at)) }
            }
            @if let Some(resolved) = inc.resolved_at {
                dt { @if inc.maintenance { "Completed" } @else { "Resolved" } }
                dd { (time_el(resolved)) }
                @if !inc.maintenance {
                    dt { "Duration" }
                    dd { (duration(resolved - inc.started_at)) }
                }
            }
            @if !inc.components.is_empty() {
                dt { "Affected components" }
                dd {
                    ul {
                        @for affected in &inc.components {
                            li {
                                (affected.name)
                                @if let Some(location) = location_of(snapshot, affected.id) {
                                    " " span.loc { "(" (location) ")" }
                                }
                                ": " span class={ "state s-" (affected.status.as_str()) } { (affected.status.label()) }
                            }
                        }
                    }
                }
            }
            @if let Some(zones) = zones_text(snapshot, view) {
                dt { "Zones" }
                dd { (zones) }
            }
            dt { "Opened by" }
            dd {
                @if inc.automatic { "The monitors (automatic)" } @else { "An operator" }
                ", " (time_el(inc.created_at))
            }
        }
        @if let Some(report) = &inc.postmortem {
            section aria-labelledby="report" {
                h2 #report { "Post-incident report" }
                @if let Some(at) = inc.postmortem_at {
                    p.meta { "Published " (time_el(at)) }
                }
                div.report { (text(report)) }
            }
        }
        section aria-labelledby="timeline" {
            h2 #timeline { "Timeline" }
            p.meta { "Newest update first. All times UTC." }
            (timeline(view))
        }
        p { a href="/" { "← Current status" } " · " a href="/history" { "Incident history" } }
    };
    layout(
        snapshot,
        &format!("{} · {}", inc.name, snapshot.name),
        Top::Other,
        body,
    )
}

/// The history page (`/history`): every incident and maintenance window of
/// the history window, newest first, grouped by month.
pub fn history(snapshot: &PageSnapshot) -> String {
    let mut months: Vec<(String, Vec<&IncidentView>)> = Vec::new();
    let mut sorted: Vec<&IncidentView> = snapshot.history.iter().collect();
    sorted.sort_by_key(|view| std::cmp::Reverse(filed_at(&view.incident)));
    for view in sorted {
        let month = human_month(filed_at(&view.incident));
        match months.last_mut() {
            Some((last, views)) if *last == month => views.push(view),
            _ => months.push((month, vec![view])),
        }
    }
    let body = html! {
        h1 { "Incident history" }
        p.meta { "Resolved incidents and completed maintenance, newest first. All times UTC." }
        @if months.is_empty() {
            p.quiet { "No past incidents." }
        }
        @for (month, views) in &months {
            section.day {
                h2 { (month) }
                @for view in views {
                    (past_item(view))
                }
            }
        }
        p { a href="/" { "← Current status" } }
    };
    layout(
        snapshot,
        &format!("Incident history · {}", snapshot.name),
        Top::Other,
        body,
    )
}

/// The page for unknown paths (served with status 404).
pub fn not_found(snapshot: &PageSnapshot) -> String {
    let body = html! {
        h1 { "Page not found" }
        p { "There is no page at this address. Incidents drop off this site when they leave the history window." }
        p { a href="/" { "← Current status" } " · " a href="/history" { "Incident history" } }
    };
    layout(
        snapshot,
        &format!("Not found · {}", snapshot.name),
        Top::Other,
        body,
    )
}

/// The subscribe page (`/subscribe`): forms for e-mail and webhooks, which
/// work without JavaScript, and the Atom feed.
pub fn subscribe(snapshot: &PageSnapshot) -> String {
    let body = html! {
        h1 { "Subscribe to updates" }
        p { "Hear about incidents and maintenance of " (snapshot.name) " when they are posted and whenever they change." }
        section.subscribe {
            h2 { "By e-mail" }
            form method="post" action="/subscribe" {
                label for="email" { "E-mail address" }
                input #email type="email" name="email" required autocomplete="email" maxlength="254";
                button type="submit" { "Subscribe" }
            }
            p.meta { "We send one e-mail to confirm the address; nothing else is sent until you confirm. Every e-mail has a one-click unsubscribe link." }
        }
        section.subscribe {
            h2 { "By webhook" }
            form method="post" action="/subscribe" {
                label for="webhook_url" { "Endpoint URL (https)" }
                input #webhook_url type="url" name="webhook_url" required maxlength="2000" placeholder="https://example.com/hooks/status";
                button type="submit" { "Subscribe" }
            }
            p.meta { "Signed JSON POSTs (HMAC-SHA256 in X-Candor-Signature); the signing secret is shown once, after subscribing." }
        }
        section.subscribe {
            h2 { "By feed" }
            p { a href="/history.atom" { "Atom feed" } " of incidents and maintenance, and the " a href="/api/v2/summary.json" { "JSON API" } "." }
        }
        p { a href="/" { "← Current status" } }
    };
    layout(
        snapshot,
        &format!("Subscribe · {}", snapshot.name),
        Top::Other,
        body,
    )
}

/// A page answering a form: a title and paragraphs.
pub fn notice(snapshot: &PageSnapshot, title: &str, lines: &[&str]) -> String {
    let body = html! {
        h1 { (title) }
        @for line in lines {
            p { (line) }
        }
        p { a href="/" { "← Current status" } }
    };
    layout(
        snapshot,
        &format!("{title} · {}", snapshot.name),
        Top::Other,
        body,
    )
}

/// A page with one button that POSTs `token` to `action` (confirming or
/// unsubscribing): links in e-mails only ever GET this page, so link
/// checkers of mail systems change nothing.
pub fn confirm_action(
    snapshot: &PageSnapshot,
    title: &str,
    question: &str,
    action: &str,
    token: &str,
    button: &str,
) -> String {
    let body = html! {
        h1 { (title) }
        p { (question) }
        form method="post" action=(action) {
            input type="hidden" name="token" value=(token);
            button type="submit" { (button) }
        }
        p { a href="/" { "← Current status" } }
    };
    layout(
        snapshot,
        &format!("{title} · {}", snapshot.name),
        Top::Other,
        body,
    )
}

/// Which page the header is on: the front page's header holds its `h1`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Top {
    /// The front page: the page name is the `h1`.
    Index,
    /// Any other page: the page has its own `h1`.
    Other,
}

/// The frame around every page: head, header, footer.
fn layout(snapshot: &PageSnapshot, title: &str, top: Top, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                meta name="description" content={ "Current status, incidents and uptime of " (snapshot.name) "." };
                link rel="alternate" type="application/atom+xml" title={ (snapshot.name) " incident history" } href="/history.atom";
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.site {
                    div.wrap {
                        @if top == Top::Index {
                            h1.name { a href="/" { (snapshot.name) } }
                        } @else {
                            p.name { a href="/" { (snapshot.name) } }
                        }
                    }
                }
                main.wrap #main { (body) }
                footer.site.wrap {
                    p {
                        "Follow: " a href="/history.atom" { "Atom feed" }
                        " · " a href="/api/v2/summary.json" { "JSON API" }
                        " · " a href="/history" { "Incident history" }
                        " · " a href="/subscribe" { "Subscribe to updates" }
                    }
                    p { "Generated at " (time_el(snapshot.generated_at)) ". Last change " (time_el(snapshot.updated_at)) "." }
                }
            }
        }
    }
    .into_string()
}

/// A `<time>` element: human text, RFC 3339 in `datetime`.
fn time_el(t: Timestamp) -> Markup {
    html! { time datetime=(rfc3339(t)) { (human_time(t)) } }
}

/// Plain text as paragraphs; single line breaks inside a paragraph stay.
pub(crate) fn text(body: &str) -> Markup {
    html! {
        @for paragraph in paragraphs(body) {
            p {
                @for (i, line) in paragraph.iter().enumerate() {
                    @if i > 0 { br; }
                    (line)
                }
            }
        }
    }
}

/// The big banner with the overall state.
fn banner(snapshot: &PageSnapshot) -> Markup {
    let open = snapshot.open_incidents.len();
    html! {
        section class={ "banner i-" (snapshot.indicator.as_str()) } aria-label="Overall status" {
            p { (snapshot.indicator.description()) }
            @if open > 0 {
                p.sub {
                    (open) @if open == 1 { " open incident" } @else { " open incidents" }
                    " · updated " (human_time(snapshot.updated_at))
                }
            } @else {
                p.sub { "Updated " (human_time(snapshot.updated_at)) }
            }
        }
    }
}

/// An open incident or a maintenance window, with its whole timeline.
fn incident_card(snapshot: &PageSnapshot, view: &IncidentView) -> Markup {
    let inc = &view.incident;
    html! {
        article class={ "card impact-" (inc.impact.as_str()) } {
            h3 {
                @if is_safe_id(&inc.public_id) {
                    a href=(incident_path(&inc.public_id)) { (inc.name) }
                } @else {
                    (inc.name)
                }
            }
            p.meta {
                @if inc.maintenance {
                    strong { (inc.status.label()) } " · "
                    (time_range(inc.scheduled_for, inc.scheduled_until))
                } @else {
                    strong { (inc.status.label()) } " · "
                    (impact_label(inc.impact)) " impact · started " (time_el(inc.started_at))
                }
            }
            @if !inc.components.is_empty() {
                p.meta {
                    "Affects: "
                    @for (i, affected) in inc.components.iter().enumerate() {
                        @if i > 0 { ", " }
                        (affected.name)
                        @if let Some(location) = location_of(snapshot, affected.id) { " (" (location) ")" }
                        " – " (affected.status.label())
                    }
                }
            }
            @if let Some(zones) = zones_text(snapshot, view) {
                p.meta { "Zones: " (zones) }
            }
            (timeline(view))
        }
    }
}

/// The updates of an incident, newest first.
fn timeline(view: &IncidentView) -> Markup {
    html! {
        ol.timeline {
            @for update in updates_newest_first(view) {
                (update_item(update))
            }
        }
    }
}

/// One update: status, text, when and by whom, and every earlier wording.
fn update_item(update: &IncidentUpdate) -> Markup {
    let revisions = update.revisions.len();
    html! {
        li {
            p.status { strong { (update.status.label()) } }
            (text(&update.body))
            p.meta {
                "Posted " (time_el(update.created_at)) " · " (source_label(&update.source))
                @if let Some(edited) = update.edited_at() {
                    " · edited " (time_el(edited))
                }
            }
            @if revisions > 0 {
                details {
                    summary {
                        @if revisions == 1 { "Earlier wording" } @else { (revisions) " earlier wordings" }
                    }
                    ol.revisions {
                        @for (i, revision) in update.revisions.iter().enumerate() {
                            li {
                                p.meta {
                                    "Shown from "
                                    (time_el(if i == 0 { update.created_at } else { update.revisions[i - 1].replaced_at }))
                                    " until " (time_el(revision.replaced_at))
                                    ", replaced by " (crate::render::public_name(&revision.replaced_by))
                                }
                                (text(&revision.body))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The components with their state and 90-day uptime bars.
fn components(snapshot: &PageSnapshot) -> Markup {
    html! {
        section aria-labelledby="components" {
            h2 #components { "Components" }
            @if snapshot.components.is_empty() {
                p.quiet { "No components configured." }
            } @else {
                ul.components {
                    @for view in &snapshot.components {
                        (component(snapshot, view))
                    }
                }
                ul.key aria-label="Colours of the uptime bars" {
                    @for status in [ComponentStatus::Operational, ComponentStatus::DegradedPerformance, ComponentStatus::PartialOutage, ComponentStatus::MajorOutage, ComponentStatus::UnderMaintenance] {
                        li { span class={ "sw s-" (status.as_str()) } {} (status.label()) }
                    }
                    li { span.sw.s-nodata {} "No data" }
                }
            }
        }
    }
}

/// One component: name, location, state, description and uptime bars.
fn component(snapshot: &PageSnapshot, view: &ComponentView) -> Markup {
    let c = &view.component;
    let days = ninety_days(snapshot, view);
    // A new component has no uptime figure until it has a day of data: a
    // few good minutes are not "100%".
    let uptime = view.uptime_percent.map_or_else(
        || {
            if days.iter().any(|d| d.counted() > 0) {
                "not shown yet (under a day of data)".to_owned()
            } else {
                "no data".to_owned()
            }
        },
        percent,
    );
    let problems: Vec<String> = days
        .iter()
        .filter_map(|d| match d.worst() {
            Some(ComponentStatus::Operational) | None => None,
            Some(worst) => Some(format!(
                "{} ({})",
                iso_date(day_start(d.day)),
                worst.label()
            )),
        })
        .collect();
    let summary = if problems.is_empty() {
        format!("Uptime over the last 90 days: {uptime}. No problems recorded.")
    } else {
        format!(
            "Uptime over the last 90 days: {uptime}. Days with problems: {}.",
            problems.join("; ")
        )
    };
    html! {
        li.component {
            div.head {
                h3 {
                    (c.name)
                    @if let Some(location) = &c.location { " " span.loc { (location) } }
                }
                span class={ "state s-" (c.status.as_str()) } { (c.status.label()) }
            }
            @if let Some(description) = &c.description {
                p.desc { (description) }
            }
            @if !view.last_probes.is_empty() {
                p.probes {
                    "Last checked " (human_time(view.last_probes.iter().map(|p| p.at).max().unwrap_or(0))) ": "
                    @for (i, probe) in view.last_probes.iter().enumerate() {
                        @if i > 0 { "; " }
                        (probe.vantage) " "
                        @match (&probe.error, probe.latency_ms) {
                            (Some(error), _) => { span.fail { "failed (" (error) ")" } }
                            (None, Some(0)) => { "under 1 ms" }
                            (None, Some(ms)) => { (ms) " ms" }
                            (None, None) => { "ok" }
                        }
                    }
                }
            }
            div.bars role="img" aria-label=(summary) {
                @for day in &days {
                    span class={ "s-" (day.worst().map_or("nodata", ComponentStatus::as_str)) } title=(day_tooltip(day, &incidents_on(snapshot, c.id, day.day))) {}
                }
            }
            p.legend {
                span { span.d90 { "90 days ago" } span.d30 { "30 days ago" } }
                @if view.uptime_percent.is_some() {
                    span.up { (uptime) " uptime" span.d30 { " (90 days)" } }
                } @else {
                    span.up { "Uptime " (uptime) }
                }
                span { "Today" }
            }
        }
    }
}

/// Exactly 90 days, oldest first, ending with the component's last day:
/// missing days at the start are filled with empty ones (no data), extra
/// ones dropped.
fn ninety_days(snapshot: &PageSnapshot, view: &ComponentView) -> Vec<DayUptime> {
    let last = view
        .days
        .last()
        .map_or_else(|| day_of(snapshot.generated_at), |d| d.day);
    let first = last - (UPTIME_DAYS as i64 - 1);
    let kept: Vec<DayUptime> = view
        .days
        .iter()
        .copied()
        .skip(view.days.len().saturating_sub(UPTIME_DAYS))
        .collect();
    let missing = UPTIME_DAYS - kept.len();
    let mut days: Vec<DayUptime> = (0..missing as i64)
        .map(|i| DayUptime {
            day: first + i,
            ..DayUptime::default()
        })
        .collect();
    days.extend(kept);
    days
}

/// Titles of the incidents and maintenance windows on the page that
/// affected component `id` on `day` (days since 1970-01-01).
fn incidents_on(snapshot: &PageSnapshot, id: i64, day: i64) -> Vec<String> {
    let (start, end) = (day_start(day), day_start(day + 1));
    let mut seen: Vec<i64> = Vec::new();
    let mut names = Vec::new();
    for view in snapshot
        .open_incidents
        .iter()
        .chain(&snapshot.maintenances)
        .chain(&snapshot.history)
    {
        let i = &view.incident;
        let (from, until) = if i.maintenance {
            (
                i.scheduled_for.unwrap_or(i.started_at),
                i.resolved_at.or(i.scheduled_until).unwrap_or(i.started_at),
            )
        } else {
            (i.started_at, i.resolved_at.unwrap_or(snapshot.generated_at))
        };
        if from < end
            && until >= start
            && i.components.iter().any(|c| c.id == id)
            && !seen.contains(&i.id)
        {
            seen.push(i.id);
            names.push(i.name.clone());
        }
    }
    names
}

/// The tooltip of one day's bar, a line each: the date, the day's uptime
/// and mean answer time, the rounds that were not fine, and the incidents
/// of the day:
///
/// ```text
/// 26 Nov 2026
/// 99.95% uptime, mean answer 3 ms
/// 3 partial-outage rounds
/// Incident: ns2 in Frankfurt is not answering
/// ```
fn day_tooltip(day: &DayUptime, incidents: &[String]) -> String {
    let mut lines = vec![human_date(day_start(day.day))];
    match day.percent() {
        None if day.maintenance > 0 => {
            lines.push(format!(
                "Maintenance, {}",
                rounds(day.maintenance, "maintenance")
            ));
        }
        None => lines.push("No data".to_owned()),
        Some(up) => {
            let mut line = format!("{} uptime", percent(up));
            if let Some(ms) = day.latency_ms {
                line.push_str(&format!(", mean answer {ms} ms"));
            }
            lines.push(line);
            let troubles: Vec<String> = [
                (day.degraded, "degraded"),
                (day.partial, "partial-outage"),
                (day.major, "major-outage"),
                (day.maintenance, "maintenance"),
            ]
            .into_iter()
            .filter(|(count, _)| *count > 0)
            .map(|(count, what)| rounds(count, what))
            .collect();
            if !troubles.is_empty() {
                lines.push(troubles.join(", "));
            }
        }
    }
    for name in incidents {
        lines.push(format!("Incident: {name}"));
    }
    lines.join("\n")
}

/// `3 partial-outage rounds`, `1 degraded round`.
fn rounds(count: u32, what: &str) -> String {
    if count == 1 {
        format!("1 {what} round")
    } else {
        format!("{count} {what} rounds")
    }
}

/// The last 14 days, each with its incidents or "No incidents reported.".
fn past_incidents(snapshot: &PageSnapshot) -> Markup {
    let today = day_of(snapshot.generated_at);
    let mut views: Vec<&IncidentView> = snapshot
        .open_incidents
        .iter()
        .chain(&snapshot.history)
        .collect();
    views.sort_by_key(|view| std::cmp::Reverse(filed_at(&view.incident)));
    html! {
        section aria-labelledby="past" {
            h2 #past { "Past incidents" }
            @for back in 0..PAST_DAYS {
                @let day = today - back;
                div.day {
                    h3 { (human_date(day_start(day))) }
                    @let on_day: Vec<&&IncidentView> = views.iter().filter(|v| day_of(filed_at(&v.incident)) == day).collect();
                    @if on_day.is_empty() {
                        p.quiet { "No incidents reported." }
                    }
                    @for view in on_day {
                        (past_item(view))
                    }
                }
            }
            p { a href="/history" { "Incident history →" } }
        }
    }
}

/// One line of a day or month list: the title linking to the incident's
/// page, impact, status and when.
fn past_item(view: &IncidentView) -> Markup {
    let inc = &view.incident;
    let latest = updates_newest_first(view).into_iter().next();
    let when = if inc.maintenance {
        time_range(inc.scheduled_for, inc.scheduled_until)
    } else {
        match inc.resolved_at {
            Some(resolved) => time_range(Some(inc.started_at), Some(resolved)),
            None => format!("since {}", human_time(inc.started_at)),
        }
    };
    html! {
        div class={ "past impact-" (inc.impact.as_str()) } {
            p.title {
                @if is_safe_id(&inc.public_id) {
                    a href=(incident_path(&inc.public_id)) { (inc.name) }
                } @else {
                    (inc.name)
                }
            }
            p.meta {
                @if inc.maintenance { "Maintenance" } @else { (impact_label(inc.impact)) " impact" }
                " · " strong { (inc.status.label()) } " · " (when)
            }
            @if let Some(update) = latest {
                @if let Some(first) = paragraphs(&update.body).first() {
                    p.meta { (first.join(" ")) }
                }
            }
        }
    }
}
