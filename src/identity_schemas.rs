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
//! Two deliberate differences from "skip whatever is broken":
//! - a charm config that is set but invalid is an error (the operator asked for something
//!   and must be told why it is not used: the charm goes `blocked`), not a silent fall-through;
//! - a ConfigMap that cannot be *read* (API error) is an error too: falling back to the
//!   shipped defaults on a transient failure would swap the schemas under running identities.
//!   A ConfigMap that is absent or empty, or whose content is invalid, falls through (the
//!   reason is kept in [`SchemaSelection::skipped`] so the charm can log it).
//!
//! Everything here is pure apart from the [`IdentitySchemaSource`] seam.
//!
//! ```ignore
//! let config = IdentitySchemaConfig { identity_schemas: None, default_identity_schema_id: None };
//! let selection = select_identity_schemas(&config, &InMemoryIdentitySchemaSource::absent())?;
//! assert_eq!(selection.origin, SchemaOrigin::Shipped);
//! assert_eq!(selection.set.default_id(), "social_user_v0");
//! ```

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
    /// `identity_schemas` is not JSON.
    #[error("identity_schemas: not valid JSON ({detail}); set it to a JSON object of schema id to schema")]
    ConfigNotJson {
        /// The parser's message (position and kind, no content).
        detail: String,
    },
    /// `identity_schemas` is JSON but not an object.
    #[error("identity_schemas: not a JSON object of schema id to schema")]
    ConfigNotObject,
    /// `identity_schemas` is an empty object.
    #[error("identity_schemas: no schemas; add at least one, or unset identity_schemas and default_identity_schema_id")]
    ConfigEmpty,
    /// One schema in `identity_schemas` is unusable.
    #[error("identity_schemas: {problem}")]
    ConfigSchemaInvalid {
        /// What is wrong with it.
        problem: SchemaSetProblem,
    },
    /// `identity_schemas` is set but `default_identity_schema_id` is not.
    #[error("default_identity_schema_id: not set; set it to one of the ids in identity_schemas ({known})")]
    ConfigDefaultUnset {
        /// The ids that exist, comma-separated.
        known: String,
    },
    /// `default_identity_schema_id` names no schema in `identity_schemas`.
    #[error(
        "default_identity_schema_id '{default_id}' is not in identity_schemas; use one of: {known}"
    )]
    ConfigDefaultUnknown {
        /// The id asked for.
        default_id: String,
        /// The ids that exist, comma-separated.
        known: String,
    },
    /// `default_identity_schema_id` is set but `identity_schemas` is not.
    #[error("default_identity_schema_id is set but identity_schemas is not; set identity_schemas too, or unset default_identity_schema_id")]
    ConfigSchemasUnset,
    /// The ConfigMap could not be read (not "absent": an error talking to the API).
    #[error("could not read the ConfigMap {IDENTITY_SCHEMAS_CONFIGMAP}: {source}")]
    ConfigMapUnavailable {
        /// The underlying error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
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

/// The two charm config options that carry identity schemas, as raw strings.
///
/// `None` and blank strings both mean "not set" (Juju omits unset string options).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IdentitySchemaConfig<'a> {
    /// `identity_schemas`: a JSON object of schema id to schema.
    pub identity_schemas: Option<&'a str>,
    /// `default_identity_schema_id`.
    pub default_identity_schema_id: Option<&'a str>,
}

/// Reads the `identity-schemas` ConfigMap. Implemented over the Kubernetes API in production;
/// [`InMemoryIdentitySchemaSource`] stands in for tests.
pub trait IdentitySchemaSource {
    /// The ConfigMap's `data`, or `Ok(None)` when the ConfigMap does not exist or has no data.
    /// `Err` only for a failure to ask (API unreachable, forbidden, ...).
    fn read(
        &self,
    ) -> Result<Option<BTreeMap<String, String>>, Box<dyn std::error::Error + Send + Sync>>;
}

/// An [`IdentitySchemaSource`] holding a fixed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InMemoryIdentitySchemaSource {
    answer: Result<Option<BTreeMap<String, String>>, String>,
}

