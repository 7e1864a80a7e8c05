//! The database migration: one path for the hooks and the `run-migration` action. The
//! leader runs `kratos migrate sql` once per database relation and workload version and
//! records it in the peer application databag (in the reference's key and encoding);
//! followers wait for that record.

use std::collections::BTreeMap;
use std::time::Duration;

use juju_rs_ops::model::{Bag, Model};
use juju_rs_ops::pebble::{ExecRequest, Pebble, PebbleError};
use juju_rs_ops::Status;

use crate::error::CharmError;
use crate::integrations::database::DatabaseConnection;
use crate::integrations::peers::{self, PeerData};
use crate::sensitive::Sensitive;
use crate::workload;

/// How long the leader lets `kratos migrate sql` run during a hook.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(120);

/// What a migration needs: where to record it, which database, and for which version.
#[derive(Debug, Clone, Copy)]
pub struct MigrationTarget<'a> {
    /// The peer relation and its application bag.
    pub peers: &'a PeerData,
    /// The database and the relation that gave it.
    pub database: &'a DatabaseConnection,
    /// The workload version the migration brings the database to.
    pub version: &'a str,
}

impl MigrationTarget<'_> {
    /// Whether the peer record says the database is migrated for this version.
    pub fn is_recorded(&self) -> bool {
        self.peers
            .migrated_version(self.database.relation_id)
            .as_deref()
            == Some(self.version)
    }

    /// Runs the migration in the container; the error carries Kratos's reason with the
    /// DSN and its password removed.
    pub fn run(&self, pebble: &dyn Pebble, timeout: Duration) -> Result<(), RunFailure> {
        run(pebble, &self.database.connection.dsn(), timeout)
    }

    /// Records in the peer application databag that the database is migrated for the
    /// version (the leader's hooks then stop asking for a migration, followers start).
    pub fn record(&self, model: &Model) -> Result<(), CharmError> {
        model.update_databag(
            &self.peers.relation,
            Bag::LocalApp,
            &peers::record_migration(self.database.relation_id, self.version),
        )?;
        Ok(())
    }
}

/// Why `kratos migrate sql` did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunFailure {
    /// It outlived its timeout (Pebble killed it): typically a database that accepts
    /// connections but does not answer.
    #[error("timed out after {}s: the database did not answer", .0.as_secs())]
    TimedOut(Duration),
    /// It was killed by a signal (from outside, or the container's memory limit).
    #[error("the migration process was killed (exit code {0})")]
    Killed(i32),
    /// It failed: Kratos's reason, or Pebble's.
    #[error("{0}")]
    Failed(String),
}

/// Where the migration stands after [`ensure`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Migration {
    /// The database is migrated for this version.
    Done,
    /// A follower waits for the leader's record.
    WaitingForLeader,
    /// The leader's migration failed (the reason went to the log).
    Failed,
    /// The leader's migration did not finish in time: Kratos v1.3.1 retries an
    /// unreachable database for minutes. It runs again on the next hook.
    TimedOut,
    /// The leader's migration process was killed.
    Killed,
}

impl Migration {
    /// The status while the migration is not done.
    pub fn status(&self) -> Option<Status> {
        match self {
            Migration::Done => None,
            Migration::WaitingForLeader => Some(Status::waiting(
                "Waiting for leader unit to run the migration",
            )),
            Migration::Failed => Some(Status::blocked(
                "Database migration failed: check the kratos container logs, then run the run-migration action",
            )),
            Migration::TimedOut => Some(Status::waiting(format!(
                "Database migration unfinished after {}s: check that the database (pg-database) accepts connections; it runs again on the next hook",
                HOOK_TIMEOUT.as_secs()
            ))),
            Migration::Killed => Some(Status::blocked(
                "Database migration was killed before it finished: run the run-migration action",
            )),
        }
    }
}

/// Makes sure the database is migrated for the target's version: the leader migrates
/// (once) and records it; a follower only reads the record.
pub fn ensure(
    model: &Model,
    pebble: &dyn Pebble,
    target: &MigrationTarget<'_>,
    leader: bool,
) -> Result<Migration, CharmError> {
    if target.is_recorded() {
        return Ok(Migration::Done);
    }
    if !leader {
        return Ok(Migration::WaitingForLeader);
    }
    match target.run(pebble, HOOK_TIMEOUT) {
        Ok(()) => {
            target.record(model)?;
            Ok(Migration::Done)
        }
        Err(failure @ RunFailure::TimedOut(_)) => {
            tracing::warn!("database migration unfinished: {failure}");
            Ok(Migration::TimedOut)
        }
        Err(failure) => {
            tracing::error!("database migration failed: {failure}");
            Ok(match failure {
                RunFailure::TimedOut(_) => Migration::TimedOut,
                RunFailure::Killed(_) => Migration::Killed,
                RunFailure::Failed(_) => Migration::Failed,
            })
        }
    }
}

/// Runs `kratos migrate sql -e --yes` with the DSN in its environment. The error text
/// has the DSN and its password removed.
fn run(pebble: &dyn Pebble, dsn: &Sensitive, timeout: Duration) -> Result<(), RunFailure> {
    let request = ExecRequest {
        environment: BTreeMap::from([("DSN".to_string(), dsn.expose().to_string())]),
        timeout: Some(timeout),
        ..ExecRequest::new(["kratos", "migrate", "sql", "-e", "--yes"])
    };
    let redact = |text: &str| workload::redact_dsn(text, dsn.expose());
    match pebble.exec(&request) {
        Ok(out) if out.exit_code == 0 => Ok(()),
        // Pebble reports a command ended by a signal with exit code -1 (Go's), a shell
        // reports 128 + the signal (SIGKILL, SIGTERM).
        Ok(out) if matches!(out.exit_code, -1 | 137 | 143) => {
            Err(RunFailure::Killed(out.exit_code))
        }
        Err(PebbleError::Timeout(limit)) => Err(RunFailure::TimedOut(limit)),
        Ok(out) => Err(RunFailure::Failed(redact(&format!(
            "{} (exit code {})",
            workload::failure_summary(&out.stdout_text(), &String::from_utf8_lossy(&out.stderr)),
            out.exit_code,
        )))),
        Err(e) => Err(RunFailure::Failed(redact(&e.to_string()))),
    }
}
