//! The `cleanup` action's pure parts: its parameters over the config options, and its
//! results. The glue (leadership, Pebble, the peer record) is in `actions.rs`.
//!
//! It runs on the leader only: the leader is the unit that runs the scheduled cleanup,
//! and Juju runs one hook or action at a time on a unit, so the action and the schedule
//! never overlap; the leader can also record the run, so that the schedule continues from
//! it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::{format_duration, parse_batch_size, parse_keep_last, timestamp, Report, Run};
use crate::charm_config::CharmConfig;

/// Parameters of `cleanup`; each one left out takes its config option's value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Params {
    /// Like `cleanup_keep_last`.
    pub keep_last: Option<String>,
    /// Like `cleanup_batch_size`.
    pub batch_size: Option<i64>,
}

/// The run the action asks for; the message names the bad parameter or option and the fix.
pub fn run_for(params: &Params, config: &CharmConfig) -> Result<Run, String> {
    let keep_last = match &params.keep_last {
        Some(text) => parse_keep_last(text).map_err(|e| format!("Invalid keep-last: {e}")),
        None => parse_keep_last(&config.cleanup_keep_last).map_err(|e| {
            format!("Invalid config cleanup_keep_last: {e} (or give keep-last to this action)")
        }),
    }?;
    let batch_size = match params.batch_size {
        Some(size) => parse_batch_size(size).map_err(|e| format!("Invalid batch-size: {e}")),
        None => parse_batch_size(config.cleanup_batch_size).map_err(|e| {
            format!("Invalid config cleanup_batch_size: {e} (or give batch-size to this action)")
        }),
    }?;
    Ok(Run {
        keep_last,
        batch_size,
    })
}

/// The results: what ran, what Kratos said it did, when it started and when the schedule
/// runs next (`next` in seconds since the epoch; `None`: the schedule is off).
pub fn results(
    run: &Run,
    report: &Report,
    started: u64,
    next: Option<u64>,
) -> BTreeMap<String, Value> {
    let text = |s: String| Value::String(s);
    BTreeMap::from([
        ("keep-last".into(), text(format_duration(run.keep_last))),
        ("batch-size".into(), Value::from(run.batch_size)),
        (
            "cutoff".into(),
            text(
                report
                    .cutoff
                    .clone()
                    .unwrap_or_else(|| "not reported".into()),
            ),
        ),
        ("steps".into(), text(report.steps.join(", "))),
        (
            "duration".into(),
            text(format!("{:.2}s", report.duration.as_secs_f64())),
        ),
        ("output".into(), text(report.messages.join("\n"))),
        ("started".into(), text(timestamp(started))),
        (
            "next-scheduled-run".into(),
            text(next.map_or_else(|| "off (cleanup_interval)".into(), timestamp)),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn params_override_the_options_and_bad_values_name_their_source() {
        let config = CharmConfig::default();
        let run = run_for(&Params::default(), &config).unwrap();
        assert_eq!(run.keep_last, Duration::from_secs(86_400));
        assert_eq!(run.batch_size, 10_000);
        let params = Params {
            keep_last: Some("30m".into()),
            batch_size: Some(2),
        };
        let run = run_for(&params, &config).unwrap();
        assert_eq!((run.keep_last.as_secs(), run.batch_size), (1800, 2));
        let bad = Params {
            keep_last: Some("soon".into()),
            batch_size: None,
        };
        assert!(run_for(&bad, &config)
            .unwrap_err()
            .starts_with("Invalid keep-last: \"soon\" is not a duration"));
        let bad_config = CharmConfig {
            cleanup_batch_size: 0,
            ..CharmConfig::default()
        };
        let message = run_for(&Params::default(), &bad_config).unwrap_err();
        assert!(
            message.starts_with("Invalid config cleanup_batch_size"),
            "{message}"
        );
        // A param in its place makes the bad option irrelevant.
        assert!(run_for(
            &Params {
                batch_size: Some(5),
                ..Params::default()
            },
            &bad_config
        )
        .is_ok());
    }

    #[test]
    fn results_report_what_kratos_said_and_the_next_scheduled_run() {
        let run = Run {
            keep_last: Duration::from_secs(7200),
            batch_size: 50,
        };
        let report = Report {
            cutoff: Some("2026-11-29 01:39:05 +0000 UTC".into()),
            steps: vec!["sessions".into(), "login flows".into()],
            messages: vec!["a".into(), "b".into()],
            duration: Duration::from_millis(1234),
        };
        let results = results(&run, &report, 1_764_380_000, Some(1_764_401_600));
        let get = |k: &str| results[k].clone();
        assert_eq!(get("keep-last"), "2h");
        assert_eq!(get("batch-size"), 50);
        assert_eq!(get("steps"), "sessions, login flows");
        assert_eq!(get("duration"), "1.23s");
        assert_eq!(get("output"), "a\nb");
        assert_eq!(get("started"), "2025-11-29T01:33:20Z");
        assert_eq!(get("next-scheduled-run"), "2025-11-29T07:33:20Z");
        let off = super::results(&run, &Report::default(), 0, None);
        assert_eq!(off["next-scheduled-run"], "off (cleanup_interval)");
        assert_eq!(off["cutoff"], "not reported");
    }
}
