//! Field-by-field decoding of flat maps (config, action parameters, databags) into the
//! charm's types, so that an error names the option, parameter or key at fault.
//!
//! Two kinds of value are supported:
//! - JSON values (`config-get`, `action-get`): each field is deserialized from its value.
//! - Databag strings (`relation-get`): every value is a string on the wire. A field whose
//!   type wants a string (`String`, `&str`, a unit-only enum spelled bare like `tcp`)
//!   gets the raw string; a field of any other type (numbers, bools, lists, maps,
//!   structs, `serde_json::Value`) gets the string parsed as JSON first. So `"5432"`
//!   fills a `u16`, `'["a","b"]'` a `Vec<String>` and `'{"k":1}'` a struct, while a
//!   `String` field keeps `"5432"` as it is. For untyped targets (`serde_json::Value`,
//!   untagged enums) a value that parses as a JSON number, bool, null, list or object
//!   is that; anything else (including a quoted JSON string) stays the raw string.
//!
//! Error messages never quote string values (they may be secrets): `invalid type:
//! string "hunter2"` becomes `invalid type: a string`. The one exception is an enum
//! variant that does not exist (`unknown variant `verbose`, expected ...`), so an
//! operator sees what they typed in a config option.

use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde_json::Value;

/// A decoding failure, with the top-level key it is about when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// The key at fault; empty when the error is about the map as a whole.
    pub key: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for FieldError {}

impl de::Error for FieldError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        FieldError {
            key: String::new(),
            message: redact_strings(&msg.to_string()),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        FieldError {
            key: field.to_string(),
            message: "missing".to_string(),
        }
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        FieldError {
            key: field.to_string(),
            message: "unknown key".to_string(),
        }
    }
}

/// Decodes a JSON object field by field.
pub(crate) fn from_json_map<T: DeserializeOwned>(
    map: &serde_json::Map<String, Value>,
) -> Result<T, FieldError> {
    T::deserialize(Fields::new(
        map.iter().map(|(k, v)| (k.as_str(), JsonField(v))),
    ))
}

/// Decodes a map of strings field by field (see the module docs for how each value is
/// read).
pub(crate) fn from_string_map<T: DeserializeOwned>(
    map: &std::collections::BTreeMap<String, String>,
) -> Result<T, FieldError> {
    T::deserialize(Fields::new(
        map.iter()
            .map(|(k, v)| (k.as_str(), StringField(v.as_str()))),
    ))
}

/// One value of a flat map, able to feed a deserializer seed.
trait FieldValue<'de> {
    fn deserialize_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, String>;
}

struct JsonField<'de>(&'de Value);

impl<'de> FieldValue<'de> for JsonField<'de> {
    fn deserialize_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, String> {
        seed.deserialize(self.0).map_err(|e| e.to_string())
    }
}

struct StringField<'de>(&'de str);

impl<'de> FieldValue<'de> for StringField<'de> {
    fn deserialize_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, String> {
        seed.deserialize(self).map_err(|e| e.to_string())
    }
}

/// The whole map as a deserializer: it only ever offers a map.
struct Fields<I> {
    iter: I,
}

impl<I> Fields<I> {
    fn new(iter: I) -> Fields<I> {
        Fields { iter }
    }
}

