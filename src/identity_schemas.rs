//! Identity schemas: which set Kratos gets, and from where.
//!
//! Three sources, tried in order; the first one that yields a valid set wins:
//!
//! 1. the charm config (`identity_schemas`, a JSON object of schema id to schema, and
//!    `default_identity_schema_id`);
//! 2. the `identity-schemas` ConfigMap, read through [`IdentitySchemaSource`] (its key
//!    `default.schema` names the default, every other key is a schema id whose value is the
//!    schema as JSON);
//! 3. the defaults shipped in the charm's `identity_schemas/` directory (compiled in).
//!
//! The charm config is validated (and parsed into an [`IdentitySchemaSet`]) with the rest of
//! the config; an invalid one blocks the unit instead of falling through. A ConfigMap that is
//! absent or empty, or whose content is invalid, falls through to the shipped defaults (the
//! reason is kept in [`SchemaSelection::skipped`] so the charm can report it).
//!
//! Everything here is pure: the caller reads the ConfigMap.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

/// Name of the ConfigMap that may hold identity schemas.
pub const IDENTITY_SCHEMAS_CONFIGMAP: &str = "identity-schemas";

/// Key (in the ConfigMap, and file name in `identity_schemas/`) naming the default schema id.
pub const DEFAULT_SCHEMA_KEY: &str = "default.schema";

/// The schemas shipped in `identity_schemas/`, as (schema id, file content).
///
/// A unit test checks that this list and the directory agree.
const SHIPPED_SCHEMAS: &[(&str, &str)] = &[
    (
        "admin_v0",
        include_str!("../identity_schemas/admin_v0.json"),
    ),
    (
        "social_user_v0",
        include_str!("../identity_schemas/social_user_v0.json"),
    ),
];

/// Content of `identity_schemas/default.schema`: the id of the shipped default schema.
const SHIPPED_DEFAULT: &str = include_str!("../identity_schemas/default.schema");

/// Id of the shipped schema used by the `create-admin-account` action.
pub const ADMIN_SCHEMA_ID: &str = "admin_v0";

/// A valid set of identity schemas: at least one schema, each a JSON object with traits,
/// and a default id that names one of them.
///
/// Schemas are kept in id order so that rendering is deterministic.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentitySchemaSet {
    default_id: String,
    schemas: BTreeMap<String, Value>,
}

impl IdentitySchemaSet {
    /// Checks and builds a set.
    ///
    /// ```ignore
    /// let schema = serde_json::json!({"properties": {"traits": {"properties": {"email": {"type": "string"}}}}});
    /// let set = IdentitySchemaSet::new("user", [("user".to_string(), schema)].into())?;
    /// assert_eq!(set.default_id(), "user");
    /// ```
    pub fn new(
        default_id: impl Into<String>,
        schemas: BTreeMap<String, Value>,
    ) -> Result<Self, SchemaSetProblem> {
        let default_id = default_id.into();
        if schemas.is_empty() {
            return Err(SchemaSetProblem::Empty);
        }
        for (id, schema) in &schemas {
            check_schema_shape(id, schema)?;
        }
        if !schemas.contains_key(&default_id) {
            return Err(SchemaSetProblem::DefaultNotFound {
                default_id,
                known: known_ids(&schemas),
            });
        }
        Ok(Self {
            default_id,
            schemas,
        })
    }

    /// The id of the default schema (Kratos's `identity.default_schema_id`).
    pub fn default_id(&self) -> &str {
        &self.default_id
    }

    /// All schemas by id, in id order.
    pub fn schemas(&self) -> &BTreeMap<String, Value> {
        &self.schemas
    }

    /// The schema with this id, if any.
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.schemas.get(id)
    }
}

/// Why a set of schemas is not valid, independent of where it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaSetProblem {
    /// No schema at all.
    #[error("there are no schemas")]
    Empty,
    /// The default id names no schema.
    #[error("the default schema '{default_id}' is not among the schemas ({known})")]
    DefaultNotFound {
        /// The default id asked for.
        default_id: String,
        /// The ids that exist, comma-separated.
        known: String,
    },
    /// A schema is not a JSON object.
    #[error("schema '{id}' is not a JSON object")]
    NotAnObject {
        /// The schema's id.
        id: String,
    },
    /// A schema declares no traits, which Kratos's identity meta-schema requires.
    #[error("schema '{id}' declares no traits (it needs properties.traits.properties with at least one trait)")]
    NoTraits {
        /// The schema's id.
        id: String,
    },
}

