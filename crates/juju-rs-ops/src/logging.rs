//! `tracing` events to stderr and, batched, to `juju-log`.
//!
//! `juju-log` is one process per call (Python ops spends two thirds of its hook-tool
//! calls on it). So [`JujuLog`] buffers the records at or above its threshold (default
//! `WARN`; set with [`LOG_LEVEL_ENV`] or [`JujuLog::set_level`]) and [`JujuLog::flush`]
//! sends them at the end of the dispatch: one `juju-log --log-level LEVEL -- <lines>`
//! per level, records joined by newlines (split further only if a message would exceed
//! the kernel's argument size limit).
//!
//! Every record at `INFO` or above (or down to the threshold, if that is lower) is also
//! written to stderr at once, as `LEVEL target: message`; Juju keeps a hook's stderr in
//! the unit's log too, so nothing is lost if the process dies before the flush.
//!
//! Spans are accepted and ignored: charms log events.
//!
//! ```
//! use juju_rs_ops::logging::JujuLog;
//! let log = JujuLog::new(tracing::Level::WARN, None);
//! tracing::subscriber::with_default(log.subscriber(), || {
//!     tracing::info!("not forwarded by default");
//!     tracing::warn!(relation = "db:3", "database not ready");
//! });
//! assert_eq!(log.pending(), 1);
//! ```

use std::fmt::{self, Write as _};
use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use crate::tools::{ToolError, ToolRunner};

/// The environment variable that sets the `juju-log` threshold: `error`, `warn`
/// (default), `info`, `debug` or `trace` (any case; `warning` also works).
pub const LOG_LEVEL_ENV: &str = "JUJU_RS_OPS_LOG_LEVEL";

/// The longest message passed to one `juju-log` call: Linux's limit on one argument
/// (`MAX_ARG_STRLEN`, 128 KiB) minus its terminating NUL, as ops uses.
pub const MAX_MESSAGE_LEN: usize = 131_071;

/// The level names `juju-log --log-level` takes (loggo's names).
pub fn juju_level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// Parses a level name (`error`, `warn`/`warning`, `info`, `debug`, `trace`; any case).
pub fn parse_level(name: &str) -> Option<Level> {
    match name.trim().to_ascii_lowercase().as_str() {
        "error" => Some(Level::ERROR),
        "warn" | "warning" => Some(Level::WARN),
        "info" => Some(Level::INFO),
        "debug" => Some(Level::DEBUG),
        "trace" => Some(Level::TRACE),
        _ => None,
    }
}

/// 1 = ERROR ... 5 = TRACE: bigger is more verbose.
fn verbosity(level: Level) -> u8 {
    match level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

fn level_of(verbosity: u8) -> Level {
    match verbosity {
        0 | 1 => Level::ERROR,
        2 => Level::WARN,
        3 => Level::INFO,
        4 => Level::DEBUG,
        _ => Level::TRACE,
    }
}

type Stderr = Box<dyn Write + Send>;

struct Shared {
    /// The `juju-log` threshold, as a [`verbosity`].
    threshold: AtomicU8,
    stderr: Mutex<Option<Stderr>>,
    buffer: Mutex<Vec<(Level, String)>>,
}

/// Poisoning only means another thread panicked mid-log; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The log buffer and its settings; cheap to clone (all clones share one buffer).
#[derive(Clone)]
pub struct JujuLog {
    shared: Arc<Shared>,
}

impl fmt::Debug for JujuLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JujuLog")
            .field("level", &self.level())
            .field("pending", &self.pending())
            .finish()
    }
}

impl JujuLog {
    /// A log forwarding records at `level` or above to `juju-log`, and echoing records
    /// to `stderr` when given.
    pub fn new(level: Level, stderr: Option<Box<dyn Write + Send>>) -> JujuLog {
        JujuLog {
            shared: Arc::new(Shared {
                threshold: AtomicU8::new(verbosity(level)),
                stderr: Mutex::new(stderr),
                buffer: Mutex::default(),
            }),
        }
    }

    /// The production set-up: the threshold from [`LOG_LEVEL_ENV`] (default `WARN`),
    /// echo to the process's stderr, installed as the global `tracing` subscriber. If a
    /// global subscriber is already installed, that one stays and this log only gets
    /// what is [`JujuLog::record`]ed on it directly.
    pub fn init() -> JujuLog {
        let setting = std::env::var(LOG_LEVEL_ENV).ok();
        let level = setting.as_deref().and_then(parse_level);
        let log = JujuLog::new(
            level.unwrap_or(Level::WARN),
            Some(Box::new(std::io::stderr())),
        );
        let installed = tracing::subscriber::set_global_default(log.subscriber()).is_ok();
        match (setting, level) {
            (Some(bad), None) => {
                tracing::warn!("ignoring {LOG_LEVEL_ENV}={bad:?}: not a log level; using warn")
            }
            _ if !installed => log.record(
                Level::WARN,
                "a global tracing subscriber was already set; records will not reach juju-log",
            ),
            _ => {}
        }
        log
    }

