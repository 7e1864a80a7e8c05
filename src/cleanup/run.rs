//! One run of `kratos cleanup sql` in the workload container: the command (pure), its
//! execution through Pebble, and what Kratos printed (parsed, pure).

use std::time::{Duration, Instant};

use juju_rs_ops::pebble::{ExecOutput, ExecRequest, Pebble, PebbleError};

use super::format_duration;
use crate::workload::{self, Environment};

/// How long a run may take: inside the 30 s for which Juju guarantees the leadership
/// confirmed just before it, with a margin for starting it. Kratos retries an unreachable
/// database until then.
pub const TIMEOUT: Duration = Duration::from_secs(25);

/// What one run removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Expired data stays this long after it expired (Kratos's `--keep-last`).
    pub keep_last: Duration,
    /// At most this many rows of each kind (`--database.cleanup.batch_size`).
    pub batch_size: u32,
}

impl Run {
    /// `keep-last 1d, batch-size 10000`, for logs.
    pub fn describe(&self) -> String {
        format!(
            "keep-last {}, batch-size {}",
            format_duration(self.keep_last),
            self.batch_size
        )
    }

    /// The command, as the charm runs it in the container: the DSN from the environment
    /// (`-e`), the service's own config file, no sleep between the kinds of data (each is
    /// one bounded DELETE; Kratos's default of a minute would make a run last 8 minutes).
    pub fn command(&self) -> Vec<String> {
        [
            "kratos",
            "cleanup",
            "sql",
            "-e",
            "--config",
            workload::CONFIG_FILE,
            "--keep-last",
            &format!("{}s", self.keep_last.as_secs()),
            "--database.cleanup.batch_size",
            &self.batch_size.to_string(),
            "--database.cleanup.sleep.tables",
            "0s",
        ]
        .map(String::from)
        .to_vec()
    }
}

/// What a run did, as far as Kratos tells (it prints no counts).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Expired data older than this was removed (Kratos's words, without Go's monotonic
    /// clock reading).
    pub cutoff: Option<String>,
    /// The kinds of data Kratos went through, in its order (`sessions`, `login flows`, ...).
    pub steps: Vec<String>,
    /// Every message Kratos logged, in order.
    pub messages: Vec<String>,
    /// How long the run took.
    pub duration: Duration,
}

impl Report {
    /// Reads Kratos's log (stderr; JSON lines as `LOG_FORMAT=json` makes them, other lines
    /// kept as they are).
    pub fn parse(log: &str, duration: Duration) -> Report {
        let messages: Vec<String> = log
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_str::<serde_json::Value>(line)
                    .ok()
                    .and_then(|v| v.get("msg").and_then(|m| m.as_str()).map(str::to_string))
                    .unwrap_or_else(|| line.to_string())
                    .trim()
                    .to_string()
            })
            .collect();
        let cutoff = messages.iter().find_map(|m| {
            let rest = m.strip_prefix("Cleaning up records older than ")?;
            Some(rest.split(" m=").next().unwrap_or(rest).trim().to_string())
        });
        let steps = messages
            .iter()
            .filter_map(|m| m.strip_prefix("Cleaning up expired "))
            .map(str::to_string)
            .collect();
        Report {
            cutoff,
            steps,
            messages,
            duration,
        }
    }

    /// `removed expired data older than <cutoff>: sessions, ...`, for logs.
    pub fn summary(&self) -> String {
        format!(
            "removed expired data older than {}: {}",
            self.cutoff.as_deref().unwrap_or("(not reported)"),
            self.steps.join(", ")
        )
    }
}

/// Runs `run` in the container with the `kratos` service's environment `env` (which holds
/// the DSN) and info-level JSON logs. The error says why it failed, with the DSN and its
/// password removed.
pub fn execute(
    pebble: &dyn Pebble,
    env: &Environment,
    run: &Run,
    timeout: Duration,
) -> Result<Report, String> {
    let mut environment = env.clone();
    environment.insert("LOG_LEVEL".into(), "info".into());
    environment.insert("LOG_FORMAT".into(), "json".into());
    let request = ExecRequest {
        environment,
        timeout: Some(timeout),
        ..ExecRequest::new(run.command())
    };
    let dsn = env.get("DSN").map(String::as_str).unwrap_or_default();
    let redact = |text: &str| {
        if dsn.is_empty() {
            text.to_string()
        } else {
            workload::redact_dsn(text, dsn)
        }
    };
    let started = Instant::now();
    match pebble.exec(&request) {
        Ok(out) if out.exit_code == 0 => Ok(Report::parse(
            &redact(&String::from_utf8_lossy(&out.stderr)),
            started.elapsed(),
        )),
        Ok(out) => Err(redact(&failure(&out))),
        Err(PebbleError::Timeout(_)) => Err(format!(
            "Kratos did not finish within {} (it retries an unreachable database until \
             then)",
            format_duration(timeout)
        )),
        Err(e) => Err(redact(&e.to_string())),
    }
}

/// The longest reason [`failure`] gives (statuses and action messages stay readable).
const SUMMARY_MAX_CHARS: usize = 400;

/// Why a run failed: Kratos prints its error as the last line of stdout.
fn failure(out: &ExecOutput) -> String {
    let stdout = out.stdout_text();
    let reason = stdout
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .map(|line| line.chars().take(SUMMARY_MAX_CHARS).collect())
        .unwrap_or_else(|| {
            workload::failure_summary(&stdout, &String::from_utf8_lossy(&out.stderr))
        });
    format!("{reason} (exit code {})", out.exit_code)
}
