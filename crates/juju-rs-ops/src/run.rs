//! The charm's `main`: one dispatch from Juju's environment to an exit code.
//!
//! ```no_run
//! use juju_rs_ops::{Context, Status};
//!
//! fn converge(ctx: &mut Context) -> Result<(), juju_rs_ops::model::ModelError> {
//!     ctx.model.set_status(&Status::active(""))
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     juju_rs_ops::run(converge)
//! }
//! ```

use std::fmt::Display;
use std::process::ExitCode;
use std::rc::Rc;

use tracing::Level;

use crate::context::{Context, PebbleConnector, SocketConnector};
use crate::event::{Event, EventKind};
use crate::logging::JujuLog;
use crate::tools::{ProcessRunner, ToolRunner};

/// Runs one dispatch in production: the event from the environment, hook tools from
/// `PATH`, Pebble sockets where Juju mounts them, logging to stderr and (batched, `WARN`
/// and above unless [`crate::logging::LOG_LEVEL_ENV`] says otherwise) to `juju-log`.
/// See [`dispatch`] for what happens in between.
///
/// A panic in the charm is logged at `ERROR` and the buffered records are flushed
/// before the process ends (this also works with `panic = "abort"`).
pub fn run<E: Display>(charm: impl FnOnce(&mut Context) -> Result<(), E>) -> ExitCode {
    let log = JujuLog::init();
    let panic_log = log.clone();
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous_hook(info);
        panic_log.record(Level::ERROR, format!("charm panicked: {info}"));
        // The dispatch's runner is not `Send`; a fresh process runner reaches the same
        // tools on `PATH`.
        let _ = panic_log.flush(&ProcessRunner::default());
    }));
    dispatch(
        Event::from_env(),
        Rc::new(ProcessRunner::default()),
        Box::new(SocketConnector::from_env()),
        &log,
        charm,
    )
}

