//! `relation-ids`, `relation-list`, `relation-get`, `relation-set`, `relation-model-get`,
//! and the `-r` relation lookup the other tools share.

use super::*;

impl Call<'_> {
    /// The relation named by `-r` (any of `endpoint:id` or `id`), else the hook's one.
    /// An unknown relation is a usage error, as Juju checks it while parsing flags.
    pub(super) fn relation_id(&self, a: &Args) -> Result<Option<u32>, ToolFailure> {
        let Some(raw) = a.get("r") else {
            return Ok(self.ctx.relation_id);
        };
        let invalid = |why: &str| {
            ToolFailure::usage(format!(
                "invalid value {raw:?} for option {}: {why}",
                a.spelled("r")
            ))
        };
        let id: u32 = raw
            .rsplit(':')
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| invalid("invalid relation id"))?;
        if self.st.relation(id).is_none() {
            return Err(invalid("relation not found"));
        }
        Ok(Some(id))
    }

    pub(super) fn required_relation(&self, a: &Args) -> Result<u32, ToolFailure> {
        self.relation_id(a)?
            .ok_or_else(|| ToolFailure::usage("no relation id specified"))
    }

    pub(super) fn relation(&self, id: u32) -> Result<&Relation, ToolFailure> {
        self.st
            .relation(id)
            .ok_or_else(|| ToolFailure::failed("relation not found"))
    }

    pub(super) fn relation_mut(&mut self, id: u32) -> Result<&mut Relation, ToolFailure> {
        self.st
            .relation_mut(id)
            .ok_or_else(|| ToolFailure::failed("relation not found"))
    }

    pub(super) fn relation_ids(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(1)?;
        let endpoint = match a.positional.first() {
            Some(name) => name.clone(),
            None => self
                .ctx
                .relation_id
                .and_then(|id| self.st.relation(id))
                .map(|r| r.endpoint.clone())
                .ok_or_else(|| ToolFailure::usage("no endpoint name specified"))?,
        };
        let mut relations: Vec<&Relation> = self.st.relations_on(&endpoint).collect();
        relations.sort_by_key(|r| r.id);
        let ids: Vec<Value> = relations.iter().map(|r| Value::String(r.key())).collect();
        Ok(write(format, &Value::Array(ids)))
    }

    pub(super) fn relation_list(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, RELATION, APP], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(0)?;
        let id = self.required_relation(&a)?;
        let relation = self.relation(id)?;
        if a.bool("app")? {
            return Ok(write(format, &Value::String(relation.remote_app.clone())));
        }
        let members: Vec<Value> = if relation.is_peer(&self.st.app_name) {
            relation
                .local_units
                .iter()
                .filter(|u| **u != self.ctx.unit)
                .map(|u| Value::String(u.clone()))
                .collect()
        } else {
            relation
                .remote_units
                .iter()
                .map(|u| Value::String(u.clone()))
                .collect()
        };
        Ok(write(format, &Value::Array(members)))
    }

    pub(super) fn relation_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, RELATION, APP], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        let id = self.required_relation(&a)?;
        let mut positional = a.positional.iter();
        let key = positional.next().filter(|k| *k != "-").cloned();
        let mut app = a.bool("app")?;
        // Juju's determineUnitOrAppName.
        let target = match positional.next() {
            Some(given) if app && given.contains('/') => unit_app(given).to_string(),
            Some(given) => given.clone(),
            None if app => self
                .ctx
                .remote_app
                .clone()
                .ok_or_else(|| ToolFailure::usage("no unit or application specified"))?,
            None => match (&self.ctx.remote_unit, &self.ctx.remote_app) {
                (Some(unit), _) => unit.clone(),
                (None, Some(remote_app)) => {
                    app = true;
                    remote_app.clone()
                }
                (None, None) => return Err(ToolFailure::usage("no unit or application specified")),
            },
        };
        let rest: Vec<String> = positional.cloned().collect();
        if !rest.is_empty() {
            return Err(unrecognized(&rest));
        }
        let relation = self.relation(id)?;
        let our_app = &self.st.app_name;
        let bag = if app {
            let readable = if target == *our_app {
                relation.is_peer(our_app) || self.leader()
            } else {
                target == relation.remote_app
            };
            if !readable {
                return Err(ToolFailure::failed("permission denied"));
            }
            relation.app_bag(&target)
        } else {
            let known = target == self.ctx.unit
                || relation.unit_data.contains_key(&target)
                || relation.remote_units.contains(&target)
                || relation.local_units.contains(&target);
            if !known {
                return Err(ToolFailure::failed(format!(
                    "cannot read settings for unit {target:?} in relation {:?}: unit {target:?}: settings not found",
                    relation.key()
                )));
            }
            relation.unit_bag(&target)
        };
        match key {
            Some(k) => Ok(write(
                format,
                &bag.get(&k)
                    .map(|v| Value::String(v.clone()))
                    .unwrap_or(Value::Null),
            )),
            None => Ok(write(format, &to_value(bag))),
        }
    }

    pub(super) fn relation_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[RELATION, FILE, APP, FORMAT], args)?;
        let id = self.required_relation(&a)?;
        let overrides = key_values(&a.positional)?;
        let mut settings = match a.get("file") {
            Some(path) => settings_from_yaml(&self.read_file(path)?)?,
            None => BTreeMap::new(),
        };
        settings.extend(overrides);
        let app = a.bool("app")?;
        self.relation(id)?;
        if app && !self.leader() {
            return Err(ToolFailure::failed("cannot write relation settings"));
        }
        let (our_app, unit) = (self.st.app_name.clone(), self.ctx.unit.clone());
        let relation = self.relation_mut(id)?;
        let bag = if app {
            relation.app_data.entry(our_app).or_default()
        } else {
            relation.unit_data.entry(unit).or_default()
        };
        for (k, v) in settings {
            if v.is_empty() {
                bag.remove(&k);
            } else {
                bag.insert(k, v);
            }
        }
        Ok(Vec::new())
    }

    pub(super) fn relation_model_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, RELATION], args)?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(0)?;
        self.required_relation(&a)?;
        Ok(write(format, &json!({ "uuid": self.st.model_uuid })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jujuc::tests::*;

    #[test]
    fn relation_tools_follow_the_hook_context_and_r_flag() {
        let mut st = model();
        let ctx = relation_ctx("kratos/1", Some("postgresql-k8s/0"));
        assert_eq!(
            stdout(&mut st, &ctx, "relation-ids", &[]),
            "pg-database:3\n"
        );
        assert_eq!(
            stdout(
                &mut st,
                &ctx,
                "relation-ids",
                &["kratos-peers", "--format=json"]
            ),
            "[\"kratos-peers:1\"]\n"
        );
        assert_eq!(
            stdout(&mut st, &ctx, "relation-ids", &["nothing", "--format=json"]),
            "[]\n"
        );
        assert_eq!(
            stdout(&mut st, &ctx, "relation-list", &[]),
            "postgresql-k8s/0\n"
        );
        assert_eq!(
            stdout(
                &mut st,
                &ctx,
                "relation-list",
                &["-r", "kratos-peers:1", "--format=json"]
            ),
            "[\"kratos/0\"]\n"
        );
        assert_eq!(
            stdout(
                &mut st,
                &ctx,
                "relation-list",
                &["--app", "-r", "1", "--format=json"]
            ),
            "\"kratos\"\n"
        );
        // Defaults: the remote unit of the hook, then the remote app.
        assert_eq!(
            stdout(&mut st, &ctx, "relation-get", &["endpoints"]),
            "db:5432\n"
        );
        let app_ctx = relation_ctx("kratos/1", None);
        assert_eq!(
            stdout(&mut st, &app_ctx, "relation-get", &["--format=json"]),
            "{\"password\":\"p\",\"username\":\"u\"}\n"
        );
        assert_eq!(
            stdout(
                &mut st,
                &ctx,
                "relation-get",
                &[
                    "--format=json",
                    "-r",
                    "pg-database:3",
                    "--app",
                    "-",
                    "postgresql-k8s"
                ]
            ),
            "{\"password\":\"p\",\"username\":\"u\"}\n"
        );
        assert_eq!(
            stdout(
                &mut st,
                &ctx,
                "relation-get",
                &["--format=json", "missing", "postgresql-k8s/0"]
            ),
            "null\n"
        );
        let err = failure(
            &mut st,
            &ctx,
            "relation-get",
            &["-r", "pg-database:9", "-", "kratos/1"],
        );
        assert_eq!(err.code, 2);
        assert_eq!(
            err.stderr,
            "ERROR invalid value \"pg-database:9\" for option -r: relation not found\n"
        );
        let err = failure(&mut st, &ctx, "relation-list", &["-r", "x"]);
        assert!(err.stderr.contains("invalid relation id"), "{err}");
        let no_rel = ToolContext::for_unit("kratos/0");
        let err = failure(&mut st, &no_rel, "relation-get", &["-", "kratos/0"]);
        assert_eq!(err.stderr, "ERROR no relation id specified\n");
        let err = failure(&mut st, &ctx, "relation-get", &["-", "other/0"]);
        assert!(err.stderr.contains("not found"), "{err}");
    }

    #[test]
    fn relation_set_writes_unit_and_leader_app_bags() {
        let mut st = model();
        let leader = relation_ctx("kratos/0", None);
        let follower = relation_ctx("kratos/1", None);
        run_tool(
            &mut st,
            &leader,
            "relation-set",
            &s(&["--file", "-"]),
            b"{\"a\": \"1\", \"n\": 2, \"t\": true}",
        )
        .unwrap();
        run(&mut st, &leader, "relation-set", &["b=x=y", "a="]).unwrap();
        assert_eq!(
            st.relation(3).unwrap().unit_bag("kratos/0"),
            BTreeMap::from([
                ("b".into(), "x=y".into()),
                ("n".into(), "2".into()),
                ("t".into(), "true".into())
            ])
        );
        run_tool(
            &mut st,
            &leader,
            "relation-set",
            &s(&["-r", "pg-database:3", "--app", "--file", "-"]),
            b"database: kratos\n",
        )
        .unwrap();
        assert_eq!(
            st.relation(3).unwrap().app_bag("kratos")["database"],
            "kratos"
        );
        let err = failure(&mut st, &follower, "relation-set", &["--app", "x=1"]);
        assert_eq!(
            (err.code, err.stderr.as_str()),
            (1, "ERROR cannot write relation settings\n")
        );
        // The follower cannot read our app bag outside a peer relation; the leader can.
        assert_eq!(
            failure(
                &mut st,
                &follower,
                "relation-get",
                &["--app", "-", "kratos"]
            )
            .stderr,
            "ERROR permission denied\n"
        );
        assert_eq!(
            stdout(
                &mut st,
                &leader,
                "relation-get",
                &["--app", "database", "kratos"]
            ),
            "kratos\n"
        );
        for (stdin, want) in [
            (&b"- a\n- list\n"[..], "cannot unmarshal !!seq"),
            (b"a: {b: c}", "cannot unmarshal !!map into string"),
            (b"a: [", "yaml:"),
        ] {
            let err = run_tool(
                &mut st,
                &leader,
                "relation-set",
                &s(&["--file", "-"]),
                stdin,
            )
            .err()
            .unwrap();
            assert_eq!(err.code, 1);
            assert!(err.stderr.contains(want), "{err}");
        }
        assert_eq!(
            failure(&mut st, &leader, "relation-set", &["novalue"]).code,
            2
        );
        let err = failure(&mut st, &leader, "relation-set", &["a=1", "a=2"]);
        assert!(err.stderr.contains("more than once"), "{err}");
        // Peers read each other's data and the shared app bag.
        let peer = ToolContext {
            relation_id: Some(1),
            remote_unit: Some("kratos/0".into()),
            remote_app: Some("kratos".into()),
            ..ToolContext::for_unit("kratos/1")
        };
        run(
            &mut st,
            &ToolContext {
                unit: "kratos/0".into(),
                ..peer.clone()
            },
            "relation-set",
            &["--app", "shared=yes"],
        )
        .unwrap();
        assert_eq!(
            stdout(
                &mut st,
                &peer,
                "relation-get",
                &["--app", "shared", "kratos"]
            ),
            "yes\n"
        );
    }
}
