//! Cleanup of expired data: `kratos cleanup sql` on a schedule set by config, on the
//! leader only, and the `cleanup` action (`actions.rs`) that runs it now.
//!
//! Kratos keeps expired sessions, self-service flows (login, registration, recovery,
//! verification, settings), continuity containers and session-token exchangers in its
//! database until something removes them. `kratos cleanup sql` (v1.3.1) deletes, for each
//! of those eight kinds in turn, at most `--database.cleanup.batch_size` rows whose
//! `expires_at` (for exchangers: `created_at`) lies before now minus `--keep-last`,
//! oldest first, then sleeps `--database.cleanup.sleep.tables`; one invocation is one
//! batch per kind and it reports no counts. It does not touch courier messages.
//!
//! # Design: a step of the leader's hooks, not a Pebble service on a timer
//!
//! Every hook that converges ends with [`on_schedule`]: on the leader, when
//! `cleanup_interval` has passed since the last run recorded in the peer application
//! databag, it confirms leadership (`is-leader` asked again, not the hook's cached
//! answer), runs the cleanup through Pebble's exec with a timeout of [`run::TIMEOUT`]
//! (25 s) and records the run's start time. `update-status` (every 5 minutes by default)
//! is the clock; its steady-state shortcut (`steady.rs`) reads the next due time from the
//! unit-state record it already reads, so a run that is not due costs no hook-tool call,
//! and a due one sends the hook down the full path.
//!
//! Why, under Juju's rules:
//! - **Never two units at once.** Only a unit that has just been told it leads runs it,
//!   and Juju guarantees that answer for 30 s ([`juju_rs_ops::model::LEADERSHIP_GUARANTEE`]):
//!   a run bounded by 25 s ends before any successor can be elected. Leadership can move
//!   without a hook on the old leader, but the old leader only ever runs the cleanup from
//!   inside a hook, after that confirmation. On a unit Juju runs one hook or action at a
//!   time, so the scheduled run and the `cleanup` action (leader only too) never overlap.
//! - **The schedule survives.** The last run is in the peer application databag: a new
//!   leader continues the schedule instead of starting it over, and a restarted pod does
//!   not run it at once. The run is recorded whether it succeeded or not (the next attempt
//!   is one interval later, not every hook; the failure goes to `juju debug-log`).
//! - **Failed hooks.** Juju discards the writes of a hook that fails: the record of a run
//!   in such a hook is lost and the next hook runs the cleanup again, which only deletes
//!   what is still expired (idempotent).
//!
//! The alternative, a leader-only Pebble service (like the courier) that Pebble restarts
//! on a timer (`on-success: restart`, `backoff-delay` = `backoff-limit` = the interval,
//! `backoff-factor: 1`; the plan accepts hours there, it only checks the factor is at
//! least 1), was rejected after reading Pebble's service manager (v1.32,
//! `servstate/handlers.go`): a service that exits within Pebble's 1 s okay delay fails its
//! start change ("exited quickly"), so starting or replanning the layer would error
//! whenever Kratos finishes quickly, which it does on a small database; between runs the
//! service sits in `backoff`, which Pebble and this charm read as a crashed service; its
//! timer is in memory, so every container restart runs it at once; and after leadership
//! moves the old leader's timer keeps firing until its next hook stops it, so two units
//! would run it together. (A sleep loop around it instead would need a shell, which the
//! workload image need not have, and has the same leadership problem.)
//!
//! Kratos's default sleep between kinds (1 min) would make a run last over eight minutes;
//! the charm passes `0s` (each kind is one bounded DELETE), and bounds the load with the
//! batch size instead.

pub mod action;
pub mod run;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use juju_rs_ops::model::{Bag, Databag};
use juju_rs_ops::pebble::Pebble;
use juju_rs_ops::Context;

use crate::charm_config::{CharmConfig, ConfigProblem};
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::integrations::peers::{self, PeerData};
use crate::integrations::Reading;
use crate::workload::{self, Environment};

pub use run::{Report, Run};

