//! What the status page knows: components, incidents and their timelines,
//! subscribers, and the uptime history. Times are Unix seconds (UTC).
//!
//! The names of the states are Statuspage's, so the JSON API can use them
//! as they are and existing Statuspage consumers understand them.

use std::fmt;
use std::str::FromStr;

/// Unix seconds, UTC.
pub type Timestamp = i64;

/// A component's state, worst last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentStatus {
    /// Everything answers.
    Operational,
    /// A planned maintenance window covers it.
    UnderMaintenance,
    /// Answers, but slowly (probe latency above the threshold).
    DegradedPerformance,
    /// Some vantage points (fewer than all) cannot reach it.
    PartialOutage,
    /// No vantage point can reach it.
    MajorOutage,
}

/// What kind of thing a component is; monitors pick their probe by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ComponentKind {
    /// A DNS listener, probed with a canary query over UDP and TCP.
    NameServer,
    /// The REST API, probed over HTTP.
    Api,
    /// The URL redirector, probed over HTTP.
    Redirector,
    /// Anything an operator adds by hand; no monitor.
    Other,
}

/// A part of the service whose state the page shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    /// Database id.
    pub id: i64,
    /// Stable key from the configuration (`ns:127.0.0.1:53`, `api`,
    /// `redirector`), so a restart finds the same component again.
    pub key: String,
    /// Shown name, e.g. `ns1.candor.test (127.0.0.1:53)`.
    pub name: String,
    /// Location label, e.g. `Amsterdam`.
    pub location: Option<String>,
    /// One line shown under the name.
    pub description: Option<String>,
    /// Kind.
    pub kind: ComponentKind,
    /// Current state.
    pub status: ComponentStatus,
    /// Order on the page.
    pub position: i64,
    /// When it was first configured.
    pub created_at: Timestamp,
    /// When its state last changed.
    pub updated_at: Timestamp,
}

/// One day of a component's history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DayUptime {
    /// The day, as days since 1970-01-01 (UTC).
    pub day: i64,
    /// Probe rounds in which the component was fully healthy.
    pub ok: u32,
    /// Rounds with degraded performance (counted as up).
    pub degraded: u32,
    /// Rounds with a partial outage.
    pub partial: u32,
    /// Rounds with a major outage.
    pub major: u32,
    /// Rounds inside a maintenance window (not counted against uptime).
    pub maintenance: u32,
    /// Mean round-trip time of the day's successful probes (milliseconds).
    pub latency_ms: Option<u32>,
}

impl DayUptime {
    /// Rounds that count for uptime (maintenance excluded).
    pub fn counted(&self) -> u32 {
        self.ok + self.degraded + self.partial + self.major
    }

    /// Uptime of the day in percent, `None` when nothing was measured.
    /// A partial outage counts half, as Statuspage does with its weights.
    pub fn percent(&self) -> Option<f64> {
        let counted = self.counted();
        (counted > 0).then(|| self.up() * 100.0 / f64::from(counted))
    }

    /// Rounds counted as up: healthy and degraded ones, and half of the
    /// partial-outage ones.
    pub fn up(&self) -> f64 {
        f64::from(self.ok + self.degraded) + f64::from(self.partial) * 0.5
    }

    /// The worst state seen during the day, `None` when nothing was measured.
    pub fn worst(&self) -> Option<ComponentStatus> {
        if self.major > 0 {
            Some(ComponentStatus::MajorOutage)
        } else if self.partial > 0 {
            Some(ComponentStatus::PartialOutage)
        } else if self.degraded > 0 {
            Some(ComponentStatus::DegradedPerformance)
        } else if self.ok > 0 {
            Some(ComponentStatus::Operational)
        } else if self.maintenance > 0 {
            Some(ComponentStatus::UnderMaintenance)
        } else {
            None
        }
    }
}

