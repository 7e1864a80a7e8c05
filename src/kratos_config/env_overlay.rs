//! The configuration Kratos actually runs with: the file, with environment variables laid
//! over it the way Kratos (ory/x `configx`) maps them.
//!
//! Kratos lists every path of its configuration schema, and an environment variable sets
//! the path whose name, with `_` and `.` treated alike, equals the variable's name in lower
//! case: `COURIER_SMTP_CONNECTION_URI` sets `courier.smtp.connection_uri`. Keys may contain
//! `_` themselves, so the variable is resolved by walking the schema's `properties` (through
//! `$ref` and `allOf`), not by splitting on `_`. The value is converted by the schema type
//! of the path: strings as they are; numbers, integers and booleans parsed (an unparsable
//! one becomes 0 / false, as Kratos's cast does); arrays and objects decoded from JSON
//! (arrays also from comma-separated text). Variables that name no path are ignored by
//! Kratos; [`overlay_env`] reports them, which catches misspelt variable names in tests.
//!
//! ```ignore
//! let env = BTreeMap::from([("SECRETS_COOKIE".to_string(), r#"["0123456789abcdef"]"#.to_string())]);
//! let effective = effective_config(&file, &env, &schema);
//! assert_eq!(effective["secrets"]["cookie"][0], "0123456789abcdef");
//! ```

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

/// How deep `$ref` chains are followed before giving up (guards against cycles).
const MAX_REF_DEPTH: usize = 32;

/// The result of [`overlay_env`].
#[derive(Debug, Clone, PartialEq)]
pub struct EnvOverlay {
    /// The effective configuration.
    pub config: Value,
    /// Variables that name no configuration path (Kratos ignores them), in name order.
    pub unmapped: Vec<String>,
}

/// The effective configuration: `file` with `env` laid over it, resolving variable names
/// against `schema` (local `$ref`s only; see [`overlay_env`] for schemas that reference
/// others, such as Kratos's `ory://tracing-config`).
pub fn effective_config(file: &Value, env: &BTreeMap<String, String>, schema: &Value) -> Value {
    overlay_env(file, env, schema, &BTreeMap::new()).config
}

/// Like [`effective_config`], following `$ref`s to the schemas in `external` (keyed by their
/// id, e.g. `ory://tracing-config`), and reporting variables that name no path.
pub fn overlay_env(
    file: &Value,
    env: &BTreeMap<String, String>,
    schema: &Value,
    external: &BTreeMap<String, Value>,
) -> EnvOverlay {
    let resolver = Resolver { external };
    let mut config = file.clone();
    let mut unmapped = Vec::new();
    for (name, raw) in env {
        let tokens: Vec<String> = name.to_lowercase().split('_').map(str::to_string).collect();
        let mut matches = Vec::new();
        resolver.find_paths(schema, schema, &tokens, &mut Vec::new(), 0, &mut matches);
        // Kratos takes the first match in its sorted path list.
        matches.sort_by_key(|(path, _, _)| path.join("."));
        match matches.into_iter().next() {
            Some((path, leaf, document)) => {
                set_path(&mut config, &path, convert(raw, leaf, document, &resolver))
            }
            None => unmapped.push(name.clone()),
        }
    }
    EnvOverlay { config, unmapped }
}

struct Resolver<'a> {
    external: &'a BTreeMap<String, Value>,
}

impl<'a> Resolver<'a> {
    /// Follows `$ref` (local JSON pointers and external schema ids) to the schema it names.
    /// `document` is the schema document `node` belongs to (local pointers resolve in it);
    /// the document of the result is returned alongside.
    fn resolve(&self, mut node: &'a Value, mut document: &'a Value) -> (&'a Value, &'a Value) {
        for _ in 0..MAX_REF_DEPTH {
            let Some(reference) = node.get("$ref").and_then(Value::as_str) else {
                break;
            };
            let (base, fragment) = reference.split_once('#').unwrap_or((reference, ""));
            let target_document = if base.is_empty() {
                document
            } else {
                match self.external.get(base) {
                    Some(schema) => schema,
                    None => break,
                }
            };
            match target_document.pointer(fragment) {
                Some(target) => {
                    node = target;
                    document = target_document;
                }
                None => break,
            }
        }
        (node, document)
    }