/// The peer application-databag key of the last run's start (RFC 3339, JSON-encoded like
/// the bag's other values).
pub const LAST_RUN_KEY: &str = "cleanup_last_run";
/// The shortest interval: the schedule is checked in hooks, and `update-status` runs
/// every 5 minutes by default.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// The longest interval or keep-last.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);
/// The largest batch: a run must end within [`run::TIMEOUT`].
pub const MAX_BATCH_SIZE: u32 = 100_000;

/// The validated cleanup options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// How often the leader runs it; `None`: off.
    pub interval: Option<Duration>,
    /// What each run removes.
    pub run: Run,
}

impl Settings {
    /// The options of `config`, or the first bad one (named, with the fix).
    pub fn of(config: &CharmConfig) -> Result<Settings, ConfigProblem> {
        let problem = |option: &'static str| move |message| ConfigProblem { option, message };
        Ok(Settings {
            interval: parse_interval(&config.cleanup_interval)
                .map_err(problem("cleanup_interval"))?,
            run: Run {
                keep_last: parse_keep_last(&config.cleanup_keep_last)
                    .map_err(problem("cleanup_keep_last"))?,
                batch_size: parse_batch_size(config.cleanup_batch_size)
                    .map_err(problem("cleanup_batch_size"))?,
            },
        })
    }
}

/// Reads the cleanup options: `Blocked` naming a bad one (a status that stops nothing
/// else), `Absent` when the config cannot be read at all (its own status says so).
pub fn read(ctx: &Context) -> Reading<Settings> {
    match ctx.model.config::<CharmConfig>() {
        Ok(config) => match Settings::of(&config) {
            Ok(settings) => Reading::Ready(settings),
            Err(problem) => Reading::Blocked(problem.to_string()),
        },
        Err(_) => Reading::Absent,
    }
}

/// `cleanup_interval`: `off` (or empty) or a duration of at least [`MIN_INTERVAL`].
pub fn parse_interval(text: &str) -> Result<Option<Duration>, String> {
    let text = text.trim();
    if text.is_empty() || text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let usage = "use off, or a duration such as 30m, 6h or 1d (units s, m, h, d)";
    let interval =
        parse_duration(text).ok_or_else(|| format!("{text:?} is not a duration; {usage}"))?;
    if interval < MIN_INTERVAL {
        return Err(format!(
            "{text:?} is shorter than {}: the charm checks the schedule in its hooks \
             (update-status runs every 5m by default); {usage}, at least {}",
            format_duration(MIN_INTERVAL),
            format_duration(MIN_INTERVAL)
        ));
    }
    if interval > MAX_DURATION {
        return Err(format!(
            "{text:?} is longer than {}; {usage}",
            format_duration(MAX_DURATION)
        ));
    }
    Ok(Some(interval))
}

/// `cleanup_keep_last` (and the action's `keep-last`): a duration, `0s` included.
pub fn parse_keep_last(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let usage = "use a duration such as 0s, 2h or 1d (units s, m, h, d)";
    let keep_last =
        parse_duration(text).ok_or_else(|| format!("{text:?} is not a duration; {usage}"))?;
    if keep_last > MAX_DURATION {
        return Err(format!(
            "{text:?} is longer than {}; {usage}",
            format_duration(MAX_DURATION)
        ));
    }
    Ok(keep_last)
}

/// `cleanup_batch_size` (and the action's `batch-size`): 1 to [`MAX_BATCH_SIZE`].
pub fn parse_batch_size(value: i64) -> Result<u32, String> {
    u32::try_from(value)
        .ok()
        .filter(|size| (1..=MAX_BATCH_SIZE).contains(size))
        .ok_or_else(|| format!("{value} is out of range; use 1 to {MAX_BATCH_SIZE}"))
}

