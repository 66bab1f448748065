//! `candor status …`: the status page's incidents, maintenance windows,
//! subscribers and components, worked on in the status database directly.
//! A running `candor serve` on the same data directory notices every change
//! within a second (it follows the database's generation number) and
//! re-renders the page and notifies subscribers; no signal is needed.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use candor_status::db::{NewIncident, NewUpdate, StatusDb, StatusError, now, random_id};
use candor_status::model::{
    Channel, ComponentStatus, Impact, IncidentStatus, IncidentView, Timestamp, UnknownName,
    UpdateSource,
};
use candor_store::Store;
use clap::{Args, Subcommand};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::data::{DataArgs, open_status, open_store};

/// Incidents listed by `incident list`.
const LIST_LIMIT: usize = 100;

/// Length of a generated webhook secret.
const SECRET_LEN: usize = 32;

/// `candor status …`.
#[derive(Subcommand, Debug)]
pub(crate) enum StatusCommand {
    /// List the page's components: id, key, name, state, location.
    Components {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Incidents: list, show, open, update, resolve, edit, postmortem.
    #[command(subcommand)]
    Incident(IncidentCommand),
    /// Posted updates: edit their wording.
    #[command(subcommand)]
    Update(UpdateCommand),
    /// Maintenance windows: schedule, list, reschedule, cancel.
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// Subscribers to the page's notifications: add, list, remove, enable.
    #[command(subcommand)]
    Subscriber(SubscriberCommand),
}

/// Who posts: named on the page as the author of updates and edits.
#[derive(Args, Debug)]
pub(crate) struct Author {
    /// Name shown as the author [default: $USER@cli, or cli].
    #[arg(long = "as", value_name = "NAME")]
    author: Option<String>,
}

impl Author {
    /// The name given, else `$USER@cli`, else `cli`.
    fn name(&self) -> String {
        match &self.author {
            Some(name) if !name.trim().is_empty() => name.trim().to_owned(),
            _ => match std::env::var("USER") {
                Ok(user) if !user.trim().is_empty() => format!("{}@cli", user.trim()),
                _ => "cli".to_owned(),
            },
        }
    }
}

/// `candor status incident …`.
#[derive(Subcommand, Debug)]
pub(crate) enum IncidentCommand {
    /// List incidents and maintenance windows, newest first (the latest 100).
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Show an incident with its full timeline, including the earlier
    /// wordings of edited updates.
    Show {
        /// Incident id or public id.
        id: String,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Open an incident; subscribers are notified. Prints its id.
    Open {
        /// Title, e.g. "ns1 not answering".
        #[arg(long)]
        name: String,
        /// The first update's text.
        #[arg(long)]
        body: String,
        /// investigating, identified or monitoring.
        #[arg(long, default_value = "investigating")]
        status: String,
        /// none, minor, major or critical [default: from the components' states].
        #[arg(long)]
        impact: Option<String>,
        /// An affected component and the state the incident gives it, e.g.
        /// 1=major_outage (repeat for several; ids from `status components`).
        #[arg(long = "component", value_name = "ID=STATUS")]
        components: Vec<String>,
        /// A zone named as affected (repeat for several) [default: every
        /// zone the affected name servers serve].
        #[arg(long = "zone", value_name = "ZONE")]
        zones: Vec<String>,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Post an update; subscribers are notified. Prints the update's id.
    Update {
        /// Incident id or public id.
        id: String,
        /// The new status: investigating, identified, monitoring, resolved
        /// (maintenance: scheduled, in_progress, verifying, completed).
        #[arg(long)]
        status: String,
        /// Text.
        #[arg(long)]
        body: String,
        /// New impact: none, minor, major or critical.
        #[arg(long)]
        impact: Option<String>,
        /// New affected components as ID=STATUS, replacing the old list
        /// (repeat for several).
        #[arg(long = "component", value_name = "ID=STATUS")]
        components: Vec<String>,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Resolve an incident (complete a maintenance window) with a last
    /// update. Prints the update's id.
    Resolve {
        /// Incident id or public id.
        id: String,
        /// Text.
        #[arg(long)]
        body: String,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Rename an incident or change its impact; the change is logged.
    Edit {
        /// Incident id or public id.
        id: String,
        /// New title.
        #[arg(long)]
        name: Option<String>,
        /// New impact: none, minor, major or critical.
        #[arg(long)]
        impact: Option<String>,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Attach (or rewrite) the post-incident report of a closed incident.
    Postmortem {
        /// Incident id or public id.
        id: String,
        /// The report (plain text; paragraphs separated by blank lines).
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        body: Option<String>,
        /// Read the report from this file.
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `candor status update …`.
#[derive(Subcommand, Debug)]
pub(crate) enum UpdateCommand {
    /// Reword a posted update; the earlier wording stays visible as a
    /// revision, and subscribers are not told again.
    Edit {
        /// Update id (from `status incident show`).
        id: i64,
        /// The new text.
        #[arg(long)]
        body: String,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `candor status maintenance …`.
#[derive(Subcommand, Debug)]
pub(crate) enum MaintenanceCommand {
    /// Schedule a maintenance window; subscribers are notified. Prints its id.
    Schedule {
        /// Title, e.g. "Moving ns1 to a new rack".
        #[arg(long)]
        name: String,
        /// What will happen.
        #[arg(long)]
        body: String,
        /// Start, RFC 3339 (2026-11-26T11:00:00Z).
        #[arg(long, value_name = "RFC3339")]
        from: String,
        /// End, RFC 3339.
        #[arg(long, value_name = "RFC3339")]
        until: String,
        /// A component under maintenance (repeat for several); ID or
        /// ID=STATUS [default state: under_maintenance].
        #[arg(long = "component", value_name = "ID")]
        components: Vec<String>,
        /// A zone named as affected (repeat for several).
        #[arg(long = "zone", value_name = "ZONE")]
        zones: Vec<String>,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List the maintenance windows not over yet, soonest first.
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Move a window that is not over; subscribers are notified.
    Reschedule {
        /// Maintenance id or public id.
        id: String,
        /// New start, RFC 3339.
        #[arg(long, value_name = "RFC3339")]
        from: String,
        /// New end, RFC 3339.
        #[arg(long, value_name = "RFC3339")]
        until: String,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Cancel a window that is not over (it is completed with an update
    /// saying so); subscribers are notified.
    Cancel {
        /// Maintenance id or public id.
        id: String,
        /// Why, for the timeline.
        #[arg(long)]
        body: Option<String>,
        #[command(flatten)]
        author: Author,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `candor status subscriber …`.
#[derive(Subcommand, Debug)]
pub(crate) enum SubscriberCommand {
    /// Add an operator's subscriber. Prints its id; for a webhook, the
    /// signing secret follows on the next line, shown this once.
    Add {
        /// POST signed JSON notifications to this http(s) URL.
        #[arg(
            long,
            value_name = "URL",
            conflicts_with = "email",
            required_unless_present = "email"
        )]
        webhook: Option<String>,
        /// E-mail notifications to this address.
        #[arg(long, value_name = "ADDR")]
        email: Option<String>,
        /// Only incidents affecting this zone of the store (repeat for several).
        #[arg(long = "zone", value_name = "ZONE")]
        zones: Vec<String>,
        #[command(flatten)]
        data: DataArgs,
    },
    /// List every subscriber (never webhook secrets).
    List {
        #[command(flatten)]
        data: DataArgs,
    },
    /// Remove a subscriber; deliveries still pending to it are dropped.
    Remove {
        /// Subscriber id (from `status subscriber list`).
        id: i64,
        #[command(flatten)]
        data: DataArgs,
    },
    /// Re-enable a subscriber switched off after failed deliveries.
    Enable {
        /// Subscriber id.
        id: i64,
        #[command(flatten)]
        data: DataArgs,
    },
}

//----------- Helpers -----------------------------------------------------------

/// Writes a line to standard output.
fn out(line: &str) -> anyhow::Result<()> {
    writeln!(std::io::stdout(), "{line}").context("cannot write to stdout")
}

/// A status database error as `field: reason` (or what was not found).
fn explain(e: StatusError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// A status-model name given for `field`.
fn parse<T>(field: &str, value: &str) -> anyhow::Result<T>
where
    T: std::str::FromStr<Err = UnknownName>,
{
    value
        .trim()
        .parse()
        .map_err(|e: UnknownName| anyhow::anyhow!("{field}: {e}"))
}

/// `ID=STATUS` pairs given with `--component`; a bare `ID` gets `default`
/// when there is one.
fn component_states(
    given: &[String],
    default: Option<ComponentStatus>,
) -> anyhow::Result<Vec<(i64, ComponentStatus)>> {
    given
        .iter()
        .map(|item| {
            let (id, status) = match (item.split_once('='), default) {
                (Some((id, status)), _) => (id, parse("components", status)?),
                (None, Some(status)) => (item.as_str(), status),
                (None, None) => {
                    anyhow::bail!("components: {item:?} is not ID=STATUS, like 1=major_outage")
                }
            };
            let id = id
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("components: {id:?} is not a component id"))?;
            Ok((id, status))
        })
        .collect()
}

/// An RFC 3339 time given for `field`.
fn parse_time(field: &str, value: &str) -> anyhow::Result<Timestamp> {
    OffsetDateTime::parse(value.trim(), &Rfc3339)
        .map(OffsetDateTime::unix_timestamp)
        .map_err(|_| {
            anyhow::anyhow!("{field}: {value:?} is not an RFC 3339 time, like 2026-11-26T11:03:05Z")
        })
}

/// A time as RFC 3339 UTC.
fn rfc3339(ts: Timestamp) -> String {
    OffsetDateTime::from_unix_timestamp(ts)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| ts.to_string())
}

/// Looks an incident up by id or public id.
fn find(db: &StatusDb, id: &str) -> anyhow::Result<IncidentView> {
    db.find_incident(id.trim()).map_err(explain)
}

/// The zone of the store named `zone` (any account), by its canonical name.
fn store_zone(store: &Store, zone: &str) -> anyhow::Result<Option<String>> {
    for account in store.accounts()? {
        match store.zone(account.id, zone) {
            Ok(info) => return Ok(Some(info.name)),
            Err(candor_store::StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// An incident in one line: id, public id, kind, status, impact, created, name.
fn summary(view: &IncidentView) -> String {
    let i = &view.incident;
    let kind = if i.maintenance {
        "maintenance"
    } else {
        "incident"
    };
    format!(
        "{}\t{}\t{kind}\t{}\t{}\t{}\t{}",
        i.id,
        i.public_id,
        i.status,
        i.impact,
        rfc3339(i.created_at),
        i.name
    )
}

/// Writes `text` indented by `indent`, line by line.
fn indented(indent: &str, text: &str) -> anyhow::Result<()> {
    for line in text.lines() {
        if line.is_empty() {
            out("")?;
        } else {
            out(&format!("{indent}{line}"))?;
        }
    }
    Ok(())
}

/// Writes an incident with its whole timeline, newest update first.
fn show(view: &IncidentView) -> anyhow::Result<()> {
    let i = &view.incident;
    let kind = match (i.maintenance, i.automatic) {
        (true, _) => "maintenance window",
        (false, true) => "incident, opened by the monitors",
        (false, false) => "incident",
    };
    out(&format!("incident {} ({}): {}", i.id, i.public_id, i.name))?;
    out(&format!("  kind        {kind}"))?;
    out(&format!("  status      {}", i.status))?;
    out(&format!("  impact      {}", i.impact))?;
    if let (Some(from), Some(until)) = (i.scheduled_for, i.scheduled_until) {
        out(&format!(
            "  window      {} to {}",
            rfc3339(from),
            rfc3339(until)
        ))?;
    }
    out(&format!("  started     {}", rfc3339(i.started_at)))?;
    if let Some(at) = i.monitoring_at {
        out(&format!("  monitoring  {}", rfc3339(at)))?;
    }
    if let Some(at) = i.resolved_at {
        out(&format!("  closed      {}", rfc3339(at)))?;
    }
    let zones = if i.zones.is_empty() {
        "(every zone of the affected name servers)".to_owned()
    } else {
        i.zones.join(", ")
    };
    out(&format!("  zones       {zones}"))?;
    let components: Vec<String> = i
        .components
        .iter()
        .map(|c| format!("{} {} ({})", c.id, c.name, c.status))
        .collect();
    if !components.is_empty() {
        out(&format!("  components  {}", components.join(", ")))?;
    }
    out("timeline, newest first:")?;
    for u in &view.updates {
        let by = match &u.source {
            UpdateSource::Monitor => "the monitors".to_owned(),
            UpdateSource::Mitigation => "a mitigation".to_owned(),
            UpdateSource::Operator(name) => name.clone(),
        };
        let edited = u
            .edited_at()
            .map(|at| format!(" (edited {})", rfc3339(at)))
            .unwrap_or_default();
        out(&format!(
            "  update {}  {}  {}  by {by}{edited}",
            u.id,
            rfc3339(u.created_at),
            u.status
        ))?;
        indented("    ", &u.body)?;
        for r in &u.revisions {
            out(&format!(
                "    earlier wording, replaced {} by {}:",
                rfc3339(r.replaced_at),
                r.replaced_by
            ))?;
            indented("      ", &r.body)?;
        }
    }
    if let Some(report) = &i.postmortem {
        let at = i.postmortem_at.map(rfc3339).unwrap_or_default();
        out(&format!("postmortem, {at}:"))?;
        indented("  ", report)?;
    }
    Ok(())
}

//----------- Commands ----------------------------------------------------------

/// Runs `candor status …`.
pub(crate) fn run(cmd: StatusCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StatusCommand::Components { data } => {
            let db = open_status(&data)?;
            let components = db.components().map_err(explain)?;
            if components.is_empty() {
                eprintln!("no components yet: `candor serve` with the status page configures them");
            }
            for c in components {
                out(&format!(
                    "{}\t{}\t{}\t{}\t{}\tupdated {}",
                    c.id,
                    c.key,
                    c.name,
                    c.status,
                    c.location.as_deref().unwrap_or("-"),
                    rfc3339(c.updated_at)
                ))?;
            }
        }
        StatusCommand::Incident(cmd) => incident(cmd)?,
        StatusCommand::Update(UpdateCommand::Edit {
            id,
            body,
            author,
            data,
        }) => {
            let mut db = open_status(&data)?;
            let view = db
                .edit_update(id, &body, &author.name(), now())
                .map_err(explain)?;
            eprintln!(
                "reworded update {id} of incident {}; the earlier wording is kept",
                view.incident.id
            );
        }
        StatusCommand::Maintenance(MaintenanceCommand::Schedule {
            name,
            body,
            from,
            until,
            components,
            zones,
            author,
            data,
        }) => {
            let new = NewIncident {
                name,
                status: IncidentStatus::Scheduled,
                impact: None,
                automatic: false,
                started_at: None,
                scheduled_for: Some(parse_time("from", &from)?),
                scheduled_until: Some(parse_time("until", &until)?),
                components: component_states(&components, Some(ComponentStatus::UnderMaintenance))?,
                zones,
                body,
                source: UpdateSource::Operator(author.name()),
            };
            let mut db = open_status(&data)?;
            let written = db.create_incident(&new, now()).map_err(explain)?;
            let i = &written.incident.incident;
            eprintln!(
                "scheduled maintenance {} ({}); {} notifications queued",
                i.id, i.public_id, written.queued
            );
            out(&i.id.to_string())?;
        }
        StatusCommand::Maintenance(MaintenanceCommand::List { data }) => {
            let db = open_status(&data)?;
            for view in db.open_maintenance().map_err(explain)? {
                out(&summary(&view))?;
            }
        }
        StatusCommand::Maintenance(MaintenanceCommand::Reschedule {
            id,
            from,
            until,
            author,
            data,
        }) => {
            let (from, until) = (parse_time("from", &from)?, parse_time("until", &until)?);
            let mut db = open_status(&data)?;
            let found = find(&db, &id)?.incident.id;
            let written = db
                .reschedule_maintenance(found, from, until, &author.name(), now())
                .map_err(explain)?;
            eprintln!(
                "rescheduled maintenance {found}; {} notifications queued",
                written.queued
            );
        }
        StatusCommand::Maintenance(MaintenanceCommand::Cancel {
            id,
            body,
            author,
            data,
        }) => {
            let mut db = open_status(&data)?;
            let found = find(&db, &id)?.incident.id;
            let written = db
                .cancel_maintenance(found, body.as_deref(), &author.name(), now())
                .map_err(explain)?;
            eprintln!(
                "cancelled maintenance {found}; {} notifications queued",
                written.queued
            );
        }
        StatusCommand::Subscriber(cmd) => subscriber(cmd)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `candor status incident …`.
fn incident(cmd: IncidentCommand) -> anyhow::Result<()> {
    match cmd {
        IncidentCommand::List { data } => {
            let db = open_status(&data)?;
            for view in db.all_incidents(LIST_LIMIT).map_err(explain)? {
                out(&summary(&view))?;
            }
        }
        IncidentCommand::Show { id, data } => {
            let db = open_status(&data)?;
            show(&find(&db, &id)?)?;
        }
        IncidentCommand::Open {
            name,
            body,
            status,
            impact,
            components,
            zones,
            author,
            data,
        } => {
            let new = NewIncident {
                name,
                status: parse("status", &status)?,
                impact: impact.map(|i| parse::<Impact>("impact", &i)).transpose()?,
                automatic: false,
                started_at: None,
                scheduled_for: None,
                scheduled_until: None,
                components: component_states(&components, None)?,
                zones,
                body,
                source: UpdateSource::Operator(author.name()),
            };
            let mut db = open_status(&data)?;
            let written = db.create_incident(&new, now()).map_err(explain)?;
            let i = &written.incident.incident;
            eprintln!(
                "opened incident {} ({}); {} notifications queued",
                i.id, i.public_id, written.queued
            );
            out(&i.id.to_string())?;
        }
        IncidentCommand::Update {
            id,
            status,
            body,
            impact,
            components,
            author,
            data,
        } => {
            let update = NewUpdate {
                status: parse("status", &status)?,
                body,
                source: UpdateSource::Operator(author.name()),
                impact: impact.map(|i| parse::<Impact>("impact", &i)).transpose()?,
                components: if components.is_empty() {
                    None
                } else {
                    Some(component_states(&components, None)?)
                },
            };
            post(&data, &id, &update)?;
        }
        IncidentCommand::Resolve {
            id,
            body,
            author,
            data,
        } => {
            let maintenance = find(&open_status(&data)?, &id)?.incident.maintenance;
            let update = NewUpdate {
                status: if maintenance {
                    IncidentStatus::Completed
                } else {
                    IncidentStatus::Resolved
                },
                body,
                source: UpdateSource::Operator(author.name()),
                impact: None,
                components: None,
            };
            post(&data, &id, &update)?;
        }
        IncidentCommand::Edit {
            id,
            name,
            impact,
            author,
            data,
        } => {
            let impact = impact.map(|i| parse::<Impact>("impact", &i)).transpose()?;
            if name.is_none() && impact.is_none() {
                anyhow::bail!("edit: give --name or --impact");
            }
            let mut db = open_status(&data)?;
            let found = find(&db, &id)?.incident.id;
            db.edit_incident(found, name.as_deref(), impact, &author.name(), now())
                .map_err(explain)?;
            eprintln!("edited incident {found}");
        }
        IncidentCommand::Postmortem {
            id,
            body,
            file,
            author,
            data,
        } => {
            let text = match (body, file) {
                (Some(body), _) => body,
                (None, Some(file)) => std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?,
                (None, None) => anyhow::bail!("postmortem: give --body or --file"),
            };
            let mut db = open_status(&data)?;
            let found = find(&db, &id)?.incident.id;
            db.attach_postmortem(found, &text, &author.name(), now())
                .map_err(explain)?;
            eprintln!("attached the postmortem to incident {found}");
        }
    }
    Ok(())
}

/// Posts `update` on incident `id` and prints the new update's id.
fn post(data: &DataArgs, id: &str, update: &NewUpdate) -> anyhow::Result<()> {
    let mut db = open_status(data)?;
    let found = find(&db, id)?.incident.id;
    let written = db.post_update(found, update, now()).map_err(explain)?;
    let view = &written.incident;
    eprintln!(
        "incident {} is {}; {} notifications queued",
        view.incident.id, view.incident.status, written.queued
    );
    if let Some(latest) = view.updates.first() {
        out(&latest.id.to_string())?;
    }
    Ok(())
}

/// Runs `candor status subscriber …`. The CLI acts as the operator: its
/// subscribers belong to no account, and it may remove anyone's.
fn subscriber(cmd: SubscriberCommand) -> anyhow::Result<()> {
    match cmd {
        SubscriberCommand::Add {
            webhook,
            email,
            zones,
            data,
        } => {
            let channel = match (webhook, email) {
                (Some(url), None) => Channel::Webhook {
                    url: url.trim().to_owned(),
                    secret: random_id(SECRET_LEN),
                },
                (None, Some(address)) => Channel::Email {
                    address: address.trim().to_owned(),
                },
                _ => anyhow::bail!("subscriber: give exactly one of --webhook and --email"),
            };
            let mut names = Vec::with_capacity(zones.len());
            if !zones.is_empty() {
                let store = open_store(&data)?;
                for (i, zone) in zones.iter().enumerate() {
                    match store_zone(&store, zone)? {
                        Some(name) => names.push(name),
                        None => anyhow::bail!("zones[{i}]: {zone} is not a zone in the store"),
                    }
                }
            }
            let mut db = open_status(&data)?;
            let added = db
                .add_subscriber(&channel, None, &names, now())
                .map_err(|e| match e {
                    // The database calls the webhook's URL `url`; here it
                    // is `--webhook`.
                    StatusError::Invalid {
                        field: "url",
                        reason,
                    } => {
                        anyhow::anyhow!("webhook: {reason}")
                    }
                    other => explain(other),
                })?;
            out(&added.id.to_string())?;
            match &added.channel {
                Channel::Webhook { url, secret } => {
                    eprintln!(
                        "added webhook subscriber {} for {url}; its signing secret is printed \
                         after the id, this once",
                        added.id
                    );
                    out(secret)?;
                }
                Channel::Email { address } => {
                    eprintln!("added e-mail subscriber {} for {address}", added.id);
                }
            }
        }
        SubscriberCommand::List { data } => {
            let db = open_status(&data)?;
            for s in db.subscribers(None).map_err(explain)? {
                let (kind, target) = match &s.channel {
                    Channel::Webhook { url, .. } => ("webhook", url.as_str()),
                    Channel::Email { address } => ("email", address.as_str()),
                };
                let owner = match (s.account_id, s.public) {
                    (Some(a), _) => format!("account {a}"),
                    (None, true) if s.confirmed_at.is_none() => "public, unconfirmed".to_owned(),
                    (None, true) => "public".to_owned(),
                    (None, false) => "operator".to_owned(),
                };
                let zones = if s.zones.is_empty() {
                    "all zones".to_owned()
                } else {
                    s.zones.join(",")
                };
                let state = match (s.disabled_at, &s.disabled_reason) {
                    (Some(at), Some(why)) => format!("disabled {} ({why})", rfc3339(at)),
                    (Some(at), None) => format!("disabled {}", rfc3339(at)),
                    (None, _) => "enabled".to_owned(),
                };
                out(&format!(
                    "{}\t{kind}\t{target}\t{owner}\t{zones}\t{state}\tfailures {}\tcreated {}",
                    s.id,
                    s.failures,
                    rfc3339(s.created_at)
                ))?;
            }
        }
        SubscriberCommand::Remove { id, data } => {
            let mut db = open_status(&data)?;
            db.remove_subscriber(id, None, now()).map_err(explain)?;
            eprintln!("removed subscriber {id}");
        }
        SubscriberCommand::Enable { id, data } => {
            let mut db = open_status(&data)?;
            db.enable_subscriber(id, None).map_err(explain)?;
            eprintln!("enabled subscriber {id}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Subcommand;

    use super::StatusCommand;

    /// Clap's own consistency checks (unique argument names, valid
    /// conflicts) over every `status` subcommand.
    #[test]
    fn the_commands_are_consistent() {
        StatusCommand::augment_subcommands(clap::Command::new("status")).debug_assert();
    }
}
