//! `kratos-peers`: the application's own databag shared by its units. Values are
//! JSON-encoded, as the reference charm stores them, so the bag survives a switch
//! between the two charms.

use super::Databag;

pub const ENDPOINT: &str = "kratos-peers";

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
