//! Juju secrets: `secret-add`, `secret-get`, `secret-set`, `secret-info-get`,
//! `secret-ids`, `secret-grant`, `secret-revoke`, `secret-remove`.
//!
//! Secret content never travels on the command line (where `ps` and `/proc` show it):
//! like ops, each value is written to a private temporary file and passed as
//! `key#file=<path>`. Content is never logged.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Deserialize;

use super::{args, decode_json, decode_json_or_null, Databag, Model, ModelError};
use crate::tools::ToolError;

/// Who owns a new secret (`--owner`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecretOwner {
    /// The application: only the leader manages it (Juju's default).
    #[default]
    Application,
    /// This unit only.
    Unit,
}

impl SecretOwner {
    fn as_str(self) -> &'static str {
        match self {
            SecretOwner::Application => "application",
            SecretOwner::Unit => "unit",
        }
    }
}

/// A rotation policy (`--rotate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRotate {
    /// `never`
    Never,
    /// `hourly`
    Hourly,
    /// `daily`
    Daily,
    /// `weekly`
    Weekly,
    /// `monthly`
    Monthly,
    /// `quarterly`
    Quarterly,
    /// `yearly`
    Yearly,
}

impl SecretRotate {
    /// The name hook tools use.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretRotate::Never => "never",
            SecretRotate::Hourly => "hourly",
            SecretRotate::Daily => "daily",
            SecretRotate::Weekly => "weekly",
            SecretRotate::Monthly => "monthly",
            SecretRotate::Quarterly => "quarterly",
            SecretRotate::Yearly => "yearly",
        }
    }
}

/// Metadata for [`Model::secret_add`] and [`Model::secret_set`].
///
/// ```
/// use juju_rs_ops::model::SecretOptions;
/// let options = SecretOptions { label: Some("cookie_secret".into()), ..Default::default() };
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretOptions {
    /// A label this charm uses to find the secret again (`--label`).
    pub label: Option<String>,
    /// `--description`.
    pub description: Option<String>,
    /// When the secret expires: an RFC 3339 time or a Go duration such as `24h`
    /// (`--expire`).
    pub expire: Option<String>,
    /// `--rotate`.
    pub rotate: Option<SecretRotate>,
    /// `--owner` (always passed, as ops does; Juju only uses it in `secret-add`).
    pub owner: SecretOwner,
}

impl SecretOptions {
    fn metadata_args(&self) -> Vec<String> {
        let mut argv = Vec::new();
        let mut flag = |name: &str, value: Option<&str>| {
            if let Some(value) = value {
                argv.push(name.to_string());
                argv.push(value.to_string());
            }
        };
        flag("--label", self.label.as_deref());
        flag("--description", self.description.as_deref());
        flag("--expire", self.expire.as_deref());
        flag("--rotate", self.rotate.map(SecretRotate::as_str));
        argv
    }
}

/// Which revision [`Model::secret_get`] reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum SecretRead {
    /// The revision this unit tracks (the owner: the latest).
    #[default]
    Current,
    /// The latest revision, just this once (`--peek`).
    Peek,
    /// The latest revision, and track it from now on (`--refresh`).
    Refresh,
}

/// A secret's metadata, from `secret-info-get --format=json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretInfo {
    /// The secret's id, e.g. `secret:cs0fd0ulscr8ctc7v7u0`.
    pub id: String,
    /// This unit's label for the secret, if it has one.
    pub label: Option<String>,
    /// The latest revision.
    pub revision: u32,
    /// `application` or `unit`.
    pub owner: Option<String>,
    /// The description, if set.
    pub description: Option<String>,
    /// When the latest revision expires (RFC 3339).
    pub expiry: Option<String>,
    /// The rotation policy's name.
    pub rotation: Option<String>,
    /// When the next rotation is due (RFC 3339).
    pub rotates: Option<String>,
}

#[derive(Deserialize)]
struct RawSecretInfo {
    revision: u32,
    #[serde(default)]
    label: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    expiry: Option<String>,
    #[serde(default)]
    rotation: Option<String>,
    #[serde(default)]
    rotates: Option<String>,
}

/// How a secret was named in a call: by id, by label, or both.
type SecretKey = (Option<String>, Option<String>);

