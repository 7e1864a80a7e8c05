//! Workload status, and collecting candidates so that the most severe one wins
//! (like ops' `collect-status`).

use std::fmt;

/// A Juju workload status name, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatusKind {
    /// `unknown`: nothing set yet (cannot be set by a charm).
    Unknown,
    /// `active`: the unit works.
    Active,
    /// `waiting`: waiting for something outside the charm's control.
    Waiting,
    /// `maintenance`: the charm is busy (installing, migrating, ...).
    Maintenance,
    /// `blocked`: an operator must act (missing relation, bad config).
    Blocked,
    /// `error`: a hook failed (set by Juju, not by the charm).
    Error,
}

impl StatusKind {
    /// The name hook tools use (`status-set <name>`).
    pub fn as_str(self) -> &'static str {
        match self {
            StatusKind::Unknown => "unknown",
            StatusKind::Active => "active",
            StatusKind::Waiting => "waiting",
            StatusKind::Maintenance => "maintenance",
            StatusKind::Blocked => "blocked",
            StatusKind::Error => "error",
        }
    }

    /// Parses a status name as `status-get` prints it. Anything else is `Unknown`.
    pub fn parse(name: &str) -> StatusKind {
        match name {
            "active" => StatusKind::Active,
            "waiting" => StatusKind::Waiting,
            "maintenance" => StatusKind::Maintenance,
            "blocked" => StatusKind::Blocked,
            "error" => StatusKind::Error,
            _ => StatusKind::Unknown,
        }
    }
}

/// A status with its message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Status {
    /// How severe the status is.
    pub kind: StatusKind,
    /// The message an operator sees; may be empty.
    pub message: String,
}

impl Status {
    /// A status of `kind` with `message`.
    pub fn new(kind: StatusKind, message: impl Into<String>) -> Status {
        Status {
            kind,
            message: message.into(),
        }
    }
    /// An `active` status.
    pub fn active(message: impl Into<String>) -> Status {
        Status::new(StatusKind::Active, message)
    }
    /// A `waiting` status.
    pub fn waiting(message: impl Into<String>) -> Status {
        Status::new(StatusKind::Waiting, message)
    }
    /// A `maintenance` status.
    pub fn maintenance(message: impl Into<String>) -> Status {
        Status::new(StatusKind::Maintenance, message)
    }
    /// A `blocked` status.
    pub fn blocked(message: impl Into<String>) -> Status {
        Status::new(StatusKind::Blocked, message)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(self.kind.as_str())
        } else {
            write!(f, "{}: {}", self.kind.as_str(), self.message)
        }
    }
}

/// Collects candidate statuses; the most severe one wins, and among equals the first
/// added (so the charm adds its checks in the order an operator should fix them).
///
/// ```
/// use juju_rs_ops::{Status, StatusCollector};
/// let mut statuses = StatusCollector::default();
/// statuses.add(Status::waiting("Waiting for database creation"));
/// statuses.add(Status::blocked("Missing integration pg-database"));
/// statuses.add(Status::blocked("second blocked message"));
/// assert_eq!(statuses.winner().message, "Missing integration pg-database");
/// ```
#[derive(Debug, Clone, Default)]
pub struct StatusCollector {
    candidates: Vec<Status>,
}

impl StatusCollector {
    /// Adds a candidate; it wins if it is more severe than all added before it.
    pub fn add(&mut self, status: Status) {
        self.candidates.push(status);
    }

    /// All candidates in the order they were added.
    pub fn candidates(&self) -> &[Status] {
        &self.candidates
    }

    /// The most severe candidate; `active` with no message when there is none.
    pub fn winner(&self) -> Status {
        let mut best: Option<&Status> = None;
        for candidate in &self.candidates {
            if best.is_none_or(|b| candidate.kind > b.kind) {
                best = Some(candidate);
            }
        }
        best.cloned().unwrap_or_else(|| Status::active(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_order_matches_ops() {
        let mut c = StatusCollector::default();
        c.add(Status::active("a"));
        c.add(Status::waiting("w"));
        c.add(Status::maintenance("m"));
        assert_eq!(c.winner(), Status::maintenance("m"));
        c.add(Status::blocked("b"));
        assert_eq!(c.winner(), Status::blocked("b"));
    }

    #[test]
    fn empty_collector_is_active() {
        assert_eq!(StatusCollector::default().winner(), Status::active(""));
    }

    #[test]
    fn parse_round_trips() {
        for kind in [
            StatusKind::Active,
            StatusKind::Waiting,
            StatusKind::Maintenance,
            StatusKind::Blocked,
            StatusKind::Error,
        ] {
            assert_eq!(StatusKind::parse(kind.as_str()), kind);
        }
        assert_eq!(StatusKind::parse("bogus"), StatusKind::Unknown);
    }
}