    /// A `tracing` subscriber feeding this log (install it globally, or scope it with
    /// `tracing::subscriber::with_default` in tests).
    pub fn subscriber(&self) -> JujuLogSubscriber {
        JujuLogSubscriber { log: self.clone() }
    }

    /// The `juju-log` threshold.
    pub fn level(&self) -> Level {
        level_of(self.shared.threshold.load(Ordering::Relaxed))
    }

    /// Changes the `juju-log` threshold (records already buffered stay).
    pub fn set_level(&self, level: Level) {
        self.shared
            .threshold
            .store(verbosity(level), Ordering::Relaxed);
    }

    /// How many records wait for [`JujuLog::flush`].
    pub fn pending(&self) -> usize {
        lock(&self.shared.buffer).len()
    }

    /// Adds a record directly, as if logged at `level` (used e.g. from a panic hook).
    pub fn record(&self, level: Level, message: impl Into<String>) {
        self.accept(level, "juju_rs_ops", message.into());
    }

    fn stderr_verbosity(&self) -> u8 {
        self.shared
            .threshold
            .load(Ordering::Relaxed)
            .max(verbosity(Level::INFO))
    }

    fn accept(&self, level: Level, target: &str, line: String) {
        let v = verbosity(level);
        if v <= self.stderr_verbosity() {
            if let Some(stderr) = lock(&self.shared.stderr).as_mut() {
                // Nowhere to report a failing stderr; the buffered copy still goes out.
                let _ = writeln!(stderr, "{} {target}: {line}", juju_level_name(level));
            }
        }
        if v <= self.shared.threshold.load(Ordering::Relaxed) {
            lock(&self.shared.buffer).push((level, line));
        }
    }