impl<'de, I, F> de::Deserializer<'de> for Fields<I>
where
    I: Iterator<Item = (&'de str, F)>,
    F: FieldValue<'de>,
{
    type Error = FieldError;

    fn deserialize_any<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, FieldError> {
        visitor.visit_map(FieldsAccess {
            iter: self.iter,
            pending: None,
        })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

struct FieldsAccess<'de, I, V> {
    iter: I,
    pending: Option<(&'de str, V)>,
}

impl<'de, I, V> MapAccess<'de> for FieldsAccess<'de, I, V>
where
    I: Iterator<Item = (&'de str, V)>,
    V: FieldValue<'de>,
{
    type Error = FieldError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FieldError> {
        let Some((key, value)) = self.iter.next() else {
            return Ok(None);
        };
        self.pending = Some((key, value));
        let key_deserializer: BorrowedStrDeserializer<'de, FieldError> =
            BorrowedStrDeserializer::new(key);
        seed.deserialize(key_deserializer).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<S::Value, FieldError> {
        let Some((key, value)) = self.pending.take() else {
            return Err(de::Error::custom("value asked for before its key"));
        };
        value.deserialize_seed(seed).map_err(|message| FieldError {
            key: key.to_string(),
            message: redact_strings(&message),
        })
    }
}

/// Parses a databag string as JSON, for fields that are not strings.
fn parse_json(raw: &str) -> Result<Value, serde_json::Error> {
    serde_json::from_str(raw).map_err(|e| {
        // serde_json's syntax errors carry a position but never the input itself.
        de::Error::custom(format_args!("not valid JSON ({e})"))
    })
}

macro_rules! via_json {
    ($($method:ident)*) => {
        $(
            fn $method<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, serde_json::Error> {
                parse_json(self.0)?.$method(visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for StringField<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, serde_json::Error> {
        match serde_json::from_str::<Value>(self.0) {
            Ok(Value::String(_)) | Err(_) => visitor.visit_borrowed_str(self.0),
            Ok(value) => value.deserialize_any(visitor),
        }
    }

    fn deserialize_str<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, serde_json::Error> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_string<W: Visitor<'de>>(
        self,
        visitor: W,
    ) -> Result<W::Value, serde_json::Error> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_identifier<W: Visitor<'de>>(
        self,
        visitor: W,
    ) -> Result<W::Value, serde_json::Error> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_char<W: Visitor<'de>>(self, visitor: W) -> Result<W::Value, serde_json::Error> {
        visitor.visit_borrowed_str(self.0)
    }

    fn deserialize_option<W: Visitor<'de>>(
        self,
        visitor: W,
    ) -> Result<W::Value, serde_json::Error> {
        // A key that is present has a value: Juju deletes keys set to "".
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<W: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: W,
    ) -> Result<W::Value, serde_json::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<W: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: W,
    ) -> Result<W::Value, serde_json::Error> {
        let trimmed = self.0.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('"') {
            parse_json(self.0)?.deserialize_enum(name, variants, visitor)
        } else {
            let bare: BorrowedStrDeserializer<'de, serde_json::Error> =
                BorrowedStrDeserializer::new(self.0);
            bare.deserialize_enum(name, variants, visitor)
        }
    }

    fn deserialize_unit_struct<W: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: W,
    ) -> Result<W::Value, serde_json::Error> {
        parse_json(self.0)?.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_tuple<W: Visitor<'de>>(
        self,
        len: usize,
        visitor: W,
    ) -> Result<W::Value, serde_json::Error> {
        parse_json(self.0)?.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<W: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: W,
    ) -> Result<W::Value, serde_json::Error> {
        parse_json(self.0)?.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<W: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: W,
    ) -> Result<W::Value, serde_json::Error> {
        parse_json(self.0)?.deserialize_struct(name, fields, visitor)
    }

    via_json! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_bytes
        deserialize_byte_buf deserialize_unit deserialize_seq deserialize_map
    }

    fn deserialize_ignored_any<W: Visitor<'de>>(
        self,
        visitor: W,
    ) -> Result<W::Value, serde_json::Error> {
        // Keys the target type does not know are skipped, whatever they hold.
        visitor.visit_unit()
    }
}

/// Replaces quoted string values in a serde message (`string "…"`, as serde's
/// `Unexpected::Str` prints them) with `a string`, so values never reach errors.
pub(crate) fn redact_strings(message: &str) -> String {
    const MARKER: &str = "string \"";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(MARKER) {
        out.push_str(&rest[..start]);
        let quoted = &rest[start + MARKER.len()..];
        let mut end = None;
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        match end {
            Some(i) => {
                out.push_str("a string");
                rest = &quoted[i + 1..];
            }
            None => {
                // Not a quoted value after all: keep the text as it is.
                out.push_str(MARKER);
                rest = quoted;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Proto {
        Tcp,
        Udp,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        a: u8,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Typed {
        name: String,
        port: u16,
        enabled: bool,
        hosts: Vec<String>,
        inner: Inner,
        proto: Proto,
        digits: String,
        maybe: Option<u32>,
        absent: Option<String>,
        any: Value,
    }

    fn bag(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn string_map_decodes_each_field_by_its_type() {
        let decoded: Typed = from_string_map(&bag(&[
            ("name", "kratos"),
            ("port", "5432"),
            ("enabled", "true"),
            ("hosts", r#"["a","b"]"#),
            ("inner", r#"{"a": 7}"#),
            ("proto", "udp"),
            ("digits", "0042"),
            ("maybe", "9"),
            ("any", r#"{"x":[1]}"#),
            ("ignored", "whatever"),
        ]))
        .unwrap();
        assert_eq!(
            decoded,
            Typed {
                name: "kratos".into(),
                port: 5432,
                enabled: true,
                hosts: vec!["a".into(), "b".into()],
                inner: Inner { a: 7 },
                proto: Proto::Udp,
                digits: "0042".into(),
                maybe: Some(9),
                absent: None,
                any: serde_json::json!({"x": [1]}),
            }
        );
    }

    #[test]
    fn string_map_errors_name_the_key_and_hide_the_value() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Port {
            port: u16,
        }
        let err = from_string_map::<Port>(&bag(&[("port", "hunter2")])).unwrap_err();
        assert_eq!(err.key, "port");
        assert!(err.message.contains("not valid JSON"), "{err}");
        assert!(!err.message.contains("hunter2"), "{err}");

        let err = from_string_map::<Port>(&bag(&[("port", r#""secret""#)])).unwrap_err();
        assert_eq!(err.key, "port");
        assert!(err.message.contains("invalid type: a string"), "{err}");
        assert!(!err.message.contains("secret"), "{err}");

        let err = from_string_map::<Port>(&bag(&[])).unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.message.as_str()),
            ("port", "missing")
        );
    }

    #[test]
    fn json_map_errors_name_the_key() {
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Config {
            log_level: Proto,
            #[serde(default)]
            count: u8,
        }
        let map = |v: Value| v.as_object().cloned().unwrap();
        let err =
            from_json_map::<Config>(&map(serde_json::json!({"log_level": "sctp"}))).unwrap_err();
        assert_eq!(err.key, "log_level");
        assert!(err.message.contains("unknown variant"), "{err}");

        let err =
            from_json_map::<Config>(&map(serde_json::json!({"log_level": "tcp", "count": 300})))
                .unwrap_err();
        assert_eq!(err.key, "count");

        let err =
            from_json_map::<Config>(&map(serde_json::json!({"log_level": "tcp", "bogus": 1})))
                .unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.message.as_str()),
            ("bogus", "unknown key")
        );
    }

    #[test]
    fn redaction_handles_escapes_and_leaves_other_text() {
        assert_eq!(
            redact_strings(r#"invalid type: string "a\"b", expected u16"#),
            "invalid type: a string, expected u16"
        );
        assert_eq!(redact_strings("expected a string"), "expected a string");
        assert_eq!(
            redact_strings("string \"unterminated"),
            "string \"unterminated"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Typed {
            port: u16,
            enabled: Option<bool>,
            hosts: Option<Vec<u8>>,
        }

        /// A secret-like value: a `#` in the middle, which no message of serde's holds.
        fn secret() -> impl Strategy<Value = String> {
            "[A-Za-z0-9 ]{1,8}#[A-Za-z0-9 ]{1,8}"
        }

        proptest! {
            /// Whatever a databag or config value holds, a decoding error names its key and
            /// never quotes the value (as a bare string, a JSON string, inside a list or a
            /// map). Enum fields are left out: an unknown variant is quoted on purpose.
            #[test]
            fn errors_never_quote_values(
                secret in secret(),
                key in prop::sample::select(vec!["port", "enabled", "hosts"]),
                shape in 0..4usize,
            ) {
                let raw = match shape {
                    0 => secret.clone(),
                    1 => Value::String(secret.clone()).to_string(),
                    2 => serde_json::json!([secret, 1]).to_string(),
                    _ => format!("{{\"{secret}\": 1}}"),
                };
                let mut bag = BTreeMap::from([("port".to_string(), "1".to_string())]);
                bag.insert(key.to_string(), raw.clone());
                if let Err(err) = from_string_map::<Typed>(&bag) {
                    prop_assert!(!err.to_string().contains(&secret), "{err}");
                }
                let mut json = serde_json::Map::from_iter([("port".to_string(), Value::from(1))]);
                json.insert(key.to_string(), serde_json::from_str(&raw).unwrap_or(Value::String(raw)));
                if let Err(err) = from_json_map::<Typed>(&json) {
                    prop_assert!(!err.to_string().contains(&secret), "{err}");
                }
            }
        }
    }
}