/// A duration as the options write it: one or more `<integer><unit>`, units `s`, `m`, `h`,
/// `d` (`90s`, `30m`, `6h`, `1h30m`, `2d`). `None` for anything else or an overflow.
pub fn parse_duration(text: &str) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.chars() {
        if let Some(digit) = c.to_digit(10) {
            let so_far = number.unwrap_or(0);
            number = Some(so_far.checked_mul(10)?.checked_add(u64::from(digit))?);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    // A number without its unit at the end is not a duration.
    number.is_none().then_some(Duration::from_secs(total))
}

/// A duration in the options' notation, largest units first (`1d6h`, `30m`, `0s`).
pub fn format_duration(duration: Duration) -> String {
    let mut rest = duration.as_secs();
    let mut text = String::new();
    for (unit, secs) in [('d', 86_400), ('h', 3600), ('m', 60), ('s', 1)] {
        if rest >= secs {
            text.push_str(&format!("{}{unit}", rest / secs));
            rest %= secs;
        }
    }
    if text.is_empty() {
        text.push_str("0s");
    }
    text
}

/// Seconds since the Unix epoch now (0 if the clock says otherwise).
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// `secs` since the epoch in RFC 3339 (UTC), as results and the peer record show it.
pub fn timestamp(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|secs| jiff::Timestamp::from_second(secs).ok())
        .map_or_else(|| secs.to_string(), |t| t.to_string())
}

/// The start of the last recorded run, if the bag holds a readable one.
pub fn last_run(bag: &Databag) -> Option<u64> {
    let raw = bag.get(LAST_RUN_KEY)?;
    let text = serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.clone());
    let stamp: jiff::Timestamp = text.parse().ok()?;
    u64::try_from(stamp.as_second()).ok()
}

/// The databag change recording a run that started at `secs`.
pub fn record(secs: u64) -> Databag {
    Databag::from([(LAST_RUN_KEY.to_string(), peers::encode(&timestamp(secs)))])
}

/// When the next run is due: one interval after the last one, or now when none ran.
pub fn due(last_run: Option<u64>, interval: Duration) -> u64 {
    last_run.map_or(0, |last| last.saturating_add(interval.as_secs()))
}

/// What the scheduled run needs from the inputs: on the leader, with the cleanup on and
/// the peer relation there.
fn scheduled(inputs: &Inputs) -> Option<(Duration, Run, &PeerData)> {
    let settings = inputs.cleanup.ready()?;
    let peers = inputs.integrations.peers.ready()?;
    let interval = settings.interval?;
    inputs.leader.then_some((interval, settings.run, peers))
}

/// The scheduled cleanup, the last step of every hook that converges (see the module's
/// design notes): runs it when due on the leader while Kratos runs, and returns when the
/// next run is due (`None` when this unit runs none: a follower, or the cleanup off).
pub fn on_schedule(ctx: &Context, inputs: &Inputs) -> Result<Option<u64>, CharmError> {
    let Some((interval, run, peers)) = scheduled(inputs) else {
        return Ok(None);
    };
    let due = due(last_run(&peers.app_bag), interval);
    let now = now();
    if now < due {
        return Ok(Some(due));
    }
    let pebble = ctx.pebble(workload::CONTAINER);
    // Only where Kratos serves: a stopped or unconfigured Kratos is not cleaned up after
    // (the hook's status says why), and the run stays due.
    let Some(env) = serving_environment(pebble.as_ref()) else {
        return Ok(Some(due));
    };
    if !ctx.model.confirm_leader()? {
        return Ok(None);
    }
    match run::execute(pebble.as_ref(), &env, &run, run::TIMEOUT) {
        Ok(report) => tracing::info!(
            "cleanup of expired data done in {:.1}s ({}): {}",
            report.duration.as_secs_f64(),
            run.describe(),
            report.summary()
        ),
        Err(reason) => tracing::error!(
            "cleanup of expired data failed ({}): {reason}; next attempt in {}, or run \
             the cleanup action",
            run.describe(),
            format_duration(interval)
        ),
    }
    ctx.model
        .update_databag(&peers.relation, Bag::LocalApp, &record(now))?;
    Ok(Some(now.saturating_add(interval.as_secs())))
}

/// The environment of the `kratos` service while it runs (the database, its TLS trust and
/// proxies, as the last good configuration has them), `None` while it does not run.
pub fn serving_environment(pebble: &dyn Pebble) -> Option<Environment> {
    let services = pebble.services(&[workload::SERVICE]).ok()?;
    if !services
        .iter()
        .any(|s| s.name == workload::SERVICE && s.is_running())
    {
        return None;
    }
    let plan = pebble.plan().ok()?;
    plan.services
        .get(workload::SERVICE)
        .map(|service| service.environment.clone())
}

#[cfg(test)]
mod tests;
