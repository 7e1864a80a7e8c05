use std::collections::BTreeMap;
use std::time::Duration;

use juju_rs_ops::pebble::{ExecOutput, ExecRequest, PebbleError};
use juju_rs_ops_testing::FakePebble;

use super::*;

const HOUR: Duration = Duration::from_secs(3600);

#[test]
fn durations_are_integers_with_units_s_m_h_d() {
    let secs = |text| parse_duration(text).map(|d| d.as_secs());
    assert_eq!(secs("90s"), Some(90));
    assert_eq!(secs("30m"), Some(1800));
    assert_eq!(secs("6h"), Some(21_600));
    assert_eq!(secs("1h30m"), Some(5400));
    assert_eq!(secs("2d"), Some(172_800));
    assert_eq!(secs("0s"), Some(0));
    for bad in [
        "",
        "6",
        "h",
        "6x",
        "1.5h",
        "-1h",
        "6 h",
        "1h30",
        "99999999999999999999s",
    ] {
        assert_eq!(secs(bad), None, "{bad:?}");
    }
    for text in ["1d6h", "30m", "0s", "1h1m1s"] {
        assert_eq!(format_duration(parse_duration(text).unwrap()), text);
    }
    assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
}

#[test]
fn the_interval_is_off_or_at_least_five_minutes() {
    assert_eq!(parse_interval("off"), Ok(None));
    assert_eq!(parse_interval(" OFF "), Ok(None));
    assert_eq!(parse_interval(""), Ok(None));
    assert_eq!(parse_interval("6h"), Ok(Some(6 * HOUR)));
    assert_eq!(parse_interval("5m"), Ok(Some(MIN_INTERVAL)));
    let short = parse_interval("1m").unwrap_err();
    assert!(
        short.contains("shorter than 5m") && short.contains("off"),
        "{short}"
    );
    let zero = parse_interval("0s").unwrap_err();
    assert!(zero.contains("shorter"), "{zero}");
    let garbage = parse_interval("hourly").unwrap_err();
    assert!(
        garbage.contains("\"hourly\" is not a duration"),
        "{garbage}"
    );
    assert!(parse_interval("400d")
        .unwrap_err()
        .contains("longer than 365d"));
}

#[test]
fn keep_last_and_batch_size_are_checked_with_the_fix() {
    assert_eq!(parse_keep_last("0s"), Ok(Duration::ZERO));
    assert_eq!(parse_keep_last("1d"), Ok(24 * HOUR));
    assert!(parse_keep_last("yesterday")
        .unwrap_err()
        .contains("use a duration such as 0s, 2h or 1d"));
    assert_eq!(parse_batch_size(1), Ok(1));
    assert_eq!(parse_batch_size(100_000), Ok(100_000));
    for bad in [0, -5, 100_001, i64::MAX] {
        let message = parse_batch_size(bad).unwrap_err();
        assert!(message.contains("use 1 to 100000"), "{message}");
    }
}

#[test]
fn a_bad_option_is_named_in_the_problem() {
    let config = |change: fn(&mut CharmConfig)| {
        let mut config = CharmConfig::default();
        change(&mut config);
        Settings::of(&config)
    };
    let defaults = config(|_| {}).unwrap();
    assert_eq!(defaults.interval, None);
    assert_eq!(
        defaults.run,
        Run {
            keep_last: 24 * HOUR,
            batch_size: 10_000
        }
    );
    let problem = config(|c| c.cleanup_interval = "often".into()).unwrap_err();
    assert_eq!(problem.option, "cleanup_interval");
    assert!(problem
        .to_string()
        .starts_with("Invalid config cleanup_interval: \"often\""));
    let problem = config(|c| c.cleanup_keep_last = "1w".into()).unwrap_err();
    assert_eq!(problem.option, "cleanup_keep_last");
    let problem = config(|c| c.cleanup_batch_size = 0).unwrap_err();
    assert_eq!(problem.option, "cleanup_batch_size");
}

#[test]
fn the_last_run_round_trips_through_the_peer_bag_and_sets_the_next_due_time() {
    let at = 1_764_380_000;
    let bag = record(at);
    assert_eq!(bag[LAST_RUN_KEY], "\"2025-11-29T01:33:20Z\"");
    assert_eq!(last_run(&bag), Some(at));
    assert_eq!(due(Some(at), 6 * HOUR), at + 21_600);
    assert_eq!(due(None, 6 * HOUR), 0, "never run: due now");
    let unreadable = Databag::from([(LAST_RUN_KEY.to_string(), "\"soon\"".to_string())]);
    assert_eq!(last_run(&unreadable), None);
    let bare = Databag::from([(LAST_RUN_KEY.to_string(), "2025-11-29T01:33:20Z".into())]);
    assert_eq!(last_run(&bare), Some(at));
}

