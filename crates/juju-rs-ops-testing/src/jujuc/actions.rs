//! `action-get`, `action-set`, `action-log`, `action-fail`.

use super::*;

impl Call<'_> {
    pub(super) fn action(&mut self) -> Result<&mut ActionRun, ToolFailure> {
        let unit = self.ctx.unit.clone();
        match (&self.ctx.action_name, self.st.action.as_mut()) {
            (Some(_), Some(action)) if action.unit == unit => Ok(action),
            _ => Err(ToolFailure::failed(NOT_RUNNING_ACTION)),
        }
    }

    pub(super) fn action_get(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(1)?;
        let params = Value::Object(self.action()?.params.clone());
        let answer = match a.positional.first() {
            None => params,
            Some(path) => path
                .split('.')
                .try_fold(&params, |v, key| v.get(key))
                .cloned()
                .unwrap_or(Value::Null),
        };
        Ok(write(format, &answer))
    }

    pub(super) fn action_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        let mut pairs = Vec::new();
        for arg in &a.positional {
            let Some((key, value)) = arg.split_once('=') else {
                return Err(ToolFailure::usage(format!(
                    "argument {arg:?} must be of the form key...=value"
                )));
            };
            let keys: Vec<String> = key.split('.').map(String::from).collect();
            for k in &keys {
                if !valid_action_key(k) {
                    return Err(ToolFailure::usage(format!(
                        "key {k:?} must start and end with lowercase alphanumeric, and contain only lowercase alphanumeric, hyphens and periods"
                    )));
                }
                if ["stdout", "stdout-encoding", "stderr", "stderr-encoding"].contains(&k.as_str())
                {
                    return Err(ToolFailure::usage(format!(
                        "cannot set reserved action key {k:?}"
                    )));
                }
            }
            pairs.push((keys, value.to_string()));
        }
        let action = self.action()?;
        for (keys, value) in pairs {
            insert_nested(&mut action.results, &keys, value);
        }
        Ok(Vec::new())
    }

    pub(super) fn action_log(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        if a.positional.is_empty() {
            return Err(ToolFailure::usage("no message specified"));
        }
        let message = a.positional.join(" ");
        self.action()?.logs.push(message);
        Ok(Vec::new())
    }

    pub(super) fn action_fail(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        a.at_most(1)?;
        let message = a.positional.first().cloned().unwrap_or_else(|| {
            "action failed without reason given, check action for errors".into()
        });
        let action = self.action()?;
        action.failed = true;
        action.message = Some(message);
        Ok(Vec::new())
    }
}

pub(super) fn valid_action_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let edge_ok = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && bytes
            .iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

pub(super) fn insert_nested(map: &mut Map<String, Value>, keys: &[String], value: String) {
    let Some((last, parents)) = keys.split_last() else {
        return;
    };
    let mut current = map;
    for key in parents {
        let entry = current
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        current = next;
    }
    current.insert(last.clone(), Value::String(value));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jujuc::tests::*;

    #[test]
    fn action_tools_work_only_inside_actions() {
        let mut st = model();
        let plain = ToolContext::for_unit("kratos/0");
        for (tool, args) in [
            ("action-get", vec![]),
            ("action-set", vec!["a=1"]),
            ("action-log", vec!["m"]),
            ("action-fail", vec![]),
        ] {
            let err = failure(&mut st, &plain, tool, &args);
            assert_eq!(
                (err.code, err.stderr.as_str()),
                (1, "ERROR not running an action\n"),
                "{tool}"
            );
        }
        st.action = Some(ActionRun {
            name: "get-identity".into(),
            id: "7".into(),
            unit: "kratos/0".into(),
            params: json!({"email": "a@b.c", "nested": {"k": 1}})
                .as_object()
                .cloned()
                .unwrap(),
            results: Map::new(),
            failed: false,
            message: None,
            logs: vec![],
        });
        let ctx = ToolContext {
            action_name: Some("get-identity".into()),
            ..plain
        };
        assert_eq!(stdout(&mut st, &ctx, "action-get", &["email"]), "a@b.c\n");
        assert_eq!(
            stdout(&mut st, &ctx, "action-get", &["nested.k", "--format=json"]),
            "1\n"
        );
        run(
            &mut st,
            &ctx,
            "action-set",
            &["identity-id=42", "traits.email=a@b.c", "traits.name=A"],
        )
        .unwrap();
        run(&mut st, &ctx, "action-log", &["--", "working", "hard"]).unwrap();
        run(&mut st, &ctx, "action-fail", &["--", "no such identity"]).unwrap();
        let action = st.action.as_ref().unwrap();
        assert_eq!(
            Value::Object(action.results.clone()),
            json!({"identity-id": "42", "traits": {"email": "a@b.c", "name": "A"}})
        );
        assert_eq!(action.logs, ["working hard"]);
        assert!(action.failed);
        assert_eq!(action.message.as_deref(), Some("no such identity"));
        for bad in ["Key=1", "-a=1", "stdout=x", "noequals"] {
            assert_eq!(
                failure(&mut st, &ctx, "action-set", &[bad]).code,
                2,
                "{bad}"
            );
        }
    }
}
