//! `secret-add`, `secret-set`, `secret-get`, `secret-info-get`, `secret-ids`,
//! `secret-grant`, `secret-revoke`, `secret-remove`: owner and consumer semantics.

use super::*;

impl Call<'_> {
    /// Whether this unit may manage (set, grant, revoke, remove, read metadata) a secret.
    pub(super) fn can_manage(&self, secret: &Secret) -> bool {
        match &secret.owner {
            SecretOwner::Unit(unit) => *unit == self.ctx.unit,
            SecretOwner::Application(app) => *app == self.st.app_name && self.leader(),
            // User secrets are managed by the user, never by a charm.
            SecretOwner::Model => false,
        }
    }

    /// Whether this unit may read a secret's content.
    pub(super) fn can_read(&self, secret: &Secret) -> bool {
        let owned = match &secret.owner {
            SecretOwner::Unit(unit) => *unit == self.ctx.unit,
            SecretOwner::Application(app) => *app == self.st.app_name,
            SecretOwner::Model => false,
        };
        owned
            || secret.user_grants.contains(&self.st.app_name)
            || secret.grants.values().any(|grantees| {
                grantees.contains(&self.st.app_name) || grantees.contains(&self.ctx.unit)
            })
    }

    /// The index of the secret a URI names.
    pub(super) fn secret_by_uri(&self, uri: &str) -> Result<usize, ToolFailure> {
        let xid = secret_xid(uri);
        self.st
            .secrets
            .iter()
            .position(|s| s.xid() == xid)
            .ok_or_else(|| ToolFailure::failed(format!("secret {xid:?} not found")))
    }

    /// The index of the secret a label names: an owner label of a secret this unit or its
    /// application owns, else this unit's consumer label.
    pub(super) fn secret_by_label(&self, label: &str) -> Result<usize, ToolFailure> {
        let owned = |s: &Secret| match &s.owner {
            SecretOwner::Unit(unit) => *unit == self.ctx.unit,
            SecretOwner::Application(app) => *app == self.st.app_name,
            SecretOwner::Model => false,
        };
        self.st
            .secrets
            .iter()
            .position(|s| owned(s) && s.label.as_deref() == Some(label))
            .or_else(|| {
                self.st.secrets.iter().position(|s| {
                    s.consumer_labels.get(&self.ctx.unit).map(String::as_str) == Some(label)
                })
            })
            .ok_or_else(|| ToolFailure::failed(format!("secret {label:?} not found")))
    }

    pub(super) fn secret(&self, index: usize) -> Result<&Secret, ToolFailure> {
        self.st
            .secrets
            .get(index)
            .ok_or_else(|| ToolFailure::failed("secret not found"))
    }

    pub(super) fn secret_mut(&mut self, index: usize) -> Result<&mut Secret, ToolFailure> {
        self.st
            .secrets
            .get_mut(index)
            .ok_or_else(|| ToolFailure::failed("secret not found"))
    }

    pub(super) fn check_label_free(
        &self,
        label: &str,
        except: Option<usize>,
    ) -> Result<(), ToolFailure> {
        let taken = self.st.secrets.iter().enumerate().any(|(i, s)| {
            Some(i) != except
                && s.owner.app() == self.st.app_name
                && s.label.as_deref() == Some(label)
        });
        if taken {
            return Err(ToolFailure::failed(format!(
                "secret with label {label:?} already exists"
            )));
        }
        Ok(())
    }

    pub(super) fn secret_add(&mut self, args: &[String]) -> Out {
        let a = parse_args(UPSERT_FLAGS, args)?;
        if a.positional.is_empty() && a.get("file").is_none() {
            return Err(ToolFailure::usage("missing secret value or filename"));
        }
        let upsert = self.parse_upsert(&a, &a.positional)?;
        if upsert.content.is_empty() {
            return Err(ToolFailure::usage("empty secret value not valid"));
        }
        let owner = match upsert.owner.as_str() {
            "unit" => SecretOwner::Unit(self.ctx.unit.clone()),
            _ => {
                if !self.leader() {
                    return Err(ToolFailure::failed(NOT_LEADER));
                }
                SecretOwner::Application(self.st.app_name.clone())
            }
        };
        if let Some(label) = &upsert.label {
            self.check_label_free(label, None)?;
        }
        let mut secret = Secret::new(owner, upsert.content);
        while self.st.secrets.iter().any(|s| s.id == secret.id) {
            secret.id = crate::state::new_secret_id();
        }
        secret.label = upsert.label;
        secret.description = upsert.description;
        secret.expire = upsert.expire;
        secret.rotate = upsert.rotate;
        secret.tracked.insert(self.ctx.unit.clone(), 1);
        let id = secret.id.clone();
        self.st.secrets.push(secret);
        Ok(format!("{id}\n").into_bytes())
    }

    pub(super) fn secret_set(&mut self, args: &[String]) -> Out {
        let a = parse_args(UPSERT_FLAGS, args)?;
        let Some(uri) = a.positional.first() else {
            return Err(ToolFailure::usage("missing secret URI"));
        };
        parse_secret_uri(uri)?;
        let upsert = self.parse_upsert(&a, &a.positional[1..])?;
        let index = self.secret_by_uri(uri)?;
        if !self.can_manage(self.secret(index)?) {
            return Err(ToolFailure::failed("permission denied"));
        }
        if let Some(label) = &upsert.label {
            self.check_label_free(label, Some(index))?;
        }
        let secret = self.secret_mut(index)?;
        // Juju 3.6 makes no new revision when the content is unchanged.
        if !upsert.content.is_empty() && secret.latest_content() != Some(&upsert.content) {
            secret.add_revision(upsert.content);
        }
        if upsert.label.is_some() {
            secret.label = upsert.label;
        }
        if upsert.description.is_some() {
            secret.description = upsert.description;
        }
        if upsert.expire.is_some() {
            secret.expire = upsert.expire;
        }
        if upsert.rotate.is_some() {
            secret.rotate = upsert.rotate;
        }
        Ok(Vec::new())
    }

    pub(super) fn parse_upsert(
        &self,
        a: &Args,
        content_args: &[String],
    ) -> Result<Upsert, ToolFailure> {
        let owner = a.get("owner").unwrap_or("application").to_string();
        if owner != "application" && owner != "unit" {
            return Err(ToolFailure::usage(format!(
                "secret owner {owner:?} not valid"
            )));
        }
        let rotate = a.get("rotate").map(String::from);
        if let Some(policy) = &rotate {
            const POLICIES: [&str; 7] = [
                "never",
                "hourly",
                "daily",
                "weekly",
                "monthly",
                "quarterly",
                "yearly",
            ];
            if !POLICIES.contains(&policy.as_str()) {
                return Err(ToolFailure::usage(format!(
                    "rotate policy {policy:?} not valid"
                )));
            }
        }
        let expire = a.get("expire").map(parse_expire).transpose()?;
        let mut content = BTreeMap::new();
        for arg in content_args {
            // Base64 padding may end a value: split at the first '=' that is not padding.
            let trimmed = arg.trim_end_matches('=');
            let Some(split) = trimmed.find('=').filter(|i| *i > 0) else {
                return Err(ToolFailure::usage(format!("key value {arg:?} not valid")));
            };
            let (key, value) = (&arg[..split], &arg[split + 1..]);
            if let Some(key) = key.strip_suffix("#file") {
                let data = std::fs::read(value).map_err(|e| {
                    ToolFailure::usage(format!("reading content for secret key {key:?}: {e}"))
                })?;
                add_secret_value(
                    &mut content,
                    key,
                    String::from_utf8_lossy(&data).into_owned(),
                )?;
            } else {
                add_encoded_secret_value(&mut content, key, value)?;
            }
        }
        if let Some(path) = a.get("file") {
            let data = self.read_file(path)?;
            for (key, value) in settings_from_yaml(&data)? {
                add_encoded_secret_value(&mut content, &key, &value)?;
            }
        }
        Ok(Upsert {
            owner,
            label: a.get("label").map(String::from),
            description: a.get("description").map(String::from),
            expire,
            rotate,
            content,
        })
    }

    pub(super) fn secret_get(&mut self, args: &[String]) -> Out {
        let a = parse_args(
            &[
                FORMAT,
                value(&["label"]),
                boolean(&["peek"]),
                boolean(&["refresh"]),
            ],
            args,
        )?;
        let format = format_of(&a, YAML_FORMATS, Format::Yaml)?;
        let mut positional = a.positional.iter();
        let uri = positional.next();
        if let Some(uri) = uri {
            parse_secret_uri(uri)?;
        }
        let label = a.get("label").map(String::from);
        if uri.is_none() && label.is_none() {
            return Err(ToolFailure::usage("require either a secret URI or label"));
        }
        let (peek, refresh) = (a.bool("peek")?, a.bool("refresh")?);
        if peek && refresh {
            return Err(ToolFailure::usage(
                "specify one of --peek or --refresh but not both",
            ));
        }
        let key = positional.next().cloned();
        let rest: Vec<String> = positional.cloned().collect();
        if !rest.is_empty() {
            return Err(unrecognized(&rest));
        }
        let index = match (uri, &label) {
            (Some(uri), _) => self.secret_by_uri(uri)?,
            (None, Some(label)) => self.secret_by_label(label)?,
            (None, None) => return Err(ToolFailure::usage("require either a secret URI or label")),
        };
        let secret = self.secret(index)?;
        if !self.can_read(secret) {
            return Err(ToolFailure::failed("permission denied"));
        }
        let manage = self.can_manage(secret);
        let unit = self.ctx.unit.clone();
        let secret = self.secret_mut(index)?;
        if let (Some(_), Some(label)) = (uri, label) {
            if manage {
                secret.label = Some(label);
            } else {
                secret.consumer_labels.insert(unit.clone(), label);
            }
        }
        let latest = secret.latest_revision();
        let revision = if peek {
            latest
        } else if refresh {
            secret.tracked.insert(unit, latest);
            latest
        } else {
            *secret.tracked.entry(unit).or_insert(latest)
        };
        let content = secret.content(revision).cloned().ok_or_else(|| {
            ToolFailure::failed(format!(
                "secret revision {revision} of {:?} not found",
                secret.xid()
            ))
        })?;
        match key {
            None => Ok(write(format, &to_value(content))),
            Some(key) => {
                let (name, encode) = match key.strip_suffix("#base64") {
                    Some(name) => (name, true),
                    None => (key.as_str(), false),
                };
                let v = content.get(name).ok_or_else(|| {
                    ToolFailure::failed(format!("secret key value {key:?} not found"))
                })?;
                let v = if encode {
                    base64::engine::general_purpose::STANDARD.encode(v)
                } else {
                    v.clone()
                };
                Ok(write(format, &Value::String(v)))
            }
        }
    }

    pub(super) fn secret_info_get(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT, value(&["label"])], args)?;
        let format = format_of(&a, YAML_FORMATS, Format::Yaml)?;
        let uri = a.positional.first();
        if let Some(uri) = uri {
            parse_secret_uri(uri)?;
        }
        let label = a.get("label");
        match (uri, label) {
            (None, None) => return Err(ToolFailure::usage("require either a secret URI or label")),
            (Some(_), Some(_)) => {
                return Err(ToolFailure::usage(
                    "specify either a secret URI or label but not both",
                ))
            }
            _ => {}
        }
        a.at_most(if uri.is_some() { 1 } else { 0 })?;
        let wanted = |s: &&Secret| match (uri, label) {
            (Some(uri), _) => s.xid() == secret_xid(uri),
            (None, Some(label)) => s.label.as_deref() == Some(label),
            (None, None) => false,
        };
        let Some(secret) = self
            .st
            .secrets
            .iter()
            .filter(|s| self.can_manage(s))
            .find(wanted)
        else {
            let want = uri.map(|u| secret_xid(u)).or(label).unwrap_or_default();
            return Err(ToolFailure::failed(format!("secret {want:?} not found")));
        };
        let mut info = Map::new();
        info.insert("revision".into(), secret.latest_revision().into());
        info.insert(
            "label".into(),
            secret.label.clone().unwrap_or_default().into(),
        );
        info.insert("owner".into(), secret.owner.kind().into());
        if let Some(d) = &secret.description {
            info.insert("description".into(), d.clone().into());
        }
        if let Some(r) = &secret.rotate {
            info.insert("rotation".into(), r.clone().into());
        }
        if let Some(e) = &secret.expire {
            info.insert("expiry".into(), e.clone().into());
        }
        let access: Vec<Value> = secret
            .grants
            .iter()
            .flat_map(|(relation_id, grantees)| {
                grantees.iter().map(move |g| {
                    let target = if g.contains('/') {
                        format!("unit-{}", g.replace('/', "-"))
                    } else {
                        format!("application-{g}")
                    };
                    json!({ "target": target, "scope": format!("relation-{relation_id}"), "role": "view" })
                })
            })
            .collect();
        if !access.is_empty() {
            info.insert("access".into(), Value::Array(access));
        }
        let mut out = Map::new();
        out.insert(secret.xid().to_string(), Value::Object(info));
        Ok(write(format, &Value::Object(out)))
    }

    pub(super) fn secret_ids(&self, args: &[String]) -> Out {
        let a = parse_args(&[FORMAT], args)?;
        let format = format_of(&a, YAML_FORMATS, Format::Yaml)?;
        a.at_most(0)?;
        let ids: BTreeSet<String> = self
            .st
            .secrets
            .iter()
            .filter(|s| match &s.owner {
                SecretOwner::Unit(unit) => *unit == self.ctx.unit,
                SecretOwner::Application(app) => *app == self.st.app_name,
                SecretOwner::Model => false,
            })
            .map(|s| format!("secret:{}", s.xid()))
            .collect();
        Ok(write(format, &json!(ids)))
    }

    pub(super) fn managed_secret(&self, a: &Args) -> Result<usize, ToolFailure> {
        let Some(uri) = a.positional.first() else {
            return Err(ToolFailure::usage("missing secret URI"));
        };
        parse_secret_uri(uri)?;
        a.at_most(1)?;
        let index = self.secret_by_uri(uri)?;
        if !self.can_manage(self.secret(index)?) {
            return Err(ToolFailure::failed("permission denied"));
        }
        Ok(index)
    }

    pub(super) fn secret_grant(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[RELATION, value(&["unit"])], args)?;
        if a.positional.is_empty() {
            return Err(ToolFailure::usage("missing secret URI"));
        }
        let relation_id = self.required_relation(&a)?;
        let remote_app = self.relation(relation_id)?.remote_app.clone();
        let grantee = match a.get("unit") {
            Some(unit) if unit_app(unit) != remote_app || !unit.contains('/') => {
                return Err(ToolFailure::usage(format!(
                    "cannot specify unit {unit:?} in relation to application {remote_app:?}"
                )))
            }
            Some(unit) => unit.to_string(),
            None => remote_app,
        };
        let index = self.managed_secret(&a)?;
        self.secret_mut(index)?
            .grants
            .entry(relation_id)
            .or_default()
            .insert(grantee);
        Ok(Vec::new())
    }

    pub(super) fn secret_revoke(&mut self, args: &[String]) -> Out {
        let a = parse_args(
            &[RELATION, value(&["app", "application"]), value(&["unit"])],
            args,
        )?;
        if a.positional.is_empty() {
            return Err(ToolFailure::usage("missing secret URI"));
        }
        let (app, unit) = (a.get("app"), a.get("unit"));
        if app.is_some() && unit.is_some() {
            return Err(ToolFailure::usage(
                "specify only one of application or unit",
            ));
        }
        let relation_id = match a.get("r") {
            Some(_) => self.relation_id(&a)?,
            None => None,
        };
        let grantee = match (app, unit, relation_id) {
            (Some(app), _, _) => app.to_string(),
            (None, Some(unit), _) => unit.to_string(),
            (None, None, Some(id)) => self.relation(id)?.remote_app.clone(),
            (None, None, None) => {
                return Err(ToolFailure::usage(
                    "missing relation or application or unit",
                ))
            }
        };
        let index = self.managed_secret(&a)?;
        let grants = &mut self.secret_mut(index)?.grants;
        for (id, grantees) in grants.iter_mut() {
            if relation_id.is_none_or(|r| r == *id) {
                grantees.remove(&grantee);
            }
        }
        grants.retain(|_, grantees| !grantees.is_empty());
        Ok(Vec::new())
    }

    pub(super) fn secret_remove(&mut self, args: &[String]) -> Out {
        let a = parse_args(&[value(&["revision"])], args)?;
        let revision = match a.get("revision") {
            None => None,
            Some(raw) => Some(raw.parse::<u32>().map_err(|_| {
                ToolFailure::usage(format!(
                    "invalid value {raw:?} for option --revision: parse error"
                ))
            })?),
        };
        let index = self.managed_secret(&a)?;
        match revision.filter(|r| *r > 0) {
            None => {
                self.st.secrets.remove(index);
            }
            Some(revision) => {
                let secret = self.secret_mut(index)?;
                secret.revisions.retain(|r| r.revision != revision);
                if secret.revisions.is_empty() {
                    self.st.secrets.remove(index);
                }
            }
        }
        Ok(Vec::new())
    }
}