/// One dispatch over explicit backends (what [`run`] does after setting up; tests call
/// it directly with their own runner, connector and log):
///
/// 1. parse problems of the event environment are logged as warnings;
/// 2. without `JUJU_DISPATCH_PATH` there is no event at all: log an error, exit 1;
/// 3. an event this library does not know ([`EventKind::Unknown`]) is logged as a
///    warning and then handled like any other: charms here reconcile holistically, so
///    converging on an unexpected event is correct and harmless;
/// 4. the charm runs; an `Err` is logged at `ERROR` and makes the exit code 1, so Juju
///    marks the hook failed and retries it;
/// 5. the buffered logs are flushed through the same runner (a failing `juju-log` is
///    reported on stderr and does not change the exit code).
pub fn dispatch<E: Display>(
    event: Event,
    runner: Rc<dyn ToolRunner>,
    connector: Box<dyn PebbleConnector>,
    log: &JujuLog,
    charm: impl FnOnce(&mut Context) -> Result<(), E>,
) -> ExitCode {
    for warning in &event.warnings {
        tracing::warn!("event environment: {warning}");
    }
    let code = if event.dispatch_path.is_empty() {
        tracing::error!("no JUJU_DISPATCH_PATH: not started by Juju, nothing to handle");
        ExitCode::FAILURE
    } else {
        if let EventKind::Unknown(name) = &event.kind {
            tracing::warn!("unknown event {name:?}: converging as for any other event");
        }
        let name = event.dispatch_path.clone();
        tracing::debug!("dispatching {name}");
        let mut context = Context::new(event, Rc::clone(&runner), connector);
        match charm(&mut context) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!("{name} failed: {error}");
                ExitCode::FAILURE
            }
        }
    };
    if let Err(error) = log.flush(runner.as_ref()) {
        eprintln!("cannot forward logs to juju-log: {error}");
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pebble::Pebble;
    use crate::recording::RecordingRunner;
    use crate::tools::ToolError;

    struct NoPebble;
    impl PebbleConnector for NoPebble {
        fn connect(&self, container: &str) -> Box<dyn Pebble> {
            panic!("no container {container} in this test")
        }
    }

    /// Answers `is-leader` and accepts `juju-log`.
    struct Juju;
    impl ToolRunner for Juju {
        fn run(&self, tool: &str, _: &[String], _: Option<&[u8]>) -> Result<Vec<u8>, ToolError> {
            match tool {
                "is-leader" => Ok(b"true".to_vec()),
                "juju-log" => Ok(Vec::new()),
                other => panic!("unexpected tool {other}"),
            }
        }
    }

    fn event(path: &str) -> Event {
        Event::from_vars([("JUJU_DISPATCH_PATH", path), ("JUJU_UNIT_NAME", "kratos/0")])
    }

    fn logged(runner: &RecordingRunner<Juju>) -> Vec<(String, String)> {
        runner
            .calls_of("juju-log")
            .into_iter()
            .map(|c| (c.args[1].clone(), c.args[3].clone()))
            .collect()
    }

    #[test]
    fn success_runs_the_charm_and_flushes_once_at_the_end() {
        let runner = Rc::new(RecordingRunner::new(Juju));
        let log = JujuLog::new(Level::WARN, None);
        let code = tracing::subscriber::with_default(log.subscriber(), || {
            dispatch(
                event("hooks/config-changed"),
                runner.clone(),
                Box::new(NoPebble),
                &log,
                |ctx| {
                    assert!(ctx.model.is_leader().unwrap());
                    tracing::warn!("first");
                    tracing::warn!("second");
                    Ok::<(), String>(())
                },
            )
        });
        assert_eq!(code, ExitCode::SUCCESS);
        let tools: Vec<String> = runner.calls().into_iter().map(|c| c.tool).collect();
        assert_eq!(tools, ["is-leader", "juju-log"]);
        assert_eq!(
            logged(&runner),
            [("WARNING".into(), "first\nsecond".into())]
        );
    }

    #[test]
    fn an_error_is_logged_and_fails_the_hook() {
        let runner = Rc::new(RecordingRunner::new(Juju));
        let log = JujuLog::new(Level::WARN, None);
        let code = tracing::subscriber::with_default(log.subscriber(), || {
            dispatch(
                event("hooks/start"),
                runner.clone(),
                Box::new(NoPebble),
                &log,
                |_| Err("database unreachable"),
            )
        });
        assert_eq!(code, ExitCode::FAILURE);
        assert_eq!(
            logged(&runner),
            [(
                "ERROR".into(),
                "hooks/start failed: database unreachable".into()
            )]
        );
    }

    #[test]
    fn unknown_events_still_converge_and_are_logged() {
        let runner = Rc::new(RecordingRunner::new(Juju));
        let log = JujuLog::new(Level::WARN, None);
        let mut ran = false;
        let code = tracing::subscriber::with_default(log.subscriber(), || {
            dispatch(
                event("hooks/some-future-hook"),
                runner.clone(),
                Box::new(NoPebble),
                &log,
                |_| {
                    ran = true;
                    Ok::<(), String>(())
                },
            )
        });
        assert!(ran);
        assert_eq!(code, ExitCode::SUCCESS);
        assert_eq!(
            logged(&runner),
            [(
                "WARNING".into(),
                "unknown event \"some-future-hook\": converging as for any other event".into()
            )]
        );
    }

    #[test]
    fn no_dispatch_path_means_no_charm_and_failure() {
        let runner = Rc::new(RecordingRunner::new(Juju));
        let log = JujuLog::new(Level::WARN, None);
        let code = tracing::subscriber::with_default(log.subscriber(), || {
            dispatch(
                Event::from_vars([("JUJU_UNIT_NAME", "kratos/0")]),
                runner.clone(),
                Box::new(NoPebble),
                &log,
                |_| -> Result<(), String> { panic!("the charm must not run") },
            )
        });
        assert_eq!(code, ExitCode::FAILURE);
        let logged = logged(&runner);
        assert_eq!(logged.len(), 2, "{logged:?}");
        assert_eq!(logged[0].0, "WARNING");
        assert!(logged[0].1.contains("JUJU_DISPATCH_PATH is not set"));
        assert_eq!(logged[1].0, "ERROR");
    }
}