/// Where an incident stands. The first four are incidents, the last four
/// maintenance windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IncidentStatus {
    /// Something is wrong; the cause is not known yet.
    Investigating,
    /// The cause is known.
    Identified,
    /// A fix is in; watching that it holds.
    Monitoring,
    /// Over.
    Resolved,
    /// A maintenance window that has not started.
    Scheduled,
    /// A maintenance window under way.
    InProgress,
    /// Maintenance done, being checked.
    Verifying,
    /// Maintenance over.
    Completed,
}

impl IncidentStatus {
    /// Resolved incidents and completed maintenance are closed.
    pub fn is_closed(self) -> bool {
        matches!(self, Self::Resolved | Self::Completed)
    }
}

/// How bad an incident is (Statuspage's impact levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Impact {
    /// No visible impact.
    None,
    /// Planned maintenance.
    Maintenance,
    /// Some users notice (degraded performance).
    Minor,
    /// Part of the service is down (partial outage).
    Major,
    /// The service is down (major outage).
    Critical,
}

/// An incident or a maintenance window.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    /// Database id.
    pub id: i64,
    /// Public id used in URLs and feeds (random, 12 lower-case letters and
    /// digits), so ids reveal nothing about counts.
    pub public_id: String,
    /// Title.
    pub name: String,
    /// Current status.
    pub status: IncidentStatus,
    /// Impact.
    pub impact: Impact,
    /// True for a maintenance window.
    pub maintenance: bool,
    /// True when monitors opened it.
    pub automatic: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
    /// When the trouble started (the first failed probe for automatic ones).
    pub started_at: Timestamp,
    /// When it reached `Monitoring`, if it has.
    pub monitoring_at: Option<Timestamp>,
    /// When it was resolved or completed.
    pub resolved_at: Option<Timestamp>,
    /// Maintenance: planned start.
    pub scheduled_for: Option<Timestamp>,
    /// Maintenance: planned end.
    pub scheduled_until: Option<Timestamp>,
    /// Zones named as affected; empty means every zone the affected name
    /// servers serve.
    pub zones: Vec<String>,
    /// Components affected, with the state each was in when last updated.
    pub components: Vec<AffectedComponent>,
    /// The post-incident report (Markdown-free plain text; paragraphs
    /// separated by blank lines).
    pub postmortem: Option<String>,
    /// When the report was attached.
    pub postmortem_at: Option<Timestamp>,
}

/// A component an incident affects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AffectedComponent {
    /// Component id.
    pub id: i64,
    /// Component name (as of now).
    pub name: String,
    /// The state the incident gave it.
    pub status: ComponentStatus,
}

/// Who posted an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateSource {
    /// The monitors.
    Monitor,
    /// A mitigation switch was flipped (e.g. ALIAS refresh off).
    Mitigation,
    /// An operator, by name (user e-mail or token name).
    Operator(String),
}

/// One entry of an incident's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentUpdate {
    /// Database id.
    pub id: i64,
    /// The incident.
    pub incident_id: i64,
    /// The incident's status set by this update.
    pub status: IncidentStatus,
    /// Text (plain; paragraphs separated by blank lines).
    pub body: String,
    /// Who posted it.
    pub source: UpdateSource,
    /// When it was posted.
    pub created_at: Timestamp,
    /// Earlier wordings, oldest first: edits keep them.
    pub revisions: Vec<Revision>,
}

impl IncidentUpdate {
    /// When the wording last changed, if it ever did.
    pub fn edited_at(&self) -> Option<Timestamp> {
        self.revisions.last().map(|r| r.replaced_at)
    }
}

/// A replaced wording of an update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revision {
    /// The text as it was.
    pub body: String,
    /// When it was replaced.
    pub replaced_at: Timestamp,
    /// Who replaced it.
    pub replaced_by: String,
}

/// An incident with its timeline, newest update first.
#[derive(Clone, Debug, PartialEq)]
pub struct IncidentView {
    /// The incident.
    pub incident: Incident,
    /// Its updates, newest first.
    pub updates: Vec<IncidentUpdate>,
}

