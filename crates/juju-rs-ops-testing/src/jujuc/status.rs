//! What a unit reports: `status-get`, `status-set`, `application-version-set`, `juju-log`.

use super::*;

impl Call<'_> {
    pub(super) fn status_get(&self, args: &[String]) -> Out {
        let a = parse_args(
            &[
                FORMAT,
                boolean(&["include-data"]),
                boolean(&["application"]),
            ],
            args,
        )?;
        let format = format_of(&a, SMART_FORMATS, Format::Smart)?;
        a.at_most(0)?;
        let include_data = a.bool("include-data")?;
        let details = |s: &crate::state::StatusRecord| {
            let mut d = Map::new();
            d.insert("status".into(), s.status.clone().into());
            if include_data {
                d.insert("message".into(), s.message.clone().into());
                d.insert("status-data".into(), json!({}));
            }
            Value::Object(d)
        };
        let plain = !include_data && format == Format::Smart;
        if a.bool("application")? {
            if !self.leader() {
                return Err(ToolFailure::failed(format!(
                    "finding application status: {NOT_LEADER}"
                )));
            }
            if plain {
                return Ok(write(format, &self.st.app_status.status.clone().into()));
            }
            let mut app = details(&self.st.app_status);
            let units: Map<String, Value> = self
                .st
                .units
                .iter()
                .map(|(name, u)| (name.clone(), details(&u.status)))
                .collect();
            if let Value::Object(m) = &mut app {
                m.insert("units".into(), Value::Object(units));
            }
            return Ok(write(format, &json!({ "application-status": app })));
        }
        let status = self
            .st
            .units
            .get(&self.ctx.unit)
            .map(|u| u.status.clone())
            .unwrap_or_default();
        if plain {
            return Ok(write(format, &status.status.into()));
        }
        Ok(write(format, &details(&status)))
    }

    pub(super) fn status_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[boolean(&["application"])], args)?;
        let Some(status) = a.positional.first() else {
            return Err(ToolFailure::usage(
                "invalid args, require <status> [message] [data]",
            ));
        };
        const VALID: [&str; 4] = ["maintenance", "blocked", "waiting", "active"];
        if !VALID.contains(&status.as_str()) {
            return Err(ToolFailure::usage(format!(
                "invalid status {status:?}, expected one of [{}]",
                VALID.join(" ")
            )));
        }
        a.at_most(2)?;
        let record = crate::state::StatusRecord::new(
            status,
            a.positional.get(1).map(String::as_str).unwrap_or(""),
        );
        if a.bool("application")? {
            if !self.leader() {
                return Err(ToolFailure::failed(NOT_LEADER));
            }
            self.st.app_status = record;
        } else {
            self.unit()?.status = record;
        }
        Ok(Vec::new())
    }

    pub(super) fn application_version_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[], args)?;
        let Some(version) = a.positional.first().cloned() else {
            return Err(ToolFailure::usage("no version specified"));
        };
        a.at_most(1)?;
        self.unit()?.workload_version = version;
        Ok(Vec::new())
    }

    pub(super) fn juju_log(&mut self, args: &[String]) -> Out {
        let a = parse_args(
            &[boolean(&["debug"]), value(&["l", "log-level"]), FORMAT],
            args,
        )?;
        if a.positional.is_empty() {
            return Err(ToolFailure::usage("no message specified"));
        }
        let message = a.positional.join(" ");
        let mut level = "INFO".to_string();
        let mut records = Vec::new();
        if a.bool("debug")? {
            level = "DEBUG".into();
        } else if let Some(given) = a.get("l") {
            let upper = given.to_ascii_uppercase();
            let upper = if upper == "WARN" {
                "WARNING".into()
            } else {
                upper
            };
            if matches!(
                upper.as_str(),
                "TRACE" | "DEBUG" | "INFO" | "WARNING" | "ERROR" | "CRITICAL"
            ) {
                level = upper;
            } else {
                records.push(crate::state::LogRecord {
                    level: "WARNING".into(),
                    message: format!("Specified log level of {given:?} is not valid"),
                });
            }
        }
        records.push(crate::state::LogRecord { level, message });
        self.unit()?.logs.extend(records);
        Ok(Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jujuc::tests::*;

    #[test]
    fn status_tools_round_trip_with_include_data_and_leadership() {
        let mut st = model();
        let leader = ToolContext::for_unit("kratos/0");
        let follower = ToolContext::for_unit("kratos/1");
        assert_eq!(stdout(&mut st, &leader, "status-get", &[]), "unknown\n");
        run(
            &mut st,
            &leader,
            "status-set",
            &[
                "--application=False",
                "blocked",
                "--",
                "Missing integration",
            ],
        )
        .unwrap();
        run(
            &mut st,
            &leader,
            "status-set",
            &["--application=True", "active"],
        )
        .unwrap();
        run(&mut st, &follower, "status-set", &["waiting", "w"]).unwrap();
        let unit: Value = serde_json::from_str(&stdout(
            &mut st,
            &leader,
            "status-get",
            &["--include-data", "--format=json", "--application=false"],
        ))
        .unwrap();
        assert_eq!(
            unit,
            json!({"status": "blocked", "message": "Missing integration", "status-data": {}})
        );
        let app: Value = serde_json::from_str(&stdout(
            &mut st,
            &leader,
            "status-get",
            &["--include-data", "--format=json", "--application=true"],
        ))
        .unwrap();
        assert_eq!(app["application-status"]["status"], "active");
        assert_eq!(app["application-status"]["message"], "");
        assert_eq!(
            app["application-status"]["units"]["kratos/1"]["message"],
            "w"
        );
        assert_eq!(
            stdout(&mut st, &leader, "status-get", &["--format=json"]),
            "{\"status\":\"blocked\"}\n"
        );
        let err = failure(
            &mut st,
            &follower,
            "status-set",
            &["--application", "active"],
        );
        assert_eq!(
            (err.code, err.stderr.as_str()),
            (1, "ERROR this unit is not the leader\n")
        );
        let err = failure(&mut st, &follower, "status-get", &["--application"]);
        assert!(err
            .stderr
            .contains("finding application status: this unit is not the leader"));
        let err = failure(&mut st, &leader, "status-set", &["error", "x"]);
        assert_eq!(err.stderr, "ERROR invalid status \"error\", expected one of [maintenance blocked waiting active]\n");
        assert_eq!(failure(&mut st, &leader, "status-set", &[]).code, 2);
    }

    #[test]
    fn versions_and_logs() {
        let mut st = model();
        let ctx = ToolContext::for_unit("kratos/0");
        run(&mut st, &ctx, "application-version-set", &["--", "v1.2.0"]).unwrap();
        assert_eq!(st.units["kratos/0"].workload_version, "v1.2.0");
        run(
            &mut st,
            &ctx,
            "juju-log",
            &["--log-level", "WARNING", "--", "careful"],
        )
        .unwrap();
        run(&mut st, &ctx, "juju-log", &["-l", "bogus", "hi", "there"]).unwrap();
        let logs: Vec<(&str, &str)> = st.units["kratos/0"]
            .logs
            .iter()
            .map(|l| (l.level.as_str(), l.message.as_str()))
            .collect();
        assert_eq!(
            logs,
            [
                ("WARNING", "careful"),
                ("WARNING", "Specified log level of \"bogus\" is not valid"),
                ("INFO", "hi there")
            ]
        );
    }
}
