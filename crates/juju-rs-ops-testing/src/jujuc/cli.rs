//! Command-line parsing, as Juju's gnuflag does it, and output as Juju's `cmd.Output`
//! writes it (smart, YAML, JSON).

use super::*;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Takes {
    Bool,
    Value,
}

/// One flag: its names (the first is canonical; one-letter names take `-x`, longer ones
/// `--name`) and whether it takes a value.
#[derive(Clone, Copy)]
pub(super) struct Flag {
    names: &'static [&'static str],
    takes: Takes,
}

pub(super) const fn value(names: &'static [&'static str]) -> Flag {
    Flag {
        names,
        takes: Takes::Value,
    }
}

pub(super) const fn boolean(names: &'static [&'static str]) -> Flag {
    Flag {
        names,
        takes: Takes::Bool,
    }
}

pub(super) const FORMAT: Flag = value(&["format"]);
pub(super) const RELATION: Flag = value(&["r", "relation"]);
pub(super) const APP: Flag = boolean(&["app"]);
pub(super) const FILE: Flag = value(&["file"]);

/// Parsed arguments: flag values by canonical name (with the spelling used, for error
/// messages) and positional arguments.
pub(super) struct Args {
    pub(super) flags: BTreeMap<&'static str, (String, String)>,
    pub(super) positional: Vec<String>,
}

impl Args {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(|(_, v)| v.as_str())
    }

    pub(super) fn spelled(&self, name: &str) -> String {
        self.flags
            .get(name)
            .map(|(s, _)| s.clone())
            .unwrap_or_else(|| format!("--{name}"))
    }

    /// A boolean flag, parsed as Go's `strconv.ParseBool` does.
    pub(super) fn bool(&self, name: &str) -> Result<bool, ToolFailure> {
        match self.get(name) {
            None => Ok(false),
            Some(v) => parse_go_bool(v).ok_or_else(|| {
                ToolFailure::usage(format!(
                    "invalid value {v:?} for option {}: strconv.ParseBool: parsing {v:?}: invalid syntax",
                    self.spelled(name)
                ))
            }),
        }
    }

    /// Fails with Juju's "unrecognized args" when more than `max` positionals are left.
    pub(super) fn at_most(&self, max: usize) -> Result<(), ToolFailure> {
        match self.positional.get(max..) {
            Some(extra) if !extra.is_empty() => Err(unrecognized(extra)),
            _ => Ok(()),
        }
    }
}

pub(super) fn parse_go_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

pub(super) fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(" "))
}

pub(super) fn unrecognized(extra: &[String]) -> ToolFailure {
    ToolFailure::usage(format!("unrecognized args: {}", go_quote_list(extra)))
}

pub(super) fn parse_args(flags: &[Flag], args: &[String]) -> Result<Args, ToolFailure> {
    let mut parsed = Args {
        flags: BTreeMap::new(),
        positional: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" {
            parsed.positional.extend(args[i..].iter().cloned());
            break;
        }
        let (dashes, body) = if let Some(body) = arg.strip_prefix("--") {
            (2, body)
        } else if let Some(body) = arg.strip_prefix('-').filter(|b| !b.is_empty()) {
            (1, body)
        } else {
            parsed.positional.push(arg.clone());
            continue;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let spelled = format!("{}{name}", "-".repeat(dashes));
        let wanted_dashes = |n: &str| if n.len() == 1 { 1 } else { 2 };
        let flag = flags
            .iter()
            .find(|f| {
                f.names
                    .iter()
                    .any(|n| *n == name && wanted_dashes(n) == dashes)
            })
            .ok_or_else(|| {
                ToolFailure::usage(format!("option provided but not defined: {spelled}"))
            })?;
        let value = match (flag.takes, inline) {
            (_, Some(v)) => v,
            (Takes::Bool, None) => "true".to_string(),
            (Takes::Value, None) => {
                let v = args.get(i).cloned().ok_or_else(|| {
                    ToolFailure::usage(format!("option needs an argument: {spelled}"))
                })?;
                i += 1;
                v
            }
        };
        parsed.flags.insert(flag.names[0], (spelled, value));
    }
    Ok(parsed)
}

/// Output formats as Juju's `cmd.Output` writes them.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Smart,
    Yaml,
    Json,
}

pub(super) const SMART_FORMATS: &[&str] = &["smart", "yaml", "json"];
pub(super) const YAML_FORMATS: &[&str] = &["yaml", "json"];

pub(super) fn format_of(
    args: &Args,
    allowed: &[&str],
    default: Format,
) -> Result<Format, ToolFailure> {
    let Some(name) = args.get("format") else {
        return Ok(default);
    };
    let known = match name {
        "smart" => Some(Format::Smart),
        "yaml" => Some(Format::Yaml),
        "json" => Some(Format::Json),
        _ => None,
    };
    match known {
        Some(f) if allowed.contains(&name) => Ok(f),
        _ => Err(ToolFailure::usage(format!(
            "invalid value {name:?} for option --format: unknown format {name:?}"
        ))),
    }
}

pub(super) fn write(format: Format, value: &Value) -> Vec<u8> {
    let text = match format {
        Format::Json => format!("{value}\n"),
        Format::Yaml => yaml(value),
        Format::Smart => smart(value),
    };
    text.into_bytes()
}

pub(super) fn yaml(value: &Value) -> String {
    if value.is_null() {
        return String::new();
    }
    // Serialising a JSON value to YAML cannot fail: every JSON value is YAML.
    serde_yaml_ng::to_string(value).unwrap_or_default()
}

