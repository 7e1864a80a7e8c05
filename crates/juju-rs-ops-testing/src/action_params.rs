//! Action parameters as Juju checks them before an action runs.
//!
//! Juju turns each action of `actions.yaml` into a JSON schema (draft 4): an object whose
//! `properties` are the action's `params`, with the action's other schema keys
//! (`required`, `additionalProperties`, `oneOf`, ...) at the top. For `juju run` it first
//! fills in the `default`s of the params not given, then validates the parameters against
//! that schema; when they do not validate, the action is not queued and the charm never
//! runs: `juju run` says `ERROR validation failed: <errors>`, each error written the way
//! Juju's JSON schema library (gojsonschema) writes it, e.g.
//! `(root) : additional property "foo" is not allowed`,
//! `(root).timeout : invalid type. Expected: number, given: string`,
//! `(root) : "email" property is missing`.
//!
//! ```
//! use juju_rs_ops_testing::ActionSchemas;
//! use serde_json::json;
//!
//! let schemas = ActionSchemas::parse(
//!     "greet:\n  params:\n    name: {type: string, default: world}\n  additionalProperties: false\n",
//! )
//! .unwrap();
//! let greet = schemas.get("greet").unwrap();
//! let params = greet.prepare(serde_json::Map::new()).unwrap();
//! assert_eq!(params["name"], "world");
//! let wrong = json!({"name": 3}).as_object().unwrap().clone();
//! assert_eq!(
//!     greet.prepare(wrong).unwrap_err(),
//!     "validation failed: (root).name : invalid type. Expected: string, given: integer"
//! );
//! ```

use std::collections::BTreeMap;
use std::fmt;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use serde_json::{Map, Value};

/// Keys of an action in `actions.yaml` that are not part of its parameter schema.
const NOT_SCHEMA: &[&str] = &["description", "params", "parallel", "execution-group"];

/// The actions of a charm's `actions.yaml`, by name.
#[derive(Debug, Default)]
pub struct ActionSchemas(BTreeMap<String, ActionSchema>);

/// One action's parameters: their defaults and the JSON schema Juju validates them with.
pub struct ActionSchema {
    defaults: Map<String, Value>,
    schema: Value,
    validator: jsonschema::Validator,
}

impl fmt::Debug for ActionSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionSchema")
            .field("defaults", &self.defaults)
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl ActionSchemas {
    /// Reads `actions.yaml`; an error names what Juju would reject the charm for.
    pub fn parse(actions_yaml: &str) -> Result<ActionSchemas, String> {
        let doc: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(actions_yaml).map_err(|e| format!("actions.yaml: {e}"))?;
        let mut actions = BTreeMap::new();
        let Some(entries) = doc.as_mapping() else {
            return Ok(ActionSchemas(actions));
        };
        for (name, spec) in entries {
            let name = name
                .as_str()
                .ok_or_else(|| format!("actions.yaml: action name {name:?}"))?;
            let spec = serde_json::to_value(spec)
                .map_err(|e| format!("actions.yaml: action {name}: {e}"))?;
            actions.insert(name.to_string(), ActionSchema::new(name, &spec)?);
        }
        Ok(ActionSchemas(actions))
    }

    /// The action called `name`, if `actions.yaml` declares it.
    pub fn get(&self, name: &str) -> Option<&ActionSchema> {
        self.0.get(name)
    }
}

