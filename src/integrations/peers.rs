//! `kratos-peers`: the application's own databag shared by its units. Values are
//! JSON-encoded, as the reference charm stores them, so the bag survives a switch
//! between the two charms.

use juju_rs_ops::model::{Bag, Model, Relation};
use juju_rs_ops::Status;

use super::{Contribute, Databag, Integration, Reading};
use crate::error::CharmError;
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
}

/// The peer data shapes nothing in the workload itself (the migration reads it).
impl Contribute for PeerData {
    fn contribute(&self, _workload: &mut WorkloadSpec) {}
}

/// The key that records which workload version migrated the database of relation `id`.
pub fn migration_key(database_relation_id: u32) -> String {
    format!("migration_version_{database_relation_id}")
}

/// The workload version that migrated the database, if any.
pub fn migrated_version(bag: &Databag, database_relation_id: u32) -> Option<String> {
    let raw = bag.get(&migration_key(database_relation_id))?;
    // The reference writes json.dumps(version); accept a bare string too.
    Some(serde_json::from_str::<String>(raw).unwrap_or_else(|_| raw.clone()))
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
}