/// Why no identity schema set could be chosen. Messages name the option or object at fault
/// and say how to fix it; they never include schema content.
#[derive(Debug, thiserror::Error)]
pub enum IdentitySchemaError {
    /// The ConfigMap has schemas but no `default.schema` key.
    #[error("ConfigMap {IDENTITY_SCHEMAS_CONFIGMAP}: no '{DEFAULT_SCHEMA_KEY}' key naming the default schema; add it")]
    ConfigMapDefaultMissing,
    /// A ConfigMap value is not JSON.
    #[error("ConfigMap {IDENTITY_SCHEMAS_CONFIGMAP}: schema '{id}' is not valid JSON ({detail})")]
    ConfigMapSchemaNotJson {
        /// The key.
        id: String,
        /// The parser's message.
        detail: String,
    },
    /// The ConfigMap's schemas do not form a valid set.
    #[error("ConfigMap {IDENTITY_SCHEMAS_CONFIGMAP}: {problem}")]
    ConfigMapInvalid {
        /// What is wrong.
        problem: SchemaSetProblem,
    },
    /// The schemas compiled into the charm are broken: a packaging bug, not an operator error.
    #[error("the identity schemas shipped with the charm are invalid ({detail}); this is a bug in the charm")]
    Shipped {
        /// What is wrong.
        detail: String,
    },
}

/// Where the chosen set came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaOrigin {
    /// The charm config options.
    CharmConfig,
    /// The `identity-schemas` ConfigMap.
    ConfigMap,
    /// The defaults shipped with the charm.
    Shipped,
}

impl fmt::Display for SchemaOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CharmConfig => "charm config",
            Self::ConfigMap => "ConfigMap identity-schemas",
            Self::Shipped => "shipped defaults",
        })
    }
}

/// The outcome of [`select_identity_schemas`].
#[derive(Debug)]
pub struct SchemaSelection {
    /// The set to render.
    pub set: IdentitySchemaSet,
    /// Where it came from.
    pub origin: SchemaOrigin,
    /// Sources passed over because their content was invalid (worth a warning in the log).
    pub skipped: Vec<IdentitySchemaError>,
}

/// Chooses the identity schemas: the charm config's (already validated), then the
/// `identity-schemas` ConfigMap's data (`None` when it does not exist), then the shipped
/// defaults.
pub fn select_identity_schemas(
    configured: Option<&IdentitySchemaSet>,
    configmap: Option<&BTreeMap<String, String>>,
) -> Result<SchemaSelection, IdentitySchemaError> {
    if let Some(set) = configured {
        return Ok(SchemaSelection {
            set: set.clone(),
            origin: SchemaOrigin::CharmConfig,
            skipped: Vec::new(),
        });
    }
    let mut skipped = Vec::new();
    if let Some(data) = configmap.filter(|data| !data.is_empty()) {
        match schemas_from_configmap(data) {
            Ok(set) => {
                return Ok(SchemaSelection {
                    set,
                    origin: SchemaOrigin::ConfigMap,
                    skipped,
                })
            }
            Err(error) => skipped.push(error),
        }
    }
    Ok(SchemaSelection {
        set: shipped_identity_schemas()?,
        origin: SchemaOrigin::Shipped,
        skipped,
    })
}

/// Parses the data of the `identity-schemas` ConfigMap.
pub fn schemas_from_configmap(
    data: &BTreeMap<String, String>,
) -> Result<IdentitySchemaSet, IdentitySchemaError> {
    let default_id = data
        .get(DEFAULT_SCHEMA_KEY)
        .map(|id| id.trim())
        .filter(|id| !id.is_empty())
        .ok_or(IdentitySchemaError::ConfigMapDefaultMissing)?;
    let mut schemas = BTreeMap::new();
    for (id, text) in data.iter().filter(|(key, _)| *key != DEFAULT_SCHEMA_KEY) {
        let schema = serde_json::from_str(text).map_err(|e| {
            IdentitySchemaError::ConfigMapSchemaNotJson {
                id: id.clone(),
                detail: e.to_string(),
            }
        })?;
        schemas.insert(id.clone(), schema);
    }
    IdentitySchemaSet::new(default_id, schemas)
        .map_err(|problem| IdentitySchemaError::ConfigMapInvalid { problem })
}

/// The schemas shipped with the charm (`identity_schemas/`, compiled in).
pub fn shipped_identity_schemas() -> Result<IdentitySchemaSet, IdentitySchemaError> {
    let mut schemas = BTreeMap::new();
    for (id, text) in SHIPPED_SCHEMAS {
        let schema = serde_json::from_str(text).map_err(|e| IdentitySchemaError::Shipped {
            detail: format!("{id}: {e}"),
        })?;
        schemas.insert((*id).to_string(), schema);
    }
    IdentitySchemaSet::new(SHIPPED_DEFAULT.trim(), schemas).map_err(|problem| {
        IdentitySchemaError::Shipped {
            detail: problem.to_string(),
        }
    })
}

fn known_ids(schemas: &BTreeMap<String, Value>) -> String {
    schemas.keys().cloned().collect::<Vec<_>>().join(", ")
}