impl ActionSchema {
    fn new(name: &str, spec: &Value) -> Result<ActionSchema, String> {
        let empty = Map::new();
        let spec = spec.as_object().unwrap_or(&empty);
        let params = spec
            .get("params")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let defaults = params
            .iter()
            .filter_map(|(param, schema)| Some((param.clone(), schema.get("default")?.clone())))
            .collect();
        let mut schema: Map<String, Value> = spec
            .iter()
            .filter(|(key, _)| !NOT_SCHEMA.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect();
        schema.insert("title".into(), Value::String(name.into()));
        schema.insert("type".into(), Value::String("object".into()));
        schema.insert("properties".into(), Value::Object(params));
        let schema = Value::Object(schema);
        let validator = jsonschema::draft4::new(&schema)
            .map_err(|e| format!("actions.yaml: action {name}: invalid params schema: {e}"))?;
        Ok(ActionSchema {
            defaults,
            schema,
            validator,
        })
    }

    /// The JSON schema the parameters are validated with.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// What Juju does with `juju run` parameters: fills in the defaults of the params not
    /// given, then validates. The error is Juju's message without its `ERROR ` prefix:
    /// `validation failed: <errors joined by "; ">`.
    pub fn prepare(&self, params: Map<String, Value>) -> Result<Map<String, Value>, String> {
        let mut all = self.defaults.clone();
        all.extend(params);
        let instance = Value::Object(all);
        let errors: Vec<String> = self
            .validator
            .iter_errors(&instance)
            .map(|error| {
                let mut context = String::from("(root)");
                for segment in error.instance_path() {
                    context.push('.');
                    context.push_str(&match segment {
                        LocationSegment::Property(name) => name.to_string(),
                        LocationSegment::Index(index) => index.to_string(),
                    });
                }
                let description = juju_description(error.kind(), error.instance())
                    .unwrap_or_else(|| error.to_string());
                format!("{context} : {description}")
            })
            .collect();
        match instance {
            Value::Object(all) if errors.is_empty() => Ok(all),
            _ => Err(format!("validation failed: {}", errors.join("; "))),
        }
    }
}

/// gojsonschema's text for the errors actions meet most, as Juju prints them; `None`
/// where the validator's own text stands.
fn juju_description(kind: &ValidationErrorKind, instance: &Value) -> Option<String> {
    Some(match kind {
        ValidationErrorKind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| format!("additional property {name:?} is not allowed"))
            .collect::<Vec<_>>()
            .join(", "),
        ValidationErrorKind::Required { property } => {
            format!("{} property is missing", property)
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(single) => single.to_string(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join("/"),
            };
            format!(
                "invalid type. Expected: {expected}, given: {}",
                json_type(instance)
            )
        }
        ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::OneOfMultipleValid { .. } => {
            "must validate one and only one schema (oneOf)".into()
        }
        ValidationErrorKind::Enum { options } => {
            let allowed: Vec<String> = match &**options {
                Value::Array(values) => values.iter().map(Value::to_string).collect(),
                other => vec![other.to_string()],
            };
            format!("must be one of the following: {}", allowed.join(", "))
        }
        ValidationErrorKind::Pattern { pattern } => format!("does not match pattern '{pattern}'"),
        ValidationErrorKind::MinLength { limit } => {
            format!("string length must be greater than or equal to {limit}")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("string length must be less than or equal to {limit}")
        }
        _ => return None,
    })
}

/// A JSON value's type as gojsonschema names it (a whole number is an `integer`).
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ACTIONS: &str = r#"
backup:
  description: Back up.
  params:
    timeout:
      type: number
      default: 30
    target:
      type: string
    email:
      type: string
      minLength: 1
  required: [email]
  additionalProperties: false
open:
  params:
    anything:
      type: string
lookup:
  params:
    identity-id: {type: string, pattern: "^[0-9]+$"}
    email: {type: string}
  oneOf:
    - required: [identity-id]
    - required: [email]
  additionalProperties: false
"#;

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    fn prepare(action: &str, given: Value) -> Result<Map<String, Value>, String> {
        let schemas = ActionSchemas::parse(ACTIONS).unwrap();
        schemas.get(action).unwrap().prepare(params(given))
    }

    #[test]
    fn defaults_fill_in_and_given_values_win() {
        assert_eq!(
            prepare("backup", json!({"email": "a@b"})).unwrap(),
            params(json!({"email": "a@b", "timeout": 30}))
        );
        assert_eq!(
            prepare("backup", json!({"email": "a@b", "timeout": 5.5})).unwrap()["timeout"],
            5.5
        );
    }

    #[test]
    fn errors_read_as_juju_prints_them() {
        assert_eq!(
            prepare("backup", json!({"email": "a@b", "foo": 1})).unwrap_err(),
            r#"validation failed: (root) : additional property "foo" is not allowed"#
        );
        assert_eq!(
            prepare("backup", json!({"email": "a@b", "timeout": "soon"})).unwrap_err(),
            "validation failed: (root).timeout : invalid type. Expected: number, given: string"
        );
        assert_eq!(
            prepare("backup", json!({})).unwrap_err(),
            r#"validation failed: (root) : "email" property is missing"#
        );
        let both = prepare("backup", json!({"target": 1})).unwrap_err();
        assert!(
            both.contains(r#"(root) : "email" property is missing"#)
                && both.contains("(root).target : invalid type. Expected: string, given: integer")
                && both.contains("; "),
            "{both}"
        );
        assert_eq!(
            prepare("lookup", json!({})).unwrap_err(),
            "validation failed: (root) : must validate one and only one schema (oneOf)"
        );
        assert_eq!(
            prepare("open", json!({"anything": "x", "mode": "fast"}))
                .map(|p| p.len())
                .unwrap(),
            2
        );
        assert!(prepare("lookup", json!({"identity-id": "x1"}))
            .unwrap_err()
            .contains("(root).identity-id : does not match pattern '^[0-9]+$'"));
    }

    #[test]
    fn additional_properties_are_allowed_unless_the_action_says_false() {
        assert_eq!(
            prepare("open", json!({"other": [1]})).unwrap(),
            params(json!({"other": [1]}))
        );
    }

    #[test]
    fn a_schema_that_does_not_compile_rejects_the_charm() {
        let err = ActionSchemas::parse("bad:\n  params:\n    x: {type: 5}\n").unwrap_err();
        assert!(err.contains("action bad"), "{err}");
    }
}