    /// Sends the buffered records to `juju-log` and empties the buffer: one call per
    /// level (in the order the levels first appeared), `juju-log --log-level LEVEL --
    /// <records joined by newlines>`. Returns the number of calls made; on failure,
    /// still tries every level and returns the first error (the records are dropped
    /// either way, so a broken `juju-log` cannot make a hook fail twice).
    pub fn flush(&self, runner: &dyn ToolRunner) -> Result<usize, ToolError> {
        let records = std::mem::take(&mut *lock(&self.shared.buffer));
        let mut by_level: Vec<(Level, Vec<String>)> = Vec::new();
        for (level, line) in records {
            match by_level.iter_mut().find(|(l, _)| *l == level) {
                Some((_, lines)) => lines.push(line),
                None => by_level.push((level, vec![line])),
            }
        }
        let mut calls = 0;
        let mut first_error = None;
        for (level, lines) in by_level {
            for chunk in split_message(&lines.join("\n"), MAX_MESSAGE_LEN) {
                let argv = [
                    "--log-level".to_string(),
                    juju_level_name(level).to_string(),
                    "--".to_string(),
                    chunk,
                ];
                calls += 1;
                if let Err(e) = runner.run("juju-log", &argv, None) {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(calls),
        }
    }
}

/// Splits `text` into pieces of at most `max` bytes, at line ends where possible and
/// otherwise at character boundaries.
fn split_message(text: &str, max: usize) -> Vec<String> {
    if text.len() <= max {
        return vec![text.to_string()];
    }
    let mut chunks = Vec::new();
    let mut current = String::new();
    for line in text.split('\n') {
        let mut line = line;
        while line.len() > max {
            if !current.is_empty() {
                chunks.push(std::mem::take(&mut current));
            }
            let mut cut = max;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            chunks.push(line[..cut].to_string());
            line = &line[cut..];
        }
        let needed = if current.is_empty() {
            line.len()
        } else {
            current.len() + 1 + line.len()
        };
        if needed > max {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(line);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// The `tracing` side of a [`JujuLog`]: formats each event as `message key=value ...`.
pub struct JujuLogSubscriber {
    log: JujuLog,
}

impl Subscriber for JujuLogSubscriber {
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        // The threshold can change at run time, so ask `enabled` every time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        verbosity(*metadata.level()) <= self.log.stderr_verbosity()
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut fields = EventFields::default();
        event.record(&mut fields);
        let metadata = event.metadata();
        self.log.accept(
            *metadata.level(),
            metadata.target(),
            fields.message + &fields.rest,
        );
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

#[derive(Default)]
struct EventFields {
    message: String,
    rest: String,
}

impl Visit for EventFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.rest, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.rest, " {}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recording::RecordingRunner;

    /// A stderr stand-in the test can read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&lock(&self.0)).into_owned()
        }
    }

    struct Accepts;
    impl ToolRunner for Accepts {
        fn run(&self, _: &str, _: &[String], _: Option<&[u8]>) -> Result<Vec<u8>, ToolError> {
            Ok(Vec::new())
        }
    }

    fn juju_log_argvs(runner: &RecordingRunner<Accepts>) -> Vec<Vec<String>> {
        runner
            .calls()
            .into_iter()
            .map(|c| {
                assert_eq!(c.tool, "juju-log");
                c.args
            })
            .collect()
    }

    fn argv(level: &str, message: &str) -> Vec<String> {
        ["--log-level", level, "--", message]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn default_threshold_batches_warnings_and_errors_one_call_per_level() {
        let stderr = Captured::default();
        let log = JujuLog::new(Level::WARN, Some(Box::new(stderr.clone())));
        tracing::subscriber::with_default(log.subscriber(), || {
            tracing::debug!("dropped everywhere");
            tracing::info!("stderr only");
            tracing::warn!(relation = "db:3", "database not ready");
            tracing::error!("migration failed");
            tracing::warn!(count = 2, "second warning");
        });
        assert_eq!(log.pending(), 3);

        let runner = RecordingRunner::new(Accepts);
        assert_eq!(log.flush(&runner).unwrap(), 2);
        assert_eq!(
            juju_log_argvs(&runner),
            vec![
                argv(
                    "WARNING",
                    "database not ready relation=db:3\nsecond warning count=2"
                ),
                argv("ERROR", "migration failed"),
            ]
        );
        assert_eq!(log.pending(), 0);
        runner.clear();
        assert_eq!(log.flush(&runner).unwrap(), 0);
        assert!(runner.calls().is_empty());

        let echoed = stderr.text();
        assert!(
            echoed.contains("INFO juju_rs_ops::logging::tests: stderr only\n"),
            "{echoed}"
        );
        assert!(echoed.contains("ERROR juju_rs_ops::logging::tests: migration failed\n"));
        assert!(!echoed.contains("dropped everywhere"));
    }

    #[test]
    fn threshold_can_be_lowered_at_run_time() {
        let stderr = Captured::default();
        let log = JujuLog::new(Level::WARN, Some(Box::new(stderr.clone())));
        tracing::subscriber::with_default(log.subscriber(), || {
            tracing::debug!("before");
            log.set_level(Level::DEBUG);
            tracing::debug!("after");
            tracing::trace!("too verbose");
        });
        assert_eq!(log.level(), Level::DEBUG);
        let runner = RecordingRunner::new(Accepts);
        log.flush(&runner).unwrap();
        assert_eq!(juju_log_argvs(&runner), vec![argv("DEBUG", "after")]);
        assert!(stderr
            .text()
            .contains("DEBUG juju_rs_ops::logging::tests: after"));
        assert!(!stderr.text().contains("before"));
    }

    #[test]
    fn levels_parse_and_map_to_loggo_names() {
        assert_eq!(parse_level("WARNING"), Some(Level::WARN));
        assert_eq!(parse_level(" debug "), Some(Level::DEBUG));
        assert_eq!(parse_level("verbose"), None);
        assert_eq!(juju_level_name(Level::WARN), "WARNING");
        assert_eq!(juju_level_name(Level::TRACE), "TRACE");
    }

    #[test]
    fn long_batches_split_at_lines_then_characters() {
        assert_eq!(split_message("ab\ncd\nef", 5), vec!["ab\ncd", "ef"]);
        assert_eq!(split_message("abcdefg", 3), vec!["abc", "def", "g"]);
        // Never cuts a multi-byte character.
        assert_eq!(split_message("ééé", 3), vec!["é", "é", "é"]);
        assert_eq!(split_message("short", 10), vec!["short"]);

        let log = JujuLog::new(Level::WARN, None);
        let line = "x".repeat(MAX_MESSAGE_LEN - 10);
        log.record(Level::WARN, line.clone());
        log.record(Level::WARN, line.clone());
        let runner = RecordingRunner::new(Accepts);
        assert_eq!(log.flush(&runner).unwrap(), 2);
        assert!(runner.calls().iter().all(|c| c.args[3] == line));
    }

    #[test]
    fn a_failing_juju_log_drops_the_batch_and_reports() {
        struct Fails;
        impl ToolRunner for Fails {
            fn run(
                &self,
                tool: &str,
                _: &[String],
                _: Option<&[u8]>,
            ) -> Result<Vec<u8>, ToolError> {
                Err(ToolError::Failed {
                    tool: tool.to_string(),
                    code: 1,
                    stderr: "boom".into(),
                })
            }
        }
        let log = JujuLog::new(Level::WARN, None);
        log.record(Level::ERROR, "one");
        log.record(Level::WARN, "two");
        let runner = RecordingRunner::new(Fails);
        assert!(log.flush(&runner).is_err());
        assert_eq!(runner.count("juju-log"), 2, "every level is still tried");
        assert_eq!(log.pending(), 0);
    }
}
