//! `kratos-peers`: the application's own databag shared by its units. Values are
//! JSON-encoded, as the reference charm stores them, so the bag survives a switch
//! between the two charms.
//!
//! What the reference (Canonical's Python `kratos-operator`) leaves in the bag, and what
//! becomes of it after `juju refresh` to this charm:
//! - `migration_version_<database relation id>`: the Kratos version that migrated the
//!   database, `json.dumps(version)` (`src/charm.py`, `PeerData` in `src/integrations.py`):
//!   honoured as is, so the database is not migrated again;
//! - `db_migrate_version_<id>`: the same record as revisions before its August 2025
//!   refactor kept it: honoured too, and the leader copies it to `migration_version_<id>`
//!   (leaving it for units that still run such a revision during a rolling refresh);
//! - `leader`: `json.dumps(unit name)`, written on leader-elected only to wake the
//!   followers; nothing reads it, so the leader removes it.

use juju_rs_ops::model::{Bag, Model, Relation};
use juju_rs_ops::Status;

use super::{Contribute, Databag, Integration, Reading};
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::workload::WorkloadSpec;

/// The endpoint.
pub const ENDPOINT: &str = "kratos-peers";

/// The integration.
pub struct Peers;

/// The peer relation and the application's databag in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerData {
    /// The peer relation (to write the application bag).
    pub relation: Relation,
    /// The application bag as this hook read it.
    pub app_bag: Databag,
}

impl PeerData {
    /// The workload version that migrated the database of relation `id`, if any.
    pub fn migrated_version(&self, database_relation_id: u32) -> Option<String> {
        migrated_version(&self.app_bag, database_relation_id)
    }
}

impl Integration for Peers {
    type Data = PeerData;

    /// Juju creates the peer relation with the application; until then the unit waits.
    fn absent_status() -> Option<Status> {
        Some(Status::waiting(format!("Missing integration {ENDPOINT}")))
    }

    fn read(model: &Model) -> Result<Reading<PeerData>, CharmError> {
        let Some(relation) = model.first_relation(ENDPOINT)? else {
            return Ok(Reading::Absent);
        };
        let app_bag = model.databag(&relation, Bag::LocalApp)?;
        Ok(Reading::Ready(PeerData { relation, app_bag }))
    }

    /// The leader brings what the reference charm left in the bag to this charm's shape.
    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        if !inputs.leader {
            return Ok(());
        }
        let Some(peers) = inputs.integrations.peers.ready() else {
            return Ok(());
        };
        let changes = reference_leftovers(&peers.app_bag);
        if !changes.is_empty() {
            model.update_databag(&peers.relation, Bag::LocalApp, &changes)?;
        }
        Ok(())
    }
}

/// The peer data shapes nothing in the workload itself (the migration reads it).
impl Contribute for PeerData {
    fn contribute(&self, _workload: &mut WorkloadSpec) {}
}

/// The key that records which workload version migrated the database of relation `id`.
pub fn migration_key(database_relation_id: u32) -> String {
    format!("migration_version_{database_relation_id}")
}

/// The key under which revisions of the reference charm before its August 2025 refactor
/// recorded the migration of the database of relation `id`.
fn legacy_migration_key(database_relation_id: u32) -> String {
    format!("{LEGACY_MIGRATION_PREFIX}{database_relation_id}")
}

const LEGACY_MIGRATION_PREFIX: &str = "db_migrate_version_";

/// The key the reference's leader writes on leader-elected (nothing reads it).
const REFERENCE_LEADER_KEY: &str = "leader";

/// The workload version that migrated the database, if any: this charm's (and the
/// current reference's) record, else an older reference revision's.
pub fn migrated_version(bag: &Databag, database_relation_id: u32) -> Option<String> {
    let raw = bag
        .get(&migration_key(database_relation_id))
        .or_else(|| bag.get(&legacy_migration_key(database_relation_id)))?;
    // The reference writes json.dumps(version); accept a bare string too.
    Some(serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.clone()))
}

/// The changes that bring a bag the reference charm wrote to this charm's shape (pure):
/// its `leader` key removed, each older-revision migration record copied to this
/// charm's key (unless that key is there).
pub fn reference_leftovers(bag: &Databag) -> Databag {
    let mut changes = Databag::new();
    if bag.contains_key(REFERENCE_LEADER_KEY) {
        changes.insert(REFERENCE_LEADER_KEY.to_string(), String::new());
    }
    for (key, value) in bag {
        let Some(id) = key.strip_prefix(LEGACY_MIGRATION_PREFIX) else {
            continue;
        };
        let Ok(id) = id.parse::<u32>() else {
            continue;
        };
        let current = migration_key(id);
        if !bag.contains_key(&current) && !value.is_empty() {
            changes.insert(current, value.clone());
        }
    }
    changes
}

/// The databag change recording that `version` migrated the database.
pub fn record_migration(database_relation_id: u32, version: &str) -> Databag {
    let mut bag = Databag::new();
    bag.insert(migration_key(database_relation_id), encode(version));
    bag
}

/// JSON-encodes a string value.
pub fn encode(value: &str) -> String {
    serde_json::Value::String(value.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_records_round_trip_in_the_reference_encoding() {
        let change = record_migration(4, "v26.2.0");
        assert_eq!(change["migration_version_4"], "\"v26.2.0\"");
        assert_eq!(migrated_version(&change, 4).as_deref(), Some("v26.2.0"));
        assert_eq!(migrated_version(&change, 5), None);
        let bare: Databag = [("migration_version_1".to_string(), "v1".to_string())].into();
        assert_eq!(migrated_version(&bare, 1).as_deref(), Some("v1"));
    }

    fn bag(pairs: &[(&str, &str)]) -> Databag {
        crate::integrations::test_bag(pairs)
    }

    #[test]
    fn an_older_reference_record_is_honoured_and_this_charms_record_wins() {
        let legacy = bag(&[("db_migrate_version_3", "\"v1.3.1\"")]);
        assert_eq!(migrated_version(&legacy, 3).as_deref(), Some("v1.3.1"));
        assert_eq!(migrated_version(&legacy, 4), None);
        let both = bag(&[
            ("db_migrate_version_3", "\"v1.2.0\""),
            ("migration_version_3", "\"v1.3.1\""),
        ]);
        assert_eq!(migrated_version(&both, 3).as_deref(), Some("v1.3.1"));
    }

    #[test]
    fn the_references_leftovers_are_brought_to_this_charms_shape() {
        let left = bag(&[
            ("leader", "\"kratos/0\""),
            ("db_migrate_version_3", "\"v1.2.0\""),
            ("db_migrate_version_5", "\"v1.3.1\""),
            ("migration_version_5", "\"v1.3.0\""),
            ("db_migrate_version_x", "\"v9\""),
        ]);
        assert_eq!(
            reference_leftovers(&left),
            bag(&[("leader", ""), ("migration_version_3", "\"v1.2.0\"")])
        );
        let ours = bag(&[("migration_version_5", "\"v1.3.1\"")]);
        assert!(reference_leftovers(&ours).is_empty());
    }
}