/// Secret reads of this dispatch.
#[derive(Default)]
pub(super) struct SecretCache {
    content: BTreeMap<(SecretKey, SecretRead), Databag>,
    info: BTreeMap<SecretKey, SecretInfo>,
    ids: Option<Vec<String>>,
}

impl SecretCache {
    /// Forgets content and metadata after a change: which cached names the change
    /// touched is not knowable without asking Juju (labels and ids alias).
    fn forget_reads(&mut self) {
        self.content.clear();
        self.info.clear();
    }
}

/// How a secret is named in messages: its id, or its label.
fn describe(id: Option<&str>, label: Option<&str>) -> String {
    match (id, label) {
        (Some(id), _) => id.to_string(),
        (None, Some(label)) => format!("label {label:?}"),
        (None, None) => "(no id or label)".to_string(),
    }
}

/// Any secret tool failure whose message says "not found" means the secret does not
/// exist (or is not visible to this unit), as ops reads it.
fn secret_error(secret: String, action: String) -> impl FnOnce(ToolError) -> ModelError {
    move |source| match &source {
        ToolError::Failed { stderr, .. } if stderr.to_lowercase().contains("not found") => {
            ModelError::SecretNotFound { secret, source }
        }
        _ => ModelError::Tool { action, source },
    }
}

/// Juju's rule for secret keys: `^[a-z](?:-?[a-z0-9]){2,}$`.
fn is_valid_secret_key(key: &str) -> bool {
    let bytes = key.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if !first.is_ascii_lowercase() || key.ends_with('-') || key.contains("--") {
        return false;
    }
    let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    bytes.iter().all(|c| alnum(c) || *c == b'-') && bytes.iter().filter(|c| alnum(c)).count() >= 3
}

fn check_content(content: &Databag) -> Result<(), ModelError> {
    if content.is_empty() {
        return Err(ModelError::Invalid {
            what: "secret content".to_string(),
            message: "a secret needs at least one key".to_string(),
        });
    }
    if let Some(key) = content.keys().find(|k| !is_valid_secret_key(k)) {
        return Err(ModelError::Invalid {
            what: "secret content".to_string(),
            message: format!(
                "key {key:?} is invalid: keys are at least 3 characters of lowercase \
                 letters, digits and single inner hyphens, starting with a letter"
            ),
        });
    }
    Ok(())
}

/// Secret content staged in a private directory (mode 0700, files 0600) for
/// `key#file=<path>` arguments; removed when dropped.
struct StagedContent {
    _dir: tempfile::TempDir,
    args: Vec<String>,
}

fn stage_content(content: &Databag) -> Result<StagedContent, ModelError> {
    let io_error = |source| ModelError::Io {
        action: "staging secret content in a temporary file".to_string(),
        source,
    };
    let dir = tempfile::Builder::new()
        .prefix("juju-rs-ops-secret-")
        .tempdir()
        .map_err(io_error)?;
    let mut args = Vec::with_capacity(content.len());
    for (key, value) in content {
        let path = dir.path().join(key);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(io_error)?;
        file.write_all(value.as_bytes()).map_err(io_error)?;
        args.push(format!("{key}#file={}", path.display()));
    }
    Ok(StagedContent { _dir: dir, args })
}

impl Model {
    /// Creates a secret (`secret-add [--label L] [--description D] [--expire E]
    /// [--rotate R] --owner O key#file=<path>...`) and returns its id. Keys must follow
    /// Juju's rule (checked first, [`ModelError::Invalid`]).
    pub fn secret_add(
        &self,
        content: &Databag,
        options: &SecretOptions,
    ) -> Result<String, ModelError> {
        check_content(content)?;
        let staged = stage_content(content)?;
        let mut argv = options.metadata_args();
        argv.extend(args(["--owner", options.owner.as_str()]));
        argv.extend(staged.args.iter().cloned());
        let what = describe(None, options.label.as_deref());
        let out = self
            .call("secret-add", argv, None)
            .map_err(secret_error(what.clone(), format!("adding secret {what}")))?;
        drop(staged);
        let id = String::from_utf8_lossy(&out).trim().to_string();
        if id.is_empty() {
            return Err(ModelError::Decode {
                what: "secret-add".to_string(),
                message: "no secret id printed".to_string(),
            });
        }
        let mut cache = self.cache.borrow_mut();
        if let Some(ids) = cache.secrets.ids.as_mut() {
            ids.push(id.clone());
        }
        Ok(id)
    }

