//! Turning action results into `action-set` arguments.

use std::collections::BTreeMap;

use serde_json::Value;

/// Flattens nested maps into dotted keys (`{"a": {"b": 1}}` -> `a.b`), as ops does for
/// `action-set`, and checks every key against Juju's rule: each dot-separated part
/// starts and ends with a lowercase letter or digit and holds only those and `-`.
///
/// Values become strings: strings as they are, numbers and bools in JSON spelling,
/// `null` as the empty string, lists as JSON text.
///
/// Returns a message naming the key at fault (never the value) when a key is invalid
/// or two keys flatten to the same dotted key (`{"a": {"b": 1}, "a.b": 2}`).
pub(crate) fn flatten_results(
    results: &BTreeMap<String, Value>,
) -> Result<BTreeMap<String, String>, String> {
    let mut flat = BTreeMap::new();
    for (key, value) in results {
        flatten_into(key, value, &mut flat)?;
    }
    Ok(flat)
}

fn flatten_into(
    key: &str,
    value: &Value,
    flat: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    if !is_valid_key(key) {
        return Err(format!(
            "key {key:?} is invalid: each dot-separated part must start and end with a \
             lowercase letter or digit and contain only those and '-'"
        ));
    }
    match value {
        Value::Object(map) => {
            for (child, child_value) in map {
                flatten_into(&format!("{key}.{child}"), child_value, flat)?;
            }
            Ok(())
        }
        _ => {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            if flat.insert(key.to_string(), text).is_some() {
                return Err(format!("duplicate key {key:?} after flattening"));
            }
            Ok(())
        }
    }
}

/// Juju's `action-set` key rule, per dot-separated part:
/// `^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$`.
fn is_valid_key(key: &str) -> bool {
    key.split('.').all(|part| {
        let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        let bytes = part.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(&first), Some(&last)) => {
                alnum(first) && alnum(last) && bytes.iter().all(|&c| alnum(c) || c == b'-')
            }
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn results(value: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn flattens_nested_maps_and_stringifies_values() {
        let flat = flatten_results(&results(json!({
            "identity-id": "abc",
            "a": {"b": 1, "c": {"d": true}},
            "x.y": null,
            "list": [1, "two"],
        })))
        .unwrap();
        let expected: BTreeMap<String, String> = [
            ("identity-id", "abc"),
            ("a.b", "1"),
            ("a.c.d", "true"),
            ("x.y", ""),
            ("list", r#"[1,"two"]"#),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(flat, expected);
    }

    #[test]
    fn rejects_invalid_and_duplicate_keys() {
        for bad in ["Upper", "-lead", "trail-", "a..b", "", "under_score", "a.B"] {
            let err = flatten_results(&results(json!({ bad: 1 }))).unwrap_err();
            assert!(err.contains("invalid"), "{bad}: {err}");
        }
        let err = flatten_results(&results(json!({"a": {"b": 1}, "a.b": 2}))).unwrap_err();
        assert!(err.contains("duplicate key \"a.b\""), "{err}");
        let err = flatten_results(&results(json!({"a": {"Bad": 1}}))).unwrap_err();
        assert!(err.contains("a.Bad"), "{err}");
    }
}