impl InMemoryIdentitySchemaSource {
    /// A ConfigMap that does not exist (or has no data).
    pub fn absent() -> Self {
        Self { answer: Ok(None) }
    }

    /// A ConfigMap with this data.
    pub fn with_data(data: BTreeMap<String, String>) -> Self {
        Self {
            answer: Ok(Some(data)),
        }
    }

    /// A ConfigMap that cannot be read; `read` fails with this message.
    pub fn failing(message: impl Into<String>) -> Self {
        Self {
            answer: Err(message.into()),
        }
    }
}

impl IdentitySchemaSource for InMemoryIdentitySchemaSource {
    fn read(
        &self,
    ) -> Result<Option<BTreeMap<String, String>>, Box<dyn std::error::Error + Send + Sync>> {
        self.answer.clone().map_err(Into::into)
    }
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

/// Chooses the identity schemas: charm config, then ConfigMap, then shipped defaults.
/// See the module docs for which failures stop the search and which fall through.
pub fn select_identity_schemas(
    config: &IdentitySchemaConfig<'_>,
    configmap: &dyn IdentitySchemaSource,
) -> Result<SchemaSelection, IdentitySchemaError> {
    if let Some(set) = schemas_from_config(config)? {
        return Ok(SchemaSelection {
            set,
            origin: SchemaOrigin::CharmConfig,
            skipped: Vec::new(),
        });
    }
    let mut skipped = Vec::new();
    let data = configmap
        .read()
        .map_err(|source| IdentitySchemaError::ConfigMapUnavailable { source })?;
    if let Some(data) = data.filter(|data| !data.is_empty()) {
        match schemas_from_configmap(&data) {
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

/// Parses the charm config options. `Ok(None)` when neither is set.
pub fn schemas_from_config(
    config: &IdentitySchemaConfig<'_>,
) -> Result<Option<IdentitySchemaSet>, IdentitySchemaError> {
    let schemas_text = non_blank(config.identity_schemas);
    let default_id = non_blank(config.default_identity_schema_id);
    let Some(schemas_text) = schemas_text else {
        return match default_id {
            Some(_) => Err(IdentitySchemaError::ConfigSchemasUnset),
            None => Ok(None),
        };
    };
    let parsed: Value =
        serde_json::from_str(schemas_text).map_err(|e| IdentitySchemaError::ConfigNotJson {
            detail: e.to_string(),
        })?;
    let Value::Object(map) = parsed else {
        return Err(IdentitySchemaError::ConfigNotObject);
    };
    let schemas: BTreeMap<String, Value> = map.into_iter().collect();
    if schemas.is_empty() {
        return Err(IdentitySchemaError::ConfigEmpty);
    }
    let Some(default_id) = default_id else {
        return Err(IdentitySchemaError::ConfigDefaultUnset {
            known: known_ids(&schemas),
        });
    };
    match IdentitySchemaSet::new(default_id, schemas) {
        Ok(set) => Ok(Some(set)),
        Err(SchemaSetProblem::DefaultNotFound { default_id, known }) => {
            Err(IdentitySchemaError::ConfigDefaultUnknown { default_id, known })
        }
        Err(SchemaSetProblem::Empty) => Err(IdentitySchemaError::ConfigEmpty),
        Err(problem) => Err(IdentitySchemaError::ConfigSchemaInvalid { problem }),
    }
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

fn non_blank(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
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

    fn config<'a>(schemas: Option<&'a str>, default: Option<&'a str>) -> IdentitySchemaConfig<'a> {
        IdentitySchemaConfig {
            identity_schemas: schemas,
            default_identity_schema_id: default,
        }
    }

    fn configmap(entries: &[(&str, String)]) -> InMemoryIdentitySchemaSource {
        InMemoryIdentitySchemaSource::with_data(
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
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
        let selection = select_identity_schemas(
            &config(None, Some("  ")),
            &InMemoryIdentitySchemaSource::absent(),
        )
        .unwrap();
        assert_eq!(selection.origin, SchemaOrigin::Shipped);
        assert!(selection.skipped.is_empty());
    }

    #[test]
    fn charm_config_wins_over_configmap() {
        let schemas = json!({"a": schema_with("email"), "b": schema_with("name")}).to_string();
        let cm = configmap(&[
            (DEFAULT_SCHEMA_KEY, "c".into()),
            ("c", schema_with("x").to_string()),
        ]);
        let selection = select_identity_schemas(&config(Some(&schemas), Some("b")), &cm).unwrap();
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
        let selection = select_identity_schemas(&config(None, None), &cm).unwrap();
        assert_eq!(selection.origin, SchemaOrigin::ConfigMap);
        assert_eq!(selection.set.default_id(), "c");
        assert_eq!(selection.set.get("c"), Some(&schema_with("x")));
    }

    #[test]
    fn invalid_configmap_falls_through_and_is_reported() {
        let cm = configmap(&[("c", schema_with("x").to_string())]);
        let selection = select_identity_schemas(&config(None, None), &cm).unwrap();
        assert_eq!(selection.origin, SchemaOrigin::Shipped);
        assert!(matches!(
            selection.skipped.as_slice(),
            [IdentitySchemaError::ConfigMapDefaultMissing]
        ));

        let cm = configmap(&[(DEFAULT_SCHEMA_KEY, "c".into()), ("c", "{nope".into())]);
        let selection = select_identity_schemas(&config(None, None), &cm).unwrap();
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
        let selection = select_identity_schemas(&config(None, None), &cm).unwrap();
        assert!(matches!(
            &selection.skipped[0],
            IdentitySchemaError::ConfigMapInvalid {
                problem: SchemaSetProblem::DefaultNotFound { .. }
            }
        ));
    }

    #[test]
    fn empty_configmap_is_absent() {
        let selection = select_identity_schemas(&config(None, None), &configmap(&[])).unwrap();
        assert_eq!(selection.origin, SchemaOrigin::Shipped);
        assert!(selection.skipped.is_empty());
    }

    #[test]
    fn unreadable_configmap_is_an_error_not_a_fallback() {
        let err = select_identity_schemas(
            &config(None, None),
            &InMemoryIdentitySchemaSource::failing("connection refused"),
        )
        .unwrap_err();
        assert!(matches!(
            err,
            IdentitySchemaError::ConfigMapUnavailable { .. }
        ));
        assert!(err.to_string().contains("connection refused"));
    }

    #[test]
    fn config_errors_name_the_option_and_the_fix() {
        let absent = InMemoryIdentitySchemaSource::absent();
        let cases: Vec<(Option<String>, Option<&str>, &str)> = vec![
            (Some("{not json".into()), Some("a"), "identity_schemas: not valid JSON"),
            (Some("[1, 2]".into()), Some("a"), "identity_schemas: not a JSON object of schema id to schema"),
            (Some("{}".into()), Some("a"), "identity_schemas: no schemas"),
            (
                Some(json!({"a": schema_with("e")}).to_string()),
                None,
                "default_identity_schema_id: not set; set it to one of the ids in identity_schemas (a)",
            ),
            (
                Some(json!({"a": schema_with("e"), "b": schema_with("e")}).to_string()),
                Some("x"),
                "default_identity_schema_id 'x' is not in identity_schemas; use one of: a, b",
            ),
            (None, Some("x"), "default_identity_schema_id is set but identity_schemas is not"),
            (
                Some(json!({"a": "text"}).to_string()),
                Some("a"),
                "identity_schemas: schema 'a' is not a JSON object",
            ),
            (
                Some(json!({"a": {"type": "object"}}).to_string()),
                Some("a"),
                "identity_schemas: schema 'a' declares no traits",
            ),
        ];
        for (schemas, default, expected) in cases {
            let err =
                select_identity_schemas(&config(schemas.as_deref(), default), &absent).unwrap_err();
            assert!(
                err.to_string().starts_with(expected),
                "{schemas:?}/{default:?}: got {err}"
            );
        }
    }

    #[test]
    fn config_error_does_not_fall_through_to_configmap() {
        let cm = configmap(&[
            (DEFAULT_SCHEMA_KEY, "c".into()),
            ("c", schema_with("x").to_string()),
        ]);
        assert!(select_identity_schemas(&config(Some("{}"), Some("a")), &cm).is_err());
    }
}