    /// A secret's content (`secret-get --format=json [<id>] [--label L] [--peek |
    /// --refresh]`), by id, by label, or by id while setting this unit's label for it.
    /// Read once per (name, mode); a refresh also answers later current reads.
    ///
    /// [`ModelError::SecretNotFound`] when the secret does not exist or is not visible.
    pub fn secret_get(
        &self,
        id: Option<&str>,
        label: Option<&str>,
        mode: SecretRead,
    ) -> Result<Databag, ModelError> {
        if id.is_none() && label.is_none() {
            return Err(ModelError::Invalid {
                what: "secret-get".to_string(),
                message: "give a secret id or a label".to_string(),
            });
        }
        let name: SecretKey = (id.map(str::to_string), label.map(str::to_string));
        if let Some(content) = self
            .cache
            .borrow()
            .secrets
            .content
            .get(&(name.clone(), mode))
        {
            return Ok(content.clone());
        }
        let mut argv = args(["--format=json"]);
        argv.extend(id.map(str::to_string));
        if let Some(label) = label {
            argv.extend(args(["--label", label]));
        }
        match mode {
            SecretRead::Current => {}
            SecretRead::Peek => argv.push("--peek".to_string()),
            SecretRead::Refresh => argv.push("--refresh".to_string()),
        }
        let what = describe(id, label);
        let out = self
            .call("secret-get", argv, None)
            .map_err(secret_error(what.clone(), format!("reading secret {what}")))?;
        let content: Databag = decode_json_or_null("secret-get", &out)?;
        let mut cache = self.cache.borrow_mut();
        if mode == SecretRead::Refresh {
            cache
                .secrets
                .content
                .insert((name.clone(), SecretRead::Current), content.clone());
        }
        cache.secrets.content.insert((name, mode), content.clone());
        Ok(content)
    }

    /// Updates a secret this unit owns (`secret-set [--label L] [--description D]
    /// [--expire E] [--rotate R] --owner O <id> [key#file=<path>...]`).
    ///
    /// Every content change makes a new revision and tells every consumer, so content
    /// equal to the latest revision (read with `--peek`, cached) is not sent; with no
    /// metadata to set either, nothing runs. Returns whether `secret-set` ran.
    pub fn secret_set(
        &self,
        id: &str,
        content: Option<&Databag>,
        options: &SecretOptions,
    ) -> Result<bool, ModelError> {
        let new_content = match content {
            Some(content) => {
                check_content(content)?;
                let latest = self.secret_get(Some(id), None, SecretRead::Peek)?;
                (latest != *content).then_some(content)
            }
            None => None,
        };
        let metadata = options.metadata_args();
        if new_content.is_none() && metadata.is_empty() {
            return Ok(false);
        }
        let staged = new_content.map(stage_content).transpose()?;
        let mut argv = metadata;
        argv.extend(args(["--owner", options.owner.as_str(), id]));
        if let Some(staged) = &staged {
            argv.extend(staged.args.iter().cloned());
        }
        self.call("secret-set", argv, None).map_err(secret_error(
            id.to_string(),
            format!("updating secret {id}"),
        ))?;
        drop(staged);
        self.cache.borrow_mut().secrets.forget_reads();
        Ok(true)
    }