    fn find_paths(
        &self,
        node: &'a Value,
        document: &'a Value,
        tokens: &[String],
        path: &mut Vec<String>,
        depth: usize,
        matches: &mut Vec<(Vec<String>, &'a Value, &'a Value)>,
    ) {
        let (node, document) = self.resolve(node, document);
        if tokens.is_empty() {
            matches.push((path.clone(), node, document));
            return;
        }
        if depth > MAX_REF_DEPTH {
            return;
        }
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            for (name, child) in properties {
                let name_tokens: Vec<&str> = name.split('_').collect();
                let consumed = name_tokens.len();
                let fits = tokens.len() >= consumed
                    && name_tokens
                        .iter()
                        .zip(tokens)
                        .all(|(expected, token)| *expected == token);
                if fits {
                    path.push(name.clone());
                    self.find_paths(
                        child,
                        document,
                        &tokens[consumed..],
                        path,
                        depth + 1,
                        matches,
                    );
                    path.pop();
                }
            }
        }
        if let Some(parts) = node.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.find_paths(part, document, tokens, path, depth + 1, matches);
            }
        }
    }
}

fn convert(raw: &str, leaf: &Value, document: &Value, resolver: &Resolver<'_>) -> Value {
    match leaf.get("type").and_then(Value::as_str) {
        Some("boolean") => Value::Bool(parse_go_bool(raw)),
        Some("integer") => Value::Number(raw.trim().parse::<i64>().unwrap_or(0).into()),
        Some("number") => Number::from_f64(raw.trim().parse::<f64>().unwrap_or(0.0))
            .map_or(Value::Null, Value::Number),
        Some("array") => match serde_json::from_str::<Value>(raw) {
            Ok(value @ (Value::Array(_) | Value::Object(_))) => value,
            Ok(_) => Value::Null,
            Err(_) => {
                let item_type = leaf
                    .get("items")
                    .map(|items| resolver.resolve(items, document).0)
                    .and_then(|items| items.get("type"))
                    .cloned();
                let item_schema = serde_json::json!({ "type": item_type });
                Value::Array(
                    raw.split(',')
                        .map(|part| convert(part.trim(), &item_schema, document, resolver))
                        .collect(),
                )
            }
        },
        Some("object") => match serde_json::from_str::<Value>(raw) {
            Ok(value @ (Value::Array(_) | Value::Object(_))) => value,
            _ => Value::Null,
        },
        _ => Value::String(raw.to_string()),
    }
}

/// Go's `strconv.ParseBool`, with Kratos's fallback of `false` for anything else.
fn parse_go_bool(raw: &str) -> bool {
    matches!(raw, "1" | "t" | "T" | "TRUE" | "true" | "True")
}

/// Sets `path` in `config`, creating objects on the way; objects are merged into existing
/// objects (as Kratos's loader merges maps), anything else replaces what was there.
fn set_path(config: &mut Value, path: &[String], value: Value) {
    match path.split_first() {
        None => merge(config, value),
        Some((key, rest)) => {
            if !config.is_object() {
                *config = Value::Object(Map::new());
            }
            if let Value::Object(map) = config {
                set_path(map.entry(key.clone()).or_insert(Value::Null), rest, value);
            }
        }
    }
}