pub(super) const UPSERT_FLAGS: &[Flag] = &[
    value(&["label"]),
    value(&["description"]),
    value(&["expire"]),
    value(&["rotate"]),
    value(&["owner"]),
    FILE,
];

pub(super) struct Upsert {
    owner: String,
    label: Option<String>,
    description: Option<String>,
    expire: Option<String>,
    rotate: Option<String>,
    content: BTreeMap<String, String>,
}

pub(super) fn parse_secret_uri(uri: &str) -> Result<(), ToolFailure> {
    let xid = secret_xid(uri);
    let valid = xid.len() == 20
        && xid
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='v').contains(&c));
    if valid {
        Ok(())
    } else {
        Err(ToolFailure::usage(format!("secret URI {uri:?} not valid")))
    }
}

/// Juju's secret key rule: lowercase, starting with a letter, at least 3 characters,
/// single hyphens between alphanumerics.
pub(super) fn valid_secret_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let Some((first, rest)) = bytes.split_first() else {
        return false;
    };
    if !first.is_ascii_lowercase() {
        return false;
    }
    let mut groups = 0;
    let mut i = 0;
    while i < rest.len() {
        if rest[i] == b'-' {
            i += 1;
        }
        match rest.get(i) {
            Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit() => groups += 1,
            _ => return false,
        }
        i += 1;
    }
    groups >= 2
}

