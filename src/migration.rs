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

    /// Runs the migration in the container; the error is Kratos's reason with the DSN and
    /// its password removed.
    pub fn run(&self, pebble: &dyn Pebble, timeout: Duration) -> Result<(), MigrationError> {
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
}

impl Migration {
    /// The status while the migration is not done.
    pub fn status(&self) -> Option<Status> {
        match self {
            Migration::Done => None,
            Migration::WaitingForLeader => Some(Status::waiting(
                "Waiting for leader unit to run the migration",
            )),
            Migration::TimedOut => Some(Status::waiting(
                "Database migration unfinished after 120 s: check that the database (pg-database) accepts connections; it runs again on the next hook",
            )),
            Migration::Failed => Some(Status::blocked(
                "Database migration failed: check the kratos container logs, then run the run-migration action",
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
        Err(MigrationError::TimedOut(message)) => {
            tracing::warn!("database migration unfinished: {message}");
            Ok(Migration::TimedOut)
        }
        Err(MigrationError::Failed(message)) => {
            tracing::error!("database migration failed: {message}");
            Ok(Migration::Failed)
        }
    }
}

/// Why `kratos migrate sql` did not succeed; the text has the DSN and its password
/// removed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MigrationError {
    /// It ran past its timeout and was killed.
    #[error("{0}")]
    TimedOut(String),
    /// It failed (Kratos's reason) or could not be run.
    #[error("{0}")]
    Failed(String),
}

/// Runs `kratos migrate sql -e --yes` with the DSN in its environment. The error text
/// has the DSN and its password removed.
fn run(pebble: &dyn Pebble, dsn: &Sensitive, timeout: Duration) -> Result<(), MigrationError> {
    let request = ExecRequest {
        environment: BTreeMap::from([("DSN".to_string(), dsn.expose().to_string())]),
        timeout: Some(timeout),
        ..ExecRequest::new(["kratos", "migrate", "sql", "-e", "--yes"])
    };
    let redact = |text: &str| workload::redact_dsn(text, dsn.expose());
    match pebble.exec(&request) {
        Ok(out) if out.exit_code == 0 => Ok(()),
        Ok(out) => Err(MigrationError::Failed(redact(&format!(
            "{} (exit code {})",
            workload::failure_summary(&out.stdout_text(), &String::from_utf8_lossy(&out.stderr)),
            out.exit_code,
        )))),
        Err(e @ PebbleError::Timeout(_)) => Err(MigrationError::TimedOut(redact(&e.to_string()))),
        Err(e) => Err(MigrationError::Failed(redact(&e.to_string()))),
    }
}