/// The shape Kratos's identity meta-schema insists on, checked here so that the operator gets
/// a message naming the schema rather than a Kratos that fails to start.
fn check_schema_shape(id: &str, schema: &Value) -> Result<(), SchemaSetProblem> {
    if !schema.is_object() {
        return Err(SchemaSetProblem::NotAnObject { id: id.to_string() });
    }
    let has_traits = schema
        .pointer("/properties/traits/properties")
        .and_then(Value::as_object)
        .is_some_and(|traits| !traits.is_empty());
    if has_traits {
        Ok(())
    } else {
        Err(SchemaSetProblem::NoTraits { id: id.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema_with(trait_name: &str) -> Value {
        json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"traits": {"type": "object", "properties": {trait_name: {"type": "string"}}}}
        })
    }

    fn configmap(entries: &[(&str, String)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn shipped_list_matches_the_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("identity_schemas");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json"))
            .map(|name| name.trim_end_matches(".json").to_string())
            .collect();
        on_disk.sort();
        let compiled_in: Vec<String> = SHIPPED_SCHEMAS
            .iter()
            .map(|(id, _)| id.to_string())
            .collect();
        assert_eq!(compiled_in, on_disk);
    }

    #[test]
    fn shipped_defaults_are_a_valid_set_with_the_admin_schema() {
        let set = shipped_identity_schemas().unwrap();
        assert_eq!(set.default_id(), "social_user_v0");
        let admin = set.get(ADMIN_SCHEMA_ID).unwrap();
        let traits = admin["properties"]["traits"]["properties"]
            .as_object()
            .unwrap();
        for name in ["username", "email", "name", "phone_number"] {
            assert!(traits.contains_key(name), "admin_v0 lacks trait {name}");
        }
    }

    #[test]
    fn nothing_configured_falls_back_to_shipped() {
        let selection = select_identity_schemas(None, None).unwrap();
        assert_eq!(selection.origin, SchemaOrigin::Shipped);
        assert!(selection.skipped.is_empty());
    }

    #[test]
    fn charm_config_wins_over_configmap() {
        let configured = IdentitySchemaSet::new(
            "b",
            [
                ("a".into(), schema_with("email")),
                ("b".into(), schema_with("name")),
            ]
            .into(),
        )
        .unwrap();
        let cm = configmap(&[
            (DEFAULT_SCHEMA_KEY, "c".into()),
            ("c", schema_with("x").to_string()),
        ]);
        let selection = select_identity_schemas(Some(&configured), Some(&cm)).unwrap();
        assert_eq!(selection.origin, SchemaOrigin::CharmConfig);
        assert_eq!(selection.set.default_id(), "b");
        assert_eq!(
            selection.set.schemas().keys().collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn configmap_used_when_config_unset() {
        let cm = configmap(&[
            (DEFAULT_SCHEMA_KEY, " c\n".into()),
            ("c", schema_with("x").to_string()),
        ]);
        let selection = select_identity_schemas(None, Some(&cm)).unwrap();
        assert_eq!(selection.origin, SchemaOrigin::ConfigMap);
        assert_eq!(selection.set.default_id(), "c");
        assert_eq!(selection.set.get("c"), Some(&schema_with("x")));
    }

    #[test]
    fn invalid_configmap_falls_through_and_is_reported() {
        let cm = configmap(&[("c", schema_with("x").to_string())]);
        let selection = select_identity_schemas(None, Some(&cm)).unwrap();
        assert_eq!(selection.origin, SchemaOrigin::Shipped);
        assert!(matches!(
            selection.skipped.as_slice(),
            [IdentitySchemaError::ConfigMapDefaultMissing]
        ));

        let cm = configmap(&[(DEFAULT_SCHEMA_KEY, "c".into()), ("c", "{nope".into())]);
        let selection = select_identity_schemas(None, Some(&cm)).unwrap();
        assert_eq!(selection.origin, SchemaOrigin::Shipped);
        let message = selection.skipped[0].to_string();
        assert!(
            message.contains("schema 'c' is not valid JSON"),
            "{message}"
        );

        let cm = configmap(&[
            (DEFAULT_SCHEMA_KEY, "missing".into()),
            ("c", schema_with("x").to_string()),
        ]);
        let selection = select_identity_schemas(None, Some(&cm)).unwrap();
        assert!(matches!(
            &selection.skipped[0],
            IdentitySchemaError::ConfigMapInvalid {
                problem: SchemaSetProblem::DefaultNotFound { .. }
            }
        ));
    }

    #[test]
    fn empty_configmap_is_absent() {
        let selection = select_identity_schemas(None, Some(&configmap(&[]))).unwrap();
        assert_eq!(selection.origin, SchemaOrigin::Shipped);
        assert!(selection.skipped.is_empty());
    }
}
