//! The charm's own key-value state: `state-get`, `state-set`, `state-delete`.

use super::*;

impl Call<'_> {
    pub(super) fn state_get(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, boolean(&["strict"])], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(1)?;
        let strict = a.bool("strict")?;
        let state = self.unit()?.state.clone();
        match a.positional.first().filter(|k| *k != "-") {
            None if state.is_empty() => Ok(write(format, &Value::Null)),
            None => Ok(write(format, &to_value(state))),
            Some(key) => match state.get(key) {
                Some(v) => Ok(write(format, &Value::String(v.clone()))),
                None if strict => Err(ToolFailure::failed(format!("{key:?} not found"))),
                None => Ok(write(format, &Value::String(String::new()))),
            },
        }
    }

    pub(super) fn state_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[FILE], args)?;
        let overrides = key_values(&a.positional)?;
        let mut settings = match a.get("file") {
            Some(path) => settings_from_yaml(&self.read_file(path)?)?,
            None => BTreeMap::new(),
        };
        settings.extend(overrides);
        let state = &mut self.unit()?.state;
        for (k, v) in settings {
            if v.is_empty() {
                state.remove(&k);
            } else {
                state.insert(k, v);
            }
        }
        Ok(Vec::new())
    }

    pub(super) fn state_delete(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        let Some(key) = a.positional.first().cloned() else {
            return Err(ToolFailure::usage("no key specified"));
        };
        a.at_most(1)?;
        self.unit()?.state.remove(&key);
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jujuc::tests::*;

    #[test]
    fn state_tools_get_set_and_delete() {
        let mut st = model();
        let ctx = ToolContext::for_unit("kratos/0");
        assert_eq!(
            stdout(&mut st, &ctx, "state-get", &["--format=json"]),
            "null\n"
        );
        run_tool(
            &mut st,
            &ctx,
            "state-set",
            &s(&["--file", "-"]),
            b"{\"k\": \"v\", \"e\": \"x\"}",
        )
        .unwrap();
        run(&mut st, &ctx, "state-set", &["e="]).unwrap();
        assert_eq!(
            stdout(&mut st, &ctx, "state-get", &["--format=json"]),
            "{\"k\":\"v\"}\n"
        );
        assert_eq!(
            stdout(&mut st, &ctx, "state-get", &["--format=json", "gone"]),
            "\"\"\n"
        );
        assert!(failure(&mut st, &ctx, "state-get", &["--strict", "gone"])
            .stderr
            .contains("not found"));
        run(&mut st, &ctx, "state-delete", &["k"]).unwrap();
        assert!(st.units["kratos/0"].state.is_empty());
    }
}
