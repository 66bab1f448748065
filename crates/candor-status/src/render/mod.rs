//! Rendering: the status page's HTML, its Atom feed, the Statuspage-shaped
//! JSON API and what subscribers are sent.
//!
//! Every function here is pure: it reads a [`PageSnapshot`] (and, for
//! notifications, one incident and update) and returns text or bytes. No
//! I/O, no clock: "now" is `snapshot.generated_at`, so the same snapshot
//! always renders to the same bytes (and the same ETags).
//!
//! - [`html`]: the status page, one page per incident, the history page.
//! - [`atom`]: the Atom 1.0 feed at `/history.atom`.
//! - [`json`]: Statuspage API v2 documents (`/api/v2/summary.json`, ...).
//! - [`notify`]: webhook payloads and e-mail texts.
//!
//! Times are shown in UTC, absolute, as `26 Nov 2026, 11:03 UTC`, and
//! written in machine formats as RFC 3339 (`2026-11-26T11:03:00.000Z`).

pub mod atom;
pub mod html;
pub mod json;
pub mod notify;

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod tests;

use time::OffsetDateTime;

use crate::model::{
    ComponentKind, Impact, Incident, IncidentUpdate, IncidentView, PageSnapshot, Timestamp,
    UpdateSource,
};

/// The earliest time shown: 0000-01-01T00:00:00Z. Earlier times are
/// clamped, so formatting never fails and years always have four digits.
const MIN_TIME: Timestamp = -62_167_219_200;
/// The latest time shown: 9999-12-31T23:59:59Z.
const MAX_TIME: Timestamp = 253_402_300_799;
/// Seconds in a day.
const DAY: i64 = 86_400;
/// English month abbreviations, January first.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// English month names, January first.
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The calendar fields of a timestamp (UTC), clamped to years 0..=9999.
fn fields(t: Timestamp) -> OffsetDateTime {
    let t = t.clamp(MIN_TIME, MAX_TIME);
    // Inside the clamped range the conversion always succeeds.
    OffsetDateTime::from_unix_timestamp(t).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Index (0..12) of a month.
fn month_index(dt: &OffsetDateTime) -> usize {
    usize::from(u8::from(dt.month())) - 1
}

/// `26 Nov 2026, 11:03 UTC`.
pub(crate) fn human_time(t: Timestamp) -> String {
    let dt = fields(t);
    format!(
        "{} {} {:04}, {:02}:{:02} UTC",
        dt.day(),
        MONTHS[month_index(&dt)],
        dt.year(),
        dt.hour(),
        dt.minute()
    )
}

/// `26 Nov 2026`.
pub(crate) fn human_date(t: Timestamp) -> String {
    let dt = fields(t);
    format!("{} {} {:04}", dt.day(), MONTHS[month_index(&dt)], dt.year())
}

/// `November 2026`.
pub(crate) fn human_month(t: Timestamp) -> String {
    let dt = fields(t);
    format!("{} {:04}", MONTH_NAMES[month_index(&dt)], dt.year())
}

/// `11:03`.
fn clock(t: Timestamp) -> String {
    let dt = fields(t);
    format!("{:02}:{:02}", dt.hour(), dt.minute())
}

/// RFC 3339 with milliseconds and `Z`, as Statuspage writes times:
/// `2026-11-26T11:03:00.000Z`.
pub(crate) fn rfc3339(t: Timestamp) -> String {
    let dt = fields(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.000Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// `2026-11-26`.
pub(crate) fn iso_date(t: Timestamp) -> String {
    let dt = fields(t);
    format!(
        "{:04}-{:02}-{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day()
    )
}

/// The day (days since 1970-01-01, UTC) a timestamp falls on.
pub(crate) fn day_of(t: Timestamp) -> i64 {
    t.div_euclid(DAY)
}

/// The first second of a day number.
pub(crate) fn day_start(day: i64) -> Timestamp {
    day.saturating_mul(DAY)
}

/// `27 Nov 2026, 02:00 – 04:00 UTC`, or with both dates when the window
/// spans midnight; `from ...` or `until ...` when one end is unknown.
pub(crate) fn time_range(from: Option<Timestamp>, until: Option<Timestamp>) -> String {
    match (from, until) {
        (Some(from), Some(until)) if day_of(from) == day_of(until) => {
            format!(
                "{}, {} – {} UTC",
                human_date(from),
                clock(from),
                clock(until)
            )
        }
        (Some(from), Some(until)) => format!("{} – {}", human_time(from), human_time(until)),
        (Some(from), None) => format!("from {}", human_time(from)),
        (None, Some(until)) => format!("until {}", human_time(until)),
        (None, None) => "not scheduled".to_owned(),
    }
}

/// A length of time in words: `40 s`, `23 min`, `1 h 5 min`, `2 d 3 h`.
pub(crate) fn duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (days, hours, minutes) = (s / DAY, s % DAY / 3600, s % 3600 / 60);
    if days > 0 {
        if hours > 0 {
            format!("{days} d {hours} h")
        } else {
            format!("{days} d")
        }
    } else if hours > 0 {
        if minutes > 0 {
            format!("{hours} h {minutes} min")
        } else {
            format!("{hours} h")
        }
    } else if minutes > 0 {
        format!("{minutes} min")
    } else {
        format!("{s} s")
    }
}

/// A percentage with two decimals, rounded down so that anything short of
/// perfect never shows as `100.00%`: `99.95%`, `100%`.
pub(crate) fn percent(value: f64) -> String {
    if value >= 100.0 {
        "100%".to_owned()
    } else {
        format!("{:.2}%", (value.max(0.0) * 100.0).floor() / 100.0)
    }
}

/// Splits plain text into paragraphs (separated by blank lines), each a
/// list of its lines, trimmed of trailing white space.
pub(crate) fn paragraphs(text: &str) -> Vec<Vec<&str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
        } else {
            current.push(line);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Who posted an update, as shown: `Automatic (monitors)`, `Mitigation` or
/// the operator's name.
pub(crate) fn source_label(source: &UpdateSource) -> &str {
    match source {
        UpdateSource::Monitor => "Automatic (monitors)",
        UpdateSource::Mitigation => "Mitigation",
        UpdateSource::Operator(name) => public_name(name),
    }
}

/// How an operator is named in public: a name chosen for it (`candor
/// status ... --as "Jane, on call"`) as it is, but never an e-mail address
/// (API posts are made by users known by their address).
pub(crate) fn public_name(name: &str) -> &str {
    if name.contains('@') || name.trim().is_empty() {
        "Operator"
    } else {
        name
    }
}

/// Human wording of an impact: `Critical`, `Major`, ...
pub(crate) fn impact_label(impact: Impact) -> &'static str {
    match impact {
        Impact::None => "None",
        Impact::Maintenance => "Maintenance",
        Impact::Minor => "Minor",
        Impact::Major => "Major",
        Impact::Critical => "Critical",
    }
}

/// The site path of an incident's page: `/incidents/{public_id}`.
pub(crate) fn incident_path(public_id: &str) -> String {
    format!("/incidents/{public_id}")
}

/// The public URL of an incident's page.
pub(crate) fn incident_url(base: &str, public_id: &str) -> String {
    format!("{base}{}", incident_path(public_id))
}

/// True when a public id can be a path segment and a directory name as it
/// is: 1 to 64 ASCII letters, digits, `-` or `_`. Ids are made that way;
/// anything else is not given a page (and never becomes a file name).
pub(crate) fn is_safe_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The updates of an incident, newest first (ties: higher id first). The
/// model already orders them so; sorting again keeps every output in the
/// same order whatever the caller did.
pub(crate) fn updates_newest_first(view: &IncidentView) -> Vec<&IncidentUpdate> {
    let mut updates: Vec<&IncidentUpdate> = view.updates.iter().collect();
    updates.sort_by_key(|u| std::cmp::Reverse((u.created_at, u.id)));
    updates
}

/// The moment an incident is filed under in day and month lists: when a
/// maintenance window was planned to start, when an incident's trouble
/// started.
pub(crate) fn filed_at(incident: &Incident) -> Timestamp {
    if incident.maintenance {
        incident.scheduled_for.unwrap_or(incident.started_at)
    } else {
        incident.started_at
    }
}

/// A component's location, looked up by id.
pub(crate) fn location_of(snapshot: &PageSnapshot, id: i64) -> Option<&str> {
    snapshot
        .components
        .iter()
        .find(|c| c.component.id == id)
        .and_then(|c| c.component.location.as_deref())
}

/// The zones an incident affects, in words; `None` when it names none and
/// affects no name server (zones are not its concern then).
pub(crate) fn zones_text(snapshot: &PageSnapshot, view: &IncidentView) -> Option<String> {
    let inc = &view.incident;
    if !inc.zones.is_empty() {
        return Some(inc.zones.join(", "));
    }
    let name_server = inc.components.iter().any(|affected| {
        snapshot
            .components
            .iter()
            .any(|c| c.component.id == affected.id && c.component.kind == ComponentKind::NameServer)
    });
    name_server.then(|| "Every zone served by the affected name servers".to_owned())
}