/// The latest probe of a component from one vantage point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProbeResult {
    /// The component.
    pub component_id: i64,
    /// The vantage point's name.
    pub vantage: String,
    /// When the probe was sent.
    pub at: Timestamp,
    /// Round-trip time when it succeeded.
    pub latency_ms: Option<u32>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

/// A component with its history.
#[derive(Clone, Debug, PartialEq)]
pub struct ComponentView {
    /// The component.
    pub component: Component,
    /// The last 90 days, oldest first, exactly 90 entries (days without
    /// measurements have all counts zero).
    pub days: Vec<DayUptime>,
    /// Uptime over those days in percent, `None` when nothing was measured.
    pub uptime_percent: Option<f64>,
    /// The latest probe from each vantage point, by vantage name.
    pub last_probes: Vec<ProbeResult>,
}

/// The page's overall state (Statuspage's `status.indicator`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Indicator {
    /// All systems operational.
    None,
    /// Minor: degraded performance somewhere, or maintenance under way.
    Minor,
    /// Major: a partial outage.
    Major,
    /// Critical: a major outage.
    Critical,
}

/// Everything a rendering of the page needs, read in one transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct PageSnapshot {
    /// Page name, e.g. `Candor status`.
    pub name: String,
    /// Public base URL of the status page, without a trailing slash, e.g.
    /// `https://status.example.net` (used for links in feeds and JSON).
    pub url: String,
    /// When the snapshot was taken.
    pub generated_at: Timestamp,
    /// When anything on the page last changed.
    pub updated_at: Timestamp,
    /// Overall state.
    pub indicator: Indicator,
    /// Components in page order.
    pub components: Vec<ComponentView>,
    /// Open incidents (not maintenance), newest first.
    pub open_incidents: Vec<IncidentView>,
    /// Maintenance windows scheduled or under way, soonest first.
    pub maintenances: Vec<IncidentView>,
    /// Closed incidents and maintenance of the history window (newest
    /// first, at most 50).
    pub history: Vec<IncidentView>,
}

/// The worst effect users see of the components' states, as one state.
///
/// Name servers are redundant: resolvers ask another when one does not
/// answer, so DNS is down only when every name server is (a major outage);
/// one or some of them down, or unreachable from some places, is a partial
/// outage of DNS; one answering slowly or unreliably is degraded
/// performance (a name server under maintenance counts as not answering
/// for the first rule). Every other component (the API, the redirector, zone
/// publishing) has no stand-in, so its own state is what users see.
pub fn user_visible(
    components: impl IntoIterator<Item = (ComponentKind, ComponentStatus)>,
) -> ComponentStatus {
    let mut worst = ComponentStatus::Operational;
    let (mut nameservers, mut down) = (0usize, 0usize);
    for (kind, status) in components {
        let seen = if kind == ComponentKind::NameServer {
            nameservers += 1;
            // A name server under maintenance may not answer either.
            if matches!(
                status,
                ComponentStatus::MajorOutage | ComponentStatus::UnderMaintenance
            ) {
                down += 1;
            }
            status.min(ComponentStatus::PartialOutage)
        } else {
            status
        };
        worst = worst.max(seen);
    }
    if nameservers > 0 && down == nameservers {
        worst = ComponentStatus::MajorOutage;
    }
    worst
}

/// Whether a maintenance window (not yet completed) holds its components
/// under maintenance at `now`: once started, or within its planned times.
pub fn maintenance_active(
    status: IncidentStatus,
    scheduled_for: Option<Timestamp>,
    scheduled_until: Option<Timestamp>,
    now: Timestamp,
) -> bool {
    matches!(
        status,
        IncidentStatus::InProgress | IncidentStatus::Verifying
    ) || scheduled_for.is_some_and(|f| f <= now) && scheduled_until.is_some_and(|u| u > now)
}