    /// A secret's metadata (`secret-info-get --format=json <id>` or `... --label L`;
    /// Juju takes one or the other). Read once per name.
    pub fn secret_info(
        &self,
        id: Option<&str>,
        label: Option<&str>,
    ) -> Result<SecretInfo, ModelError> {
        let mut argv = args(["--format=json"]);
        match (id, label) {
            (Some(id), None) => argv.push(id.to_string()),
            (None, Some(label)) => argv.extend(args(["--label", label])),
            _ => {
                return Err(ModelError::Invalid {
                    what: "secret-info-get".to_string(),
                    message: "give exactly one of a secret id and a label".to_string(),
                })
            }
        }
        let name: SecretKey = (id.map(str::to_string), label.map(str::to_string));
        if let Some(info) = self.cache.borrow().secrets.info.get(&name) {
            return Ok(info.clone());
        }
        let what = describe(id, label);
        let out = self
            .call("secret-info-get", argv, None)
            .map_err(secret_error(
                what.clone(),
                format!("reading metadata of secret {what}"),
            ))?;
        let raw: BTreeMap<String, RawSecretInfo> = decode_json("secret-info-get", &out)?;
        let Some((secret_id, raw)) = raw.into_iter().next() else {
            return Err(ModelError::Decode {
                what: "secret-info-get".to_string(),
                message: "no secret in the output".to_string(),
            });
        };
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        let info = SecretInfo {
            id: secret_id,
            label: non_empty(raw.label),
            revision: raw.revision,
            owner: non_empty(raw.owner),
            description: non_empty(raw.description),
            expiry: raw.expiry,
            rotation: raw.rotation,
            rotates: raw.rotates,
        };
        self.cache
            .borrow_mut()
            .secrets
            .info
            .insert(name, info.clone());
        Ok(info)
    }

    /// The ids of the secrets this application (or unit) owns (`secret-ids
    /// --format=json`). Read once; `secret_add`/`secret_remove` keep it current.
    pub fn secret_ids(&self) -> Result<Vec<String>, ModelError> {
        if let Some(ids) = &self.cache.borrow().secrets.ids {
            return Ok(ids.clone());
        }
        let out = self
            .call("secret-ids", args(["--format=json"]), None)
            .map_err(super::tool_error("listing secrets"))?;
        let ids: Vec<String> = decode_json_or_null("secret-ids", &out)?;
        self.cache.borrow_mut().secrets.ids = Some(ids.clone());
        Ok(ids)
    }

    /// Lets the other side of a relation (or one unit of it) read a secret
    /// (`secret-grant --relation <id> [--unit U] <secret-id>`).
    pub fn secret_grant(
        &self,
        id: &str,
        relation_id: u32,
        unit: Option<&str>,
    ) -> Result<(), ModelError> {
        let argv = grant_args(id, relation_id, unit);
        self.call("secret-grant", argv, None).map_err(secret_error(
            id.to_string(),
            format!("granting secret {id}"),
        ))?;
        Ok(())
    }

    /// Takes back a grant (`secret-revoke --relation <id> [--unit U] <secret-id>`).
    pub fn secret_revoke(
        &self,
        id: &str,
        relation_id: u32,
        unit: Option<&str>,
    ) -> Result<(), ModelError> {
        let argv = grant_args(id, relation_id, unit);
        self.call("secret-revoke", argv, None)
            .map_err(secret_error(
                id.to_string(),
                format!("revoking secret {id}"),
            ))?;
        Ok(())
    }

    /// Removes a secret, or one revision of it (`secret-remove <id> [--revision N]`).
    pub fn secret_remove(&self, id: &str, revision: Option<u32>) -> Result<(), ModelError> {
        let mut argv = args([id]);
        if let Some(revision) = revision {
            argv.extend(args(["--revision", &revision.to_string()]));
        }
        self.call("secret-remove", argv, None)
            .map_err(secret_error(
                id.to_string(),
                format!("removing secret {id}"),
            ))?;
        let mut cache = self.cache.borrow_mut();
        cache.secrets.forget_reads();
        if revision.is_none() {
            if let Some(ids) = cache.secrets.ids.as_mut() {
                ids.retain(|known| known != id);
            }
        }
        Ok(())
    }
}

fn grant_args(id: &str, relation_id: u32, unit: Option<&str>) -> Vec<String> {
    let mut argv = args(["--relation", &relation_id.to_string()]);
    if let Some(unit) = unit {
        argv.extend(args(["--unit", unit]));
    }
    argv.push(id.to_string());
    argv
}

#[cfg(test)]
mod key_tests {
    use super::is_valid_secret_key;

    #[test]
    fn secret_keys_follow_jujus_rule() {
        for good in ["cookie", "abc", "a-bc", "key1", "dsn-password"] {
            assert!(is_valid_secret_key(good), "{good}");
        }
        for bad in [
            "", "ab", "1abc", "Abc", "a--b", "abc-", "-abc", "a_bc", "a-b",
        ] {
            assert!(!is_valid_secret_key(bad), "{bad}");
        }
    }
}
