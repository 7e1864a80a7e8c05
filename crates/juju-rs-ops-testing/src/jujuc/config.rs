//! `config-get`.

use super::*;

impl Call<'_> {
    pub(super) fn config_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, boolean(&["a", "all"])], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(1)?;
        let all = a.bool("a")?;
        match a.positional.first() {
            Some(key) if all => Err(ToolFailure::usage(format!(
                "cannot use argument --all together with key {key:?}"
            ))),
            Some(key) => Ok(write(
                format,
                self.st.config.get(key).unwrap_or(&Value::Null),
            )),
            None => Ok(write(format, &to_value(self.st.config.clone()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jujuc::tests::*;

    #[test]
    fn config_get_prints_values_and_missing_keys() {
        let mut st = model();
        let ctx = ToolContext::for_unit("kratos/1");
        let all: Value =
            serde_json::from_str(&stdout(&mut st, &ctx, "config-get", &["--format=json"])).unwrap();
        assert_eq!(
            all,
            json!({"dev": false, "log_level": "info", "port": 4433})
        );
        assert_eq!(stdout(&mut st, &ctx, "config-get", &["port"]), "4433\n");
        assert_eq!(
            stdout(&mut st, &ctx, "config-get", &["nope", "--format", "json"]),
            "null\n"
        );
        assert_eq!(
            failure(&mut st, &ctx, "config-get", &["--format=toml"]).code,
            2
        );
        assert_eq!(
            failure(&mut st, &ctx, "config-get", &["a", "b"]).stderr,
            "ERROR unrecognized args: [\"b\"]\n"
        );
    }
}