/// The status a maintenance window moves to by itself at `now`, if any: a
/// scheduled one starts at its planned start (or completes, when its end
/// has passed too); a started one completes at its planned end.
pub fn maintenance_step(
    status: IncidentStatus,
    scheduled_for: Option<Timestamp>,
    scheduled_until: Option<Timestamp>,
    now: Timestamp,
) -> Option<IncidentStatus> {
    match (status, scheduled_for, scheduled_until) {
        (IncidentStatus::Scheduled, _, Some(until)) if until <= now => {
            Some(IncidentStatus::Completed)
        }
        (IncidentStatus::Scheduled, Some(from), _) if from <= now => {
            Some(IncidentStatus::InProgress)
        }
        (IncidentStatus::InProgress | IncidentStatus::Verifying, _, Some(until))
            if until <= now =>
        {
            Some(IncidentStatus::Completed)
        }
        _ => None,
    }
}

impl PageSnapshot {
    /// The page's settings and state, without components and incidents.
    pub fn clone_settings(&self) -> PageSnapshot {
        PageSnapshot {
            name: self.name.clone(),
            url: self.url.clone(),
            generated_at: self.generated_at,
            updated_at: self.updated_at,
            indicator: self.indicator,
            components: Vec::new(),
            open_incidents: Vec::new(),
            maintenances: Vec::new(),
            history: Vec::new(),
        }
    }
}

impl Indicator {
    /// The indicator for the worst user-visible state ([`user_visible`]).
    pub fn of(status: ComponentStatus) -> Indicator {
        match status {
            ComponentStatus::MajorOutage => Indicator::Critical,
            ComponentStatus::PartialOutage => Indicator::Major,
            ComponentStatus::DegradedPerformance | ComponentStatus::UnderMaintenance => {
                Indicator::Minor
            }
            ComponentStatus::Operational => Indicator::None,
        }
    }

    /// Statuspage's wording for the indicator.
    pub fn description(self) -> &'static str {
        match self {
            Self::None => "All Systems Operational",
            Self::Minor => "Minor Service Outage",
            Self::Major => "Partial System Outage",
            Self::Critical => "Major Service Outage",
        }
    }
}

/// Where a subscriber is told.
#[derive(Clone, PartialEq, Eq)]
pub enum Channel {
    /// POST a signed JSON document to a URL.
    Webhook {
        /// The URL.
        url: String,
        /// The HMAC key (shown once when the subscription is made).
        secret: String,
    },
    /// Send an e-mail.
    Email {
        /// The address.
        address: String,
    },
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Webhook { url, .. } => f
                .debug_struct("Webhook")
                .field("url", url)
                .field("secret", &"<redacted>")
                .finish(),
            Self::Email { address } => f.debug_struct("Email").field("address", address).finish(),
        }
    }
}

/// Someone who wants to hear about incidents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscriber {
    /// Database id.
    pub id: i64,
    /// Where to send.
    pub channel: Channel,
    /// The Candor account that made the subscription (a zone owner), if
    /// any; `None` for ones the operator made.
    pub account_id: Option<i64>,
    /// Only incidents affecting these zones (empty: every incident). An
    /// incident affects a zone when it names it, or names no zone and
    /// affects a name server.
    pub zones: Vec<String>,
    /// When it was made.
    pub created_at: Timestamp,
    /// Consecutive failed deliveries.
    pub failures: u32,
    /// When the current run of failed deliveries started, if one is
    /// running.
    pub failing_since: Option<Timestamp>,
    /// When it was disabled after too many failures, if it was.
    pub disabled_at: Option<Timestamp>,
    /// Why it was disabled: the failures, and the last error.
    pub disabled_reason: Option<String>,
    /// A secret token in its confirmation and one-click unsubscribe links.
    pub token: String,
    /// Made on the public page, without an account.
    pub public: bool,
    /// When a public e-mail subscriber confirmed its address (double opt-in);
    /// until then it is sent nothing but the confirmation request.
    pub confirmed_at: Option<Timestamp>,
}