fn merge(slot: &mut Value, value: Value) {
    match (slot, value) {
        (Value::Object(existing), Value::Object(incoming)) => {
            for (key, incoming_value) in incoming {
                merge(existing.entry(key).or_insert(Value::Null), incoming_value);
            }
        }
        (slot, value) => *slot = value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn schema() -> Value {
        json!({
            "definitions": {
                "url": {"type": "string", "format": "uri"},
                "smtp": {
                    "type": "object",
                    "properties": {
                        "connection_uri": {"$ref": "#/definitions/url"},
                        "port": {"type": "integer"}
                    }
                }
            },
            "properties": {
                "dsn": {"type": "string"},
                "dev": {"type": "boolean"},
                "courier": {"type": "object", "properties": {"smtp": {"$ref": "#/definitions/smtp"}}},
                "secrets": {"type": "object", "properties": {"cookie": {"type": "array", "items": {"type": "string"}}}},
                "ratio": {"type": "number"},
                "headers": {"type": "object"},
                "tracing": {"$ref": "ory://tracing-config"},
                "composite": {"allOf": [{"properties": {"a_b": {"type": "boolean"}}}]}
            }
        })
    }

    fn tracing() -> BTreeMap<String, Value> {
        BTreeMap::from([(
            "ory://tracing-config".to_string(),
            json!({
                "definitions": {"ratio": {"type": "number"}},
                "properties": {"providers": {"properties": {"otlp": {"properties": {
                    "server_url": {"type": "string"},
                    "sampling": {"properties": {"sampling_ratio": {"$ref": "#/definitions/ratio"}}}
                }}}}}
            }),
        )])
    }

    #[test]
    fn keys_with_underscores_resolve_by_walking_the_schema() {
        let result = overlay_env(
            &json!({"courier": {"smtp": {"from": "kept"}}}),
            &env(&[
                ("COURIER_SMTP_CONNECTION_URI", "smtp://mail:25/"),
                ("COURIER_SMTP_PORT", "2525"),
                ("DSN", "postgres://u:p@h/db"),
            ]),
            &schema(),
            &BTreeMap::new(),
        );
        assert_eq!(
            result.config,
            json!({
                "dsn": "postgres://u:p@h/db",
                "courier": {"smtp": {"from": "kept", "connection_uri": "smtp://mail:25/", "port": 2525}}
            })
        );
        assert!(result.unmapped.is_empty());
    }

    #[test]
    fn values_are_typed_by_the_schema() {
        let effective = effective_config(
            &json!({"dev": false, "secrets": {"cookie": ["old-old-old-old-1"]}}),
            &env(&[
                ("DEV", "true"),
                (
                    "SECRETS_COOKIE",
                    r#"["0123456789abcdef", "fedcba9876543210"]"#,
                ),
                ("RATIO", "0.5"),
                ("HEADERS", r#"{"X-A": "1"}"#),
                ("COMPOSITE_A_B", "1"),
            ]),
            &schema(),
        );
        assert_eq!(effective["dev"], json!(true));
        assert_eq!(
            effective["secrets"]["cookie"],
            json!(["0123456789abcdef", "fedcba9876543210"])
        );
        assert_eq!(effective["ratio"], json!(0.5));
        assert_eq!(effective["headers"], json!({"X-A": "1"}));
        assert_eq!(effective["composite"]["a_b"], json!(true));
    }

    #[test]
    fn unparsable_scalars_fall_back_like_kratos_and_lists_split_on_commas() {
        let effective = effective_config(
            &json!({}),
            &env(&[
                ("DEV", "yes"),
                ("COURIER_SMTP_PORT", "x"),
                ("SECRETS_COOKIE", "a, b"),
            ]),
            &schema(),
        );
        assert_eq!(effective["dev"], json!(false));
        assert_eq!(effective["courier"]["smtp"]["port"], json!(0));
        assert_eq!(effective["secrets"]["cookie"], json!(["a", "b"]));
    }

    #[test]
    fn external_refs_are_followed_and_unknown_names_reported() {
        let result = overlay_env(
            &json!({}),
            &env(&[
                ("TRACING_PROVIDERS_OTLP_SERVER_URL", "tempo:4318"),
                ("TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO", "1.0"),
                ("HTTP_PROXY", "http://proxy:3128"),
                ("DSN_TYPO", "x"),
            ]),
            &schema(),
            &tracing(),
        );
        assert_eq!(
            result.config["tracing"]["providers"]["otlp"],
            json!({"server_url": "tempo:4318", "sampling": {"sampling_ratio": 1.0}})
        );
        assert_eq!(result.unmapped, ["DSN_TYPO", "HTTP_PROXY"]);

        // Without the external schema the tracing variables cannot be resolved.
        let result = overlay_env(
            &json!({}),
            &env(&[("TRACING_PROVIDERS_OTLP_SERVER_URL", "tempo:4318")]),
            &schema(),
            &BTreeMap::new(),
        );
        assert_eq!(result.unmapped, ["TRACING_PROVIDERS_OTLP_SERVER_URL"]);
    }

    #[test]
    fn an_object_variable_merges_into_the_file() {
        let effective = effective_config(
            &json!({"courier": {"smtp": {"port": 25, "connection_uri": "smtp://a/"}}}),
            &env(&[("COURIER_SMTP", r#"{"port": 587}"#)]),
            &schema(),
        );
        assert_eq!(
            effective["courier"]["smtp"],
            json!({"port": 587, "connection_uri": "smtp://a/"})
        );
    }

    #[test]
    fn a_scalar_in_the_way_is_replaced() {
        let effective = effective_config(
            &json!({"courier": "oops"}),
            &env(&[("COURIER_SMTP_PORT", "25")]),
            &schema(),
        );
        assert_eq!(effective["courier"], json!({"smtp": {"port": 25}}));
    }
}
