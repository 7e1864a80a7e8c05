//! A [`ToolRunner`] decorator that records every hook-tool call, so tests can check
//! what a charm asked Juju and prove that it read each piece of model state at most
//! once per dispatch.
//!
//! ```
//! use std::rc::Rc;
//! use juju_rs_ops::recording::RecordingRunner;
//! use juju_rs_ops::tools::{ToolError, ToolRunner};
//! use juju_rs_ops::{Event, Model};
//!
//! struct NotLeader;
//! impl ToolRunner for NotLeader {
//!     fn run(&self, _: &str, _: &[String], _: Option<&[u8]>) -> Result<Vec<u8>, ToolError> {
//!         Ok(b"false".to_vec())
//!     }
//! }
//! let runner = Rc::new(RecordingRunner::new(NotLeader));
//! let model = Model::new(runner.clone(), &Event::from_vars([("JUJU_UNIT_NAME", "a/0")]));
//! model.is_leader().unwrap();
//! model.is_leader().unwrap();
//! assert_eq!(runner.count("is-leader"), 1);
//! assert!(runner.repeated_reads().is_empty());
//! ```

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::tools::{ToolError, ToolRunner};

/// Hook tools that only read model state: calling one twice with the same arguments in
/// one dispatch is wasted work (unless the charm changed that state in between, which
/// [`crate::Model`] handles through its cache).
pub const READ_TOOLS: &[&str] = &[
    "action-get",
    "config-get",
    "goal-state",
    "is-leader",
    "network-get",
    "opened-ports",
    "relation-get",
    "relation-ids",
    "relation-list",
    "resource-get",
    "secret-get",
    "secret-ids",
    "secret-info-get",
    "state-get",
    "status-get",
];

/// One recorded hook-tool call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The tool's name, e.g. `relation-get`.
    pub tool: String,
    /// Its arguments, in order.
    pub args: Vec<String>,
    /// What was fed on stdin, if anything.
    pub stdin: Option<Vec<u8>>,
}

impl ToolCall {
    /// The tool followed by its arguments.
    pub fn argv(&self) -> Vec<&str> {
        std::iter::once(self.tool.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect()
    }

    /// stdin as text (lossy), or `None` when nothing was fed.
    pub fn stdin_text(&self) -> Option<String> {
        self.stdin
            .as_ref()
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    }
}

/// Wraps a runner and records every call made through it (in order), successful or not.
pub struct RecordingRunner<R> {
    inner: R,
    calls: RefCell<Vec<ToolCall>>,
}

impl<R: ToolRunner> RecordingRunner<R> {
    /// Records calls passed on to `inner`.
    pub fn new(inner: R) -> RecordingRunner<R> {
        RecordingRunner {
            inner,
            calls: RefCell::default(),
        }
    }

    /// The wrapped runner.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<ToolCall> {
        self.calls.borrow().clone()
    }

    /// Every call of one tool so far, in order.
    pub fn calls_of(&self, tool: &str) -> Vec<ToolCall> {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.tool == tool)
            .cloned()
            .collect()
    }

    /// How many times `tool` ran.
    pub fn count(&self, tool: &str) -> usize {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.tool == tool)
            .count()
    }

    /// Read-only calls ([`READ_TOOLS`]) made more than once with the same arguments,
    /// with how many times each ran. Empty when every read happened at most once.
    pub fn repeated_reads(&self) -> Vec<(Vec<String>, usize)> {
        let mut seen: BTreeMap<Vec<String>, usize> = BTreeMap::new();
        for call in self.calls.borrow().iter() {
            if READ_TOOLS.contains(&call.tool.as_str()) {
                let argv = call.argv().into_iter().map(str::to_string).collect();
                *seen.entry(argv).or_default() += 1;
            }
        }
        seen.into_iter().filter(|(_, n)| *n > 1).collect()
    }

    /// Forgets the calls recorded so far.
    pub fn clear(&self) {
        self.calls.borrow_mut().clear();
    }
}

impl<R: ToolRunner> ToolRunner for RecordingRunner<R> {
    fn run(&self, tool: &str, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<u8>, ToolError> {
        self.calls.borrow_mut().push(ToolCall {
            tool: tool.to_string(),
            args: args.to_vec(),
            stdin: stdin.map(<[u8]>::to_vec),
        });
        self.inner.run(tool, args, stdin)
    }
}