#[test]
fn the_command_passes_the_options_as_kratos_flags() {
    let run = Run {
        keep_last: 2 * HOUR,
        batch_size: 500,
    };
    assert_eq!(
        run.command().join(" "),
        "kratos cleanup sql -e --config /etc/config/kratos/kratos.yaml --keep-last 7200s \
         --database.cleanup.batch_size 500 --database.cleanup.sleep.tables 0s"
    );
    assert_eq!(run.describe(), "keep-last 2h, batch-size 500");
}

/// Lines as Kratos v1.3.1 logs a successful run with LOG_FORMAT=json (recorded).
const KRATOS_LOG: &str = r#"{"audience":"application","level":"info","msg":"No tracer configured - skipping tracing setup","service_name":"Ory Kratos","service_version":"v1.3.1","time":"2026-11-29T01:39:05.48786881Z"}
{"audience":"application","level":"info","msg":"Cleaning up records older than 2026-11-29 01:39:05.982784193 +0000 UTC m=+0.659336149\n","service_name":"Ory Kratos","service_version":"v1.3.1","time":"2026-11-29T01:39:05.983011806Z"}
{"audience":"application","level":"info","msg":"Cleaning up expired sessions","service_name":"Ory Kratos","service_version":"v1.3.1","time":"2026-11-29T01:39:05.983058774Z"}
{"audience":"application","level":"info","msg":"Cleaning up expired login flows","service_name":"Ory Kratos","service_version":"v1.3.1","time":"2026-11-29T01:39:05.99Z"}
{"audience":"application","level":"info","msg":"Successfully cleaned up the latest batch of the SQL database! This should be re-run periodically, to be sure that all expired data is purged.","service_name":"Ory Kratos","service_version":"v1.3.1","time":"2026-11-29T01:39:06Z"}
not json at all
"#;

#[test]
fn the_report_reads_kratoss_log() {
    let report = Report::parse(KRATOS_LOG, Duration::from_millis(870));
    assert_eq!(
        report.cutoff.as_deref(),
        Some("2026-11-29 01:39:05.982784193 +0000 UTC")
    );
    assert_eq!(report.steps, ["sessions", "login flows"]);
    assert_eq!(report.messages.len(), 6);
    assert_eq!(report.messages[5], "not json at all");
    assert!(report.summary().ends_with(": sessions, login flows"));
}

fn env() -> Environment {
    Environment::from([
        (
            "DSN".to_string(),
            "postgres://kratos:p%40ss@db:5432/k".to_string(),
        ),
        ("LOG_LEVEL".to_string(), "error".to_string()),
        ("HTTPS_PROXY".to_string(), "http://proxy:3128".to_string()),
    ])
}

fn run() -> Run {
    Run {
        keep_last: HOUR,
        batch_size: 10,
    }
}

fn fake_with(
    result: impl Fn(&ExecRequest) -> Result<ExecOutput, PebbleError> + 'static,
) -> FakePebble {
    let fake = FakePebble::new();
    fake.on_exec(["kratos", "cleanup"], result);
    fake
}

fn output(code: i32, stdout: &str, stderr: &str) -> ExecOutput {
    ExecOutput {
        command: Vec::new(),
        exit_code: code,
        stdout: stdout.into(),
        stderr: stderr.into(),
    }
}

#[test]
fn a_run_has_the_services_environment_with_info_level_json_logs() {
    let fake = fake_with(|_| Ok(output(0, "", KRATOS_LOG)));
    let report = run::execute(&fake, &env(), &run(), run::TIMEOUT).unwrap();
    assert_eq!(report.steps.len(), 2);
    let request = &fake.exec_requests()[0];
    assert_eq!(request.command, run().command());
    assert_eq!(request.timeout, Some(run::TIMEOUT));
    let expected: BTreeMap<&str, &str> = [
        ("DSN", "postgres://kratos:p%40ss@db:5432/k"),
        ("LOG_LEVEL", "info"),
        ("LOG_FORMAT", "json"),
        ("HTTPS_PROXY", "http://proxy:3128"),
    ]
    .into();
    let actual: BTreeMap<&str, &str> = request
        .environment
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(actual, expected);
}

#[test]
fn a_failed_run_says_why_without_the_dsn_or_its_password() {
    let fake = fake_with(|_| {
        Ok(output(
            1,
            "An error occurred while cleaning up expired data: cannot reach \
             postgres://kratos:p%40ss@db:5432/k (password p@ss)\n",
            "{\"msg\":\"Cleaning up expired sessions\"}\n",
        ))
    });
    let reason = run::execute(&fake, &env(), &run(), run::TIMEOUT).unwrap_err();
    assert_eq!(
        reason,
        "An error occurred while cleaning up expired data: cannot reach <DSN> (password \
         <password>) (exit code 1)"
    );
    let fake = fake_with(|_| Err(PebbleError::Timeout(run::TIMEOUT)));
    let reason = run::execute(&fake, &env(), &run(), run::TIMEOUT).unwrap_err();
    assert!(reason.contains("did not finish within 25s"), "{reason}");
}