/// What happened, as told to subscribers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A new incident or maintenance window.
    IncidentCreated,
    /// A new update on it.
    IncidentUpdated,
    /// It was resolved or completed.
    IncidentResolved,
}

/// One pending or finished delivery of an event to a subscriber.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Database id.
    pub id: i64,
    /// Idempotency key: the same for every attempt of this delivery.
    pub key: String,
    /// The subscriber.
    pub subscriber_id: i64,
    /// The incident.
    pub incident_id: i64,
    /// The update that caused it.
    pub update_id: i64,
    /// What happened.
    pub event: Event,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: Timestamp,
    /// When it was delivered, if it was.
    pub delivered_at: Option<Timestamp>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was given up on (permanent failure or subscriber disabled).
    pub abandoned_at: Option<Timestamp>,
}

/// What a [`Message`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    /// Tells an account that one of its subscriptions was disabled after
    /// its deliveries failed for a long time, and how to enable it again.
    SubscriberDisabled,
    /// Asks an address that subscribed on the public page to confirm.
    Confirmation,
}

/// An e-mail that is not an incident notification (to an account's
/// address, or to an address that asked to subscribe), in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Database id.
    pub id: i64,
    /// Idempotency key (the e-mail's Message-ID).
    pub key: String,
    /// What it is about.
    pub kind: MessageKind,
    /// The account told (`None`: the operator's); used when `address` is
    /// `None`.
    pub account_id: Option<i64>,
    /// The subscriber it is about.
    pub subscriber_id: Option<i64>,
    /// Where to send it; `None`: the account's address.
    pub address: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// One-click unsubscribe URL (RFC 8058), if any.
    pub list_unsubscribe: Option<String>,
    /// Attempts made so far.
    pub attempts: u32,
    /// When the next attempt is due.
    pub next_attempt_at: Timestamp,
}

/// A value of one of the enums above was not one of its names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownName {
    /// What was expected, e.g. `component status`.
    pub what: &'static str,
    /// What was given.
    pub given: String,
    /// The accepted names.
    pub expected: &'static [&'static str],
}

impl fmt::Display for UnknownName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} {:?} (expected one of: {})",
            self.what,
            self.given,
            self.expected.join(", ")
        )
    }
}

impl std::error::Error for UnknownName {}

/// `as_str`, `Display` and `FromStr` over the Statuspage names.
macro_rules! names {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($name),+];

            /// The Statuspage name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, UnknownName> {
                match s {
                    $($name => Ok(Self::$variant),)+
                    _ => Err(UnknownName { what: $what, given: s.to_owned(), expected: Self::NAMES }),
                }
            }
        }
    };
}

names!(ComponentStatus, "component status", {
    Operational => "operational",
    UnderMaintenance => "under_maintenance",
    DegradedPerformance => "degraded_performance",
    PartialOutage => "partial_outage",
    MajorOutage => "major_outage",
});

names!(ComponentKind, "component kind", {
    NameServer => "nameserver",
    Api => "api",
    Redirector => "redirector",
    Other => "other",
});

names!(IncidentStatus, "incident status", {
    Investigating => "investigating",
    Identified => "identified",
    Monitoring => "monitoring",
    Resolved => "resolved",
    Scheduled => "scheduled",
    InProgress => "in_progress",
    Verifying => "verifying",
    Completed => "completed",
});

names!(Impact, "impact", {
    None => "none",
    Maintenance => "maintenance",
    Minor => "minor",
    Major => "major",
    Critical => "critical",
});

names!(Indicator, "indicator", {
    None => "none",
    Minor => "minor",
    Major => "major",
    Critical => "critical",
});

names!(MessageKind, "message kind", {
    SubscriberDisabled => "subscriber_disabled",
    Confirmation => "confirmation",
});

names!(Event, "event", {
    IncidentCreated => "incident.created",
    IncidentUpdated => "incident.updated",
    IncidentResolved => "incident.resolved",
});