/// Juju's FormatSmart: strings as they are, lists of strings one per line, booleans as
/// `True`/`False`, nothing for null or "", anything else as YAML.
pub(super) fn smart(value: &Value) -> String {
    let text = match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        other => return yaml(other),
    };
    if text.is_empty() {
        text
    } else {
        text + "\n"
    }
}

/// `key=value` arguments (Juju's `keyvalues.Parse` with empty values allowed).
pub(super) fn key_values(args: &[String]) -> Result<BTreeMap<String, String>, ToolFailure> {
    let mut out = BTreeMap::new();
    for arg in args {
        let Some((k, v)) = arg.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(ToolFailure::usage(format!(
                "expected \"key=value\", got {arg:?}"
            )));
        };
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(ToolFailure::usage(format!(
                "key {k:?} specified more than once"
            )));
        }
    }
    Ok(out)
}

/// A YAML (or JSON) map of scalars, read as Juju's yaml.v2 reads it into a
/// `map[string]string`: scalars become their text, null becomes "".
pub(super) fn settings_from_yaml(data: &[u8]) -> Result<BTreeMap<String, String>, ToolFailure> {
    let text = String::from_utf8_lossy(data);
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&text).map_err(|e| ToolFailure::failed(format!("yaml: {e}")))?;
    let map = match doc {
        serde_yaml_ng::Value::Null => return Ok(BTreeMap::new()),
        serde_yaml_ng::Value::Mapping(map) => map,
        other => {
            return Err(ToolFailure::failed(format!(
                "yaml: unmarshal errors:\n  cannot unmarshal !!{} into map[string]string",
                yaml_kind(&other)
            )))
        }
    };
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let key = yaml_scalar(&k).ok_or_else(|| {
            ToolFailure::failed(format!(
                "yaml: unmarshal errors:\n  cannot unmarshal !!{} into string",
                yaml_kind(&k)
            ))
        })?;
        let value = yaml_scalar(&v).ok_or_else(|| {
            ToolFailure::failed(format!(
                "yaml: unmarshal errors:\n  cannot unmarshal !!{} into string",
                yaml_kind(&v)
            ))
        })?;
        out.insert(key, value);
    }
    Ok(out)
}

pub(super) fn yaml_kind(v: &serde_yaml_ng::Value) -> &'static str {
    match v {
        serde_yaml_ng::Value::Sequence(_) => "seq",
        serde_yaml_ng::Value::Mapping(_) => "map",
        serde_yaml_ng::Value::Bool(_) => "bool",
        serde_yaml_ng::Value::Number(_) => "int",
        serde_yaml_ng::Value::Null => "null",
        _ => "str",
    }
}

pub(super) fn yaml_scalar(v: &serde_yaml_ng::Value) -> Option<String> {
    match v {
        serde_yaml_ng::Value::Null => Some(String::new()),
        serde_yaml_ng::Value::Bool(b) => Some(b.to_string()),
        serde_yaml_ng::Value::Number(n) => Some(n.to_string()),
        serde_yaml_ng::Value::String(s) => Some(s.clone()),
        serde_yaml_ng::Value::Tagged(t) => yaml_scalar(&t.value),
        _ => None,
    }
}

pub(super) fn to_value<K: Into<String>, V: Into<Value>>(
    map: impl IntoIterator<Item = (K, V)>,
) -> Value {
    Value::Object(map.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jujuc::tests::*;

    #[test]
    fn parses_flags_as_gnuflag_does() {
        let a = parse_args(
            &[FORMAT, RELATION, APP],
            &s(&["-", "--app", "-r", "db:3", "x", "--format=json"]),
        )
        .unwrap();
        assert_eq!(a.positional, ["-", "x"]);
        assert_eq!(a.get("r"), Some("db:3"));
        assert_eq!(a.get("format"), Some("json"));
        assert!(a.bool("app").unwrap());
        let a = parse_args(&[APP], &s(&["--app=False", "--", "--not-a-flag"])).unwrap();
        assert!(!a.bool("app").unwrap());
        assert_eq!(a.positional, ["--not-a-flag"]);
        let err = parse_args(&[APP], &s(&["--bogus"])).err().unwrap();
        assert_eq!(
            (err.code, err.stderr.as_str()),
            (2, "ERROR option provided but not defined: --bogus\n")
        );
        let err = parse_args(&[RELATION], &s(&["-r"])).err().unwrap();
        assert!(err.stderr.contains("option needs an argument: -r"), "{err}");
        // A one-letter flag needs one dash and a long one two.
        assert!(parse_args(&[RELATION], &s(&["--r", "1"])).is_err());
        assert!(parse_args(&[FORMAT], &s(&["-format", "json"])).is_err());
        let a = parse_args(&[APP], &s(&["--app=maybe"])).unwrap();
        assert_eq!(a.bool("app").err().unwrap().code, 2);
    }

    #[test]
    fn formats_like_juju() {
        assert_eq!(smart(&json!(true)), "True\n");
        assert_eq!(smart(&json!("")), "");
        assert_eq!(smart(&Value::Null), "");
        assert_eq!(smart(&json!(["a:1", "b:2"])), "a:1\nb:2\n");
        assert_eq!(smart(&json!({"k": "v"})), "k: v\n");
        assert_eq!(smart(&json!(42)), "42\n");
        assert_eq!(
            write(Format::Json, &json!({"b": 1, "a": "x"})),
            b"{\"a\":\"x\",\"b\":1}\n"
        );
    }
}
