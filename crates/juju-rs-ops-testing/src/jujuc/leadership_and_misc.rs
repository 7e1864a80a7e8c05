//! Leadership (`is-leader`, `leader-get`, `leader-set`) and the tools that fit no
//! family: `unit-get`, `resource-get`, `goal-state`.

use super::*;

impl Call<'_> {
    pub(super) fn is_leader(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(0)?;
        Ok(write(
            format,
            &Value::Bool(self.st.is_leader(&self.ctx.unit)),
        ))
    }

    pub(super) fn leader_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(1)?;
        match a.positional.first().filter(|k| *k != "-") {
            Some(key) => Ok(write(
                format,
                &self
                    .st
                    .leader_settings
                    .get(key)
                    .map(|v| Value::String(v.clone()))
                    .unwrap_or(Value::Null),
            )),
            None => Ok(write(format, &to_value(self.st.leader_settings.clone()))),
        }
    }

    pub(super) fn leader_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        let settings = key_values(&a.positional)?;
        if !self.leader() {
            return Err(ToolFailure::failed(
                "cannot write leadership settings: cannot write settings: not the leader",
            ));
        }
        for (k, v) in settings {
            if v.is_empty() {
                self.st.leader_settings.remove(&k);
            } else {
                self.st.leader_settings.insert(k, v);
            }
        }
        Ok(Vec::new())
    }

    pub(super) fn unit_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        let Some(setting) = a.positional.first() else {
            return Err(ToolFailure::usage("no setting specified"));
        };
        if setting != "private-address" && setting != "public-address" {
            return Err(ToolFailure::usage(format!("unknown setting {setting:?}")));
        }
        a.at_most(1)?;
        let address = self.address();
        Ok(write(format, &Value::String(address)))
    }

    pub(super) fn resource_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        let Some(name) = a.positional.first() else {
            return Err(ToolFailure::usage("missing required resource name"));
        };
        a.at_most(1)?;
        match self.st.resources.get(name) {
            Some(path) => Ok(format!("{}\n", path.display()).into_bytes()),
            None => Err(ToolFailure::failed(format!(
                "could not download resource: HTTP request failed: Get https://controller:17070/units/unit-{}/resources/{name}: resource#{}/{name} not found",
                self.ctx.unit.replace('/', "-"),
                self.st.app_name
            ))),
        }
    }

    pub(super) fn goal_state(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, YAML_FORMATS, Format::Yaml)?;
        a.at_most(0)?;
        let since = rfc3339_now().replace('T', " ");
        let goal = || json!({ "status": "active", "since": since });
        let units: Map<String, Value> = self
            .st
            .units
            .iter()
            .map(|(name, unit)| {
                let status = if unit.dying { "dying" } else { "active" };
                (name.clone(), json!({ "status": status, "since": since }))
            })
            .collect();
        let mut relations: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
        for relation in &self.st.relations {
            let entry = relations.entry(relation.endpoint.clone()).or_default();
            entry.insert(relation.remote_app.clone(), goal());
            let members = if relation.is_peer(&self.st.app_name) {
                &relation.local_units
            } else {
                &relation.remote_units
            };
            for unit in members {
                entry.insert(unit.clone(), goal());
            }
        }
        Ok(write(
            format,
            &json!({ "units": units, "relations": relations }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jujuc::tests::*;

    #[test]
    fn other_tools_and_call_records() {
        let mut st = model().with_resource("oci-image", "/tmp/image.json");
        st.bindings.insert("pg-database".into());
        let ctx = ToolContext {
            hook: Some("hooks/install".into()),
            ..ToolContext::for_unit("kratos/1")
        };
        assert_eq!(
            stdout(&mut st, &ctx, "resource-get", &["oci-image"]),
            "/tmp/image.json\n"
        );
        let err = failure(&mut st, &ctx, "resource-get", &["nope"]);
        assert!(err.stderr.contains("not found"), "{err}");
        let net: Value = serde_json::from_str(&stdout(
            &mut st,
            &ctx,
            "network-get",
            &["--format=json", "pg-database"],
        ))
        .unwrap();
        assert_eq!(
            net["bind-addresses"][0]["addresses"][0]["value"],
            "10.1.0.11"
        );
        assert_eq!(net["ingress-addresses"], json!(["10.1.0.11"]));
        assert_eq!(
            stdout(
                &mut st,
                &ctx,
                "network-get",
                &["juju-info", "--ingress-address"]
            ),
            "10.1.0.11\n"
        );
        assert!(failure(&mut st, &ctx, "network-get", &["nope"])
            .stderr
            .contains("no network config found for binding \"nope\""));
        assert!(
            failure(&mut st, &ctx, "network-get", &["pg-database", "-r", "99"])
                .stderr
                .contains("relation not found")
        );
        let goal: Value =
            serde_json::from_str(&stdout(&mut st, &ctx, "goal-state", &["--format=json"])).unwrap();
        assert_eq!(goal["units"].as_object().unwrap().len(), 2);
        assert_eq!(goal["units"]["kratos/1"]["status"], "active");
        st.units.get_mut("kratos/1").unwrap().dying = true;
        let goal: Value =
            serde_json::from_str(&stdout(&mut st, &ctx, "goal-state", &["--format=json"])).unwrap();
        assert_eq!(goal["units"]["kratos/1"]["status"], "dying");
        st.units.get_mut("kratos/1").unwrap().dying = false;
        assert!(
            goal["relations"]["pg-database"]["postgresql-k8s/0"]["since"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        assert_eq!(
            stdout(
                &mut st,
                &ctx,
                "relation-model-get",
                &["-r", "3", "--format=json"]
            ),
            format!("{{\"uuid\":\"{}\"}}\n", st.model_uuid)
        );
        assert!(failure(&mut st, &ctx, "leader-set", &["a=b"])
            .stderr
            .contains("not the leader"));
        run(
            &mut st,
            &ToolContext::for_unit("kratos/0"),
            "leader-set",
            &["a=b"],
        )
        .unwrap();
        assert_eq!(stdout(&mut st, &ctx, "leader-get", &["a"]), "b\n");
        assert!(failure(&mut st, &ctx, "storage-list", &[])
            .stderr
            .contains("not supported"));
        let err = failure(&mut st, &ToolContext::for_unit("ghost/0"), "is-leader", &[]);
        assert_eq!(err.code, 1);
        let calls: Vec<&str> = st
            .tool_calls_of("kratos/1")
            .map(|c| c.tool.as_str())
            .collect();
        assert_eq!(calls.iter().filter(|t| **t == "network-get").count(), 4);
        assert!(st
            .tool_calls_of("kratos/1")
            .all(|c| c.hook == "hooks/install"));
    }

    #[test]
    fn is_leader_answers_per_unit() {
        let mut st = model();
        let ctx = ToolContext::for_unit("kratos/0");
        assert_eq!(stdout(&mut st, &ctx, "is-leader", &[]), "True\n");
        assert_eq!(
            stdout(
                &mut st,
                &ToolContext::for_unit("kratos/1"),
                "is-leader",
                &["--format=json"]
            ),
            "false\n"
        );
    }
}