impl ComponentStatus {
    /// Human wording, e.g. `Partial outage`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Operational => "Operational",
            Self::UnderMaintenance => "Under maintenance",
            Self::DegradedPerformance => "Degraded performance",
            Self::PartialOutage => "Partial outage",
            Self::MajorOutage => "Major outage",
        }
    }

    /// The impact an incident about this state has.
    pub fn impact(self) -> Impact {
        match self {
            Self::Operational => Impact::None,
            Self::UnderMaintenance => Impact::Maintenance,
            Self::DegradedPerformance => Impact::Minor,
            Self::PartialOutage => Impact::Major,
            Self::MajorOutage => Impact::Critical,
        }
    }
}

impl IncidentStatus {
    /// Human wording, e.g. `Investigating`.
    pub fn label(self) -> &'static str {
        match self {
            Self::Investigating => "Investigating",
            Self::Identified => "Identified",
            Self::Monitoring => "Monitoring",
            Self::Resolved => "Resolved",
            Self::Scheduled => "Scheduled",
            Self::InProgress => "In progress",
            Self::Verifying => "Verifying",
            Self::Completed => "Completed",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for name in ComponentStatus::NAMES {
            assert_eq!(
                name.parse::<ComponentStatus>().map(|s| s.as_str()),
                Ok(*name)
            );
        }
        for name in IncidentStatus::NAMES {
            assert_eq!(
                name.parse::<IncidentStatus>().map(|s| s.as_str()),
                Ok(*name)
            );
        }
        let err = "down".parse::<ComponentStatus>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown component status \"down\" (expected one of: operational, under_maintenance, \
             degraded_performance, partial_outage, major_outage)"
        );
    }

    #[test]
    fn day_uptime() {
        let day = DayUptime {
            day: 0,
            ok: 6,
            degraded: 1,
            partial: 2,
            major: 1,
            maintenance: 5,
            latency_ms: None,
        };
        assert_eq!(day.counted(), 10);
        assert_eq!(day.percent(), Some(80.0));
        assert_eq!(day.worst(), Some(ComponentStatus::MajorOutage));
        assert_eq!(DayUptime::default().percent(), None);
        assert_eq!(DayUptime::default().worst(), None);
    }

    #[test]
    fn one_name_server_down_is_a_partial_outage_of_dns() {
        use ComponentKind::{Api, NameServer};
        use ComponentStatus::*;
        let cases: &[(&[(ComponentKind, ComponentStatus)], ComponentStatus)] = &[
            (
                &[(NameServer, MajorOutage), (NameServer, Operational)],
                PartialOutage,
            ),
            (
                &[(NameServer, MajorOutage), (NameServer, MajorOutage)],
                MajorOutage,
            ),
            (&[(NameServer, MajorOutage)], MajorOutage),
            (
                &[(NameServer, PartialOutage), (NameServer, PartialOutage)],
                PartialOutage,
            ),
            (
                &[(NameServer, DegradedPerformance), (NameServer, Operational)],
                DegradedPerformance,
            ),
            (
                &[(NameServer, Operational), (Api, MajorOutage)],
                MajorOutage,
            ),
            (
                &[(NameServer, MajorOutage), (NameServer, UnderMaintenance)],
                MajorOutage,
            ),
            (
                &[(NameServer, Operational), (NameServer, UnderMaintenance)],
                UnderMaintenance,
            ),
            (
                &[(NameServer, Operational), (NameServer, Operational)],
                Operational,
            ),
            (&[], Operational),
        ];
        for (components, expected) in cases {
            assert_eq!(
                user_visible(components.iter().copied()),
                *expected,
                "{components:?}"
            );
        }
        assert_eq!(
            Indicator::of(PartialOutage).description(),
            "Partial System Outage"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let c = Channel::Webhook {
            url: "http://x".into(),
            secret: "s3cret".into(),
        };
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