pub(super) fn add_secret_value(
    content: &mut BTreeMap<String, String>,
    key: &str,
    value: String,
) -> Result<(), ToolFailure> {
    if !valid_secret_key(key) {
        return Err(ToolFailure::usage(format!("key {key:?} not valid")));
    }
    content.insert(key.to_string(), value);
    Ok(())
}

pub(super) fn add_encoded_secret_value(
    content: &mut BTreeMap<String, String>,
    key: &str,
    value: &str,
) -> Result<(), ToolFailure> {
    match key.strip_suffix("#base64") {
        Some(name) => {
            let data = base64::engine::general_purpose::STANDARD
                .decode(value)
                .map_err(|e| ToolFailure::usage(format!("key {name:?}: {e}")))?;
            add_secret_value(content, name, String::from_utf8_lossy(&data).into_owned())
        }
        None => add_secret_value(content, key, value.to_string()),
    }
}

/// `--expire`: an RFC 3339 time, or a Go duration (`24h`, `90m`, `30s`) from now.
pub(super) fn parse_expire(raw: &str) -> Result<String, ToolFailure> {
    let looks_like_time = raw.len() >= 19 && raw.as_bytes().get(4) == Some(&b'-');
    if looks_like_time {
        return Ok(raw.to_string());
    }
    let invalid = || ToolFailure::usage(format!("expire time or duration {raw:?} not valid"));
    let mut seconds: u64 = 0;
    let mut number = String::new();
    for c in raw.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| invalid())?;
        number.clear();
        seconds += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(invalid()),
        };
    }
    if !number.is_empty() || seconds == 0 {
        return Err(invalid());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Ok(rfc3339(now + seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jujuc::tests::*;

    #[test]
    fn secrets_follow_owner_and_consumer_semantics() {
        let mut st = model();
        let leader = ToolContext::for_unit("kratos/0");
        let follower = ToolContext::for_unit("kratos/1");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cookiesecret");
        std::fs::write(&file, "s3cr3t").unwrap();
        let id = stdout(
            &mut st,
            &leader,
            "secret-add",
            &[
                "--label",
                "cookie_secret",
                "--owner",
                "application",
                &format!("cookiesecret#file={}", file.display()),
            ],
        );
        let id = id.trim().to_string();
        assert!(id.starts_with("secret:") && id.len() == 27, "{id}");
        // Non-leaders cannot add application secrets; labels are unique per owner.
        assert_eq!(
            failure(&mut st, &follower, "secret-add", &["abc=1"]).stderr,
            "ERROR this unit is not the leader\n"
        );
        assert!(failure(
            &mut st,
            &leader,
            "secret-add",
            &["--label", "cookie_secret", "abc=1"]
        )
        .stderr
        .contains("already exists"));
        assert_eq!(failure(&mut st, &leader, "secret-add", &["ab=1"]).code, 2);
        // Every unit of the app reads it by label.
        assert_eq!(
            stdout(
                &mut st,
                &follower,
                "secret-get",
                &["--format=json", "--label", "cookie_secret"]
            ),
            "{\"cookiesecret\":\"s3cr3t\"}\n"
        );
        assert_eq!(
            stdout(&mut st, &follower, "secret-get", &[&id, "cookiesecret"]),
            "s3cr3t\n"
        );
        assert_eq!(
            stdout(
                &mut st,
                &follower,
                "secret-get",
                &[&id, "cookiesecret#base64"]
            ),
            "czNjcjN0\n"
        );
        // A new revision: tracking units see it only with --refresh (or --peek).
        run(
            &mut st,
            &leader,
            "secret-set",
            &[&id, "cookiesecret#base64=bmV3", "--owner", "application"],
        )
        .unwrap();
        assert_eq!(st.secret(&id).unwrap().latest_revision(), 2);
        run(&mut st, &leader, "secret-set", &[&id, "cookiesecret=new"]).unwrap();
        assert_eq!(
            st.secret(&id).unwrap().latest_revision(),
            2,
            "unchanged content makes no revision"
        );
        let follower_gets =
            |st: &mut ModelState, args: &[&str]| stdout(st, &follower, "secret-get", args);
        assert_eq!(follower_gets(&mut st, &[&id, "cookiesecret"]), "s3cr3t\n");
        assert_eq!(
            follower_gets(&mut st, &[&id, "cookiesecret", "--peek"]),
            "new\n"
        );
        assert_eq!(follower_gets(&mut st, &[&id, "cookiesecret"]), "s3cr3t\n");
        assert_eq!(
            follower_gets(&mut st, &[&id, "cookiesecret", "--refresh"]),
            "new\n"
        );
        assert_eq!(follower_gets(&mut st, &[&id, "cookiesecret"]), "new\n");
        // Only the leader manages it.
        assert_eq!(
            failure(&mut st, &follower, "secret-set", &[&id, "cookiesecret=x"]).stderr,
            "ERROR permission denied\n"
        );
        assert!(failure(&mut st, &follower, "secret-info-get", &[&id])
            .stderr
            .contains("not found"));
        let info: Value = serde_json::from_str(&stdout(
            &mut st,
            &leader,
            "secret-info-get",
            &["--label", "cookie_secret", "--format=json"],
        ))
        .unwrap();
        let xid = secret_xid(&id).to_string();
        assert_eq!(info[&xid]["revision"], 2);
        assert_eq!(info[&xid]["label"], "cookie_secret");
        assert_eq!(info[&xid]["owner"], "application");
        assert_eq!(
            stdout(&mut st, &follower, "secret-ids", &["--format=json"]),
            format!("[\"{id}\"]\n")
        );
        // Grants over a relation; revokes; removal.
        run(&mut st, &leader, "secret-grant", &["-r", "3", &id]).unwrap();
        run(
            &mut st,
            &leader,
            "secret-grant",
            &["-r", "3", "--unit", "postgresql-k8s/0", &id],
        )
        .unwrap();
        assert_eq!(st.secret(&id).unwrap().grants[&3].len(), 2);
        assert_eq!(
            failure(
                &mut st,
                &leader,
                "secret-grant",
                &["-r", "3", "--unit", "other/0", &id]
            )
            .code,
            2
        );
        run(&mut st, &leader, "secret-revoke", &["-r", "3", &id]).unwrap();
        run(
            &mut st,
            &leader,
            "secret-revoke",
            &["--unit", "postgresql-k8s/0", &id],
        )
        .unwrap();
        assert!(st.secret(&id).unwrap().grants.is_empty());
        run(&mut st, &leader, "secret-remove", &[&id]).unwrap();
        let err = failure(&mut st, &follower, "secret-get", &[&id]);
        assert!(err.stderr.contains("not found"), "{err}");
        assert!(failure(
            &mut st,
            &follower,
            "secret-get",
            &["--label", "cookie_secret"]
        )
        .stderr
        .contains("not found"));
        assert_eq!(
            failure(&mut st, &follower, "secret-get", &["secret:nope"]).code,
            2
        );
    }

    #[test]
    fn user_secrets_are_read_where_granted_and_never_managed() {
        let secret = Secret::user_secret("admin-password", [("password", "pw")]);
        let id = secret.id.clone();
        let mut st = model().with_secret(secret);
        let ctx = ToolContext::for_unit("kratos/0");
        let denied = failure(&mut st, &ctx, "secret-get", &[&id]);
        assert_eq!(denied.stderr, "ERROR permission denied\n");
        st.secrets[0].user_grants.insert("kratos".into());
        assert_eq!(
            stdout(&mut st, &ctx, "secret-get", &[&id, "password"]),
            "pw\n"
        );
        assert!(run(&mut st, &ctx, "secret-set", &[&id, "password=x"]).is_err());
        assert_eq!(st.secrets[0].latest_revision(), 1);
    }

    #[test]
    fn consumers_need_grants_and_keep_their_own_labels() {
        let remote = Secret::new(
            SecretOwner::Application("postgresql-k8s".into()),
            [("username", "u"), ("password", "p")],
        );
        let id = remote.id.clone();
        let mut st = model().with_secret(remote);
        let ctx = ToolContext::for_unit("kratos/0");
        assert_eq!(
            failure(&mut st, &ctx, "secret-get", &[&id]).stderr,
            "ERROR permission denied\n"
        );
        st.secrets[0]
            .grants
            .entry(3)
            .or_default()
            .insert("kratos".into());
        assert_eq!(
            stdout(
                &mut st,
                &ctx,
                "secret-get",
                &[&id, "--label", "db-creds", "password"]
            ),
            "p\n"
        );
        assert_eq!(st.secrets[0].consumer_labels["kratos/0"], "db-creds");
        assert_eq!(st.secrets[0].label, None);
        assert_eq!(
            stdout(
                &mut st,
                &ctx,
                "secret-get",
                &["--label", "db-creds", "--format=json"]
            ),
            "{\"password\":\"p\",\"username\":\"u\"}\n"
        );
        // A consumer can neither manage the secret nor see its metadata.
        assert_eq!(
            failure(&mut st, &ctx, "secret-set", &[&id, "password=x"]).stderr,
            "ERROR permission denied\n"
        );
        assert!(failure(&mut st, &ctx, "secret-info-get", &[&id])
            .stderr
            .contains("not found"));
    }

    #[test]
    fn expiry_and_keys_parse_as_juju_does() {
        assert!(parse_expire("24h").unwrap().ends_with('Z'));
        assert!(parse_expire("tomorrow").is_err());
        assert!(
            valid_secret_key("cookiesecret")
                && valid_secret_key("tls-ca")
                && !valid_secret_key("ab")
                && !valid_secret_key("a--b")
                && !valid_secret_key("Key")
        );
    }
}
