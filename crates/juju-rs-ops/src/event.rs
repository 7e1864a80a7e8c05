//! The Juju 3.x dispatch environment, parsed into one typed [`Event`].
//!
//! Juju runs `$JUJU_CHARM_DIR/dispatch` once per event and names the event in
//! `JUJU_DISPATCH_PATH` (`hooks/<name>` or `actions/<name>`); the other `JUJU_*`
//! variables carry the event's details. Parsing never fails: an event this module does not
//! know becomes [`EventKind::Unknown`], which charms log and ignore.

use std::collections::BTreeMap;

/// What happened. Relation, workload, secret, storage and action details live in the
/// optional fields of [`Event`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `install`: the charm was just deployed.
    Install,
    /// `start`: the unit is ready to start its workload.
    Start,
    /// `stop`: the unit is about to be removed.
    Stop,
    /// `remove`: the unit is being removed (the last event it sees).
    Remove,
    /// `upgrade-charm`: a new charm revision was installed.
    UpgradeCharm,
    /// `config-changed`: the configuration changed (also after install and upgrade).
    ConfigChanged,
    /// `update-status`: Juju's periodic status poll.
    UpdateStatus,
    /// `leader-elected`: this unit became the leader.
    LeaderElected,
    /// `leader-settings-changed` (legacy leader data).
    LeaderSettingsChanged,
    /// `post-series-upgrade` (machine charms).
    PostSeriesUpgrade,
    /// `pre-series-upgrade` (machine charms).
    PreSeriesUpgrade,
    /// `collect-metrics`.
    CollectMetrics,
    /// `<endpoint>-relation-created`: a relation was established.
    RelationCreated,
    /// `<endpoint>-relation-joined`: a remote unit joined.
    RelationJoined,
    /// `<endpoint>-relation-changed`: a remote databag changed.
    RelationChanged,
    /// `<endpoint>-relation-departed`: a remote unit left.
    RelationDeparted,
    /// `<endpoint>-relation-broken`: the relation is being removed.
    RelationBroken,
    /// `<container>-pebble-ready`: the container's Pebble is up.
    PebbleReady,
    /// `<container>-pebble-custom-notice`: a custom Pebble notice occurred.
    PebbleCustomNotice,
    /// `<container>-pebble-check-failed`: a Pebble check reached its threshold.
    PebbleCheckFailed,
    /// `<container>-pebble-check-recovered`: a failed check passes again.
    PebbleCheckRecovered,
    /// `secret-changed`: a secret this unit observes has a new revision.
    SecretChanged,
    /// `secret-rotate`: a secret this charm owns is due for rotation.
    SecretRotate,
    /// `secret-remove`: a revision of an owned secret is no longer used.
    SecretRemove,
    /// `secret-expired`: a revision of an owned secret expired.
    SecretExpired,
    /// `<storage>-storage-attached`.
    StorageAttached,
    /// `<storage>-storage-detaching`.
    StorageDetaching,
    /// An action, named in [`Event::action`].
    Action,
    /// A dispatch path this library does not know (newer Juju, or a typo in a test).
    Unknown(String),
}

/// The relation an event is about (`JUJU_RELATION*`, `JUJU_REMOTE_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationEvent {
    /// The endpoint name from `metadata.yaml`, e.g. `pg-database`.
    pub endpoint: String,
    /// The relation id, the number in `JUJU_RELATION_ID=pg-database:3`.
    pub id: u32,
    /// The application on the other side (`JUJU_REMOTE_APP`).
    pub remote_app: Option<String>,
    /// The remote unit the event is about (`JUJU_REMOTE_UNIT`).
    pub remote_unit: Option<String>,
    /// The unit leaving, in `relation-departed` (`JUJU_DEPARTING_UNIT`).
    pub departing_unit: Option<String>,
}

/// A Pebble notice (`JUJU_NOTICE_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeEvent {
    /// The notice id (`JUJU_NOTICE_ID`).
    pub id: String,
    /// The notice type, e.g. `custom` (`JUJU_NOTICE_TYPE`).
    pub kind: String,
    /// The notice key, e.g. `example.com/a` (`JUJU_NOTICE_KEY`).
    pub key: String,
}

/// A secret event's subject (`JUJU_SECRET_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEvent {
    /// The secret URI (`JUJU_SECRET_ID`).
    pub id: String,
    /// The secret's label, if it has one (`JUJU_SECRET_LABEL`).
    pub label: Option<String>,
    /// The revision concerned, for remove and expired (`JUJU_SECRET_REVISION`).
    pub revision: Option<u32>,
}

/// A storage event's subject (`JUJU_STORAGE_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageEvent {
    /// The storage name from `metadata.yaml` (from `JUJU_STORAGE_ID`).
    pub name: String,
    /// The storage instance, e.g. `data/0` (`JUJU_STORAGE_ID`).
    pub id: Option<String>,
    /// Where it is mounted (`JUJU_STORAGE_LOCATION`).
    pub location: Option<String>,
}

/// An action run (`JUJU_ACTION_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionEvent {
    /// The action name (`JUJU_ACTION_NAME`).
    pub name: String,
    /// The action's id (`JUJU_ACTION_ID`).
    pub id: Option<String>,
    /// The action's uuid (`JUJU_ACTION_UUID`).
    pub uuid: Option<String>,
}

/// One Juju event with everything the environment says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What happened.
    pub kind: EventKind,
    /// The raw `JUJU_DISPATCH_PATH`, e.g. `hooks/config-changed`.
    pub dispatch_path: String,
    /// This unit, e.g. `kratos/0`.
    pub unit_name: String,
    /// This application, derived from the unit name.
    pub app_name: String,
    /// The model's name (`JUJU_MODEL_NAME`).
    pub model_name: String,
    /// The model's uuid (`JUJU_MODEL_UUID`).
    pub model_uuid: String,
    /// The agent's version (`JUJU_VERSION`).
    pub juju_version: String,
    /// The charm's directory (`JUJU_CHARM_DIR`).
    pub charm_dir: Option<String>,
    /// The relation of a relation event.
    pub relation: Option<RelationEvent>,
    /// The container of a Pebble event (`JUJU_WORKLOAD_NAME`).
    pub workload: Option<String>,
    /// The notice of a `pebble-custom-notice` event.
    pub notice: Option<NoticeEvent>,
    /// The check of a `pebble-check-*` event (`JUJU_PEBBLE_CHECK_NAME`).
    pub check_name: Option<String>,
    /// The secret of a secret event.
    pub secret: Option<SecretEvent>,
    /// The storage of a storage event.
    pub storage: Option<StorageEvent>,
    /// The action of an action event.
    pub action: Option<ActionEvent>,
    /// Problems met while parsing (missing or malformed variables). They never stop the
    /// charm; the caller logs them.
    pub warnings: Vec<String>,
}

impl Event {
    /// Parses the current process environment.
    pub fn from_env() -> Event {
        Event::from_vars(std::env::vars())
    }

    /// Parses a set of environment variables (tests pass their own).
    ///
    /// ```
    /// use juju_rs_ops::event::{Event, EventKind};
    /// let event = Event::from_vars([
    ///     ("JUJU_DISPATCH_PATH", "hooks/pg-database-relation-changed"),
    ///     ("JUJU_UNIT_NAME", "kratos/0"),
    ///     ("JUJU_RELATION", "pg-database"),
    ///     ("JUJU_RELATION_ID", "pg-database:3"),
    ///     ("JUJU_REMOTE_APP", "postgresql-k8s"),
    /// ]);
    /// assert_eq!(event.kind, EventKind::RelationChanged);
    /// assert_eq!(event.relation.unwrap().id, 3);
    /// ```
    pub fn from_vars<I, K, V>(vars: I) -> Event
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let env: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(k, _)| k.starts_with("JUJU_"))
            .collect();
        let get = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let mut warnings = Vec::new();

        let dispatch_path = get("JUJU_DISPATCH_PATH").unwrap_or_default();
        if dispatch_path.is_empty() {
            warnings.push("JUJU_DISPATCH_PATH is not set".to_string());
        }
        let unit_name = get("JUJU_UNIT_NAME").unwrap_or_default();
        if unit_name.is_empty() {
            warnings.push("JUJU_UNIT_NAME is not set".to_string());
        }
        let app_name = unit_name
            .split_once('/')
            .map(|(app, _)| app.to_string())
            .unwrap_or_else(|| unit_name.clone());

        let (kind, action_name) = classify(&dispatch_path);

        let relation = get("JUJU_RELATION").map(|endpoint| {
            let raw_id = get("JUJU_RELATION_ID").unwrap_or_default();
            let id = parse_relation_id(&raw_id).unwrap_or_else(|| {
                warnings.push(format!("malformed JUJU_RELATION_ID {raw_id:?}"));
                0
            });
            RelationEvent {
                endpoint,
                id,
                remote_app: get("JUJU_REMOTE_APP"),
                remote_unit: get("JUJU_REMOTE_UNIT"),
                departing_unit: get("JUJU_DEPARTING_UNIT"),
            }
        });
        if relation.is_none() && is_relation_kind(&kind) {
            warnings.push(format!("{dispatch_path} without JUJU_RELATION"));
        }

        let notice = get("JUJU_NOTICE_ID").map(|id| NoticeEvent {
            id,
            kind: get("JUJU_NOTICE_TYPE").unwrap_or_default(),
            key: get("JUJU_NOTICE_KEY").unwrap_or_default(),
        });
        let secret = get("JUJU_SECRET_ID").map(|id| SecretEvent {
            id,
            label: get("JUJU_SECRET_LABEL"),
            revision: get("JUJU_SECRET_REVISION").and_then(|r| r.parse().ok()),
        });
        let storage = get("JUJU_STORAGE_ID").map(|id| StorageEvent {
            name: id
                .split_once('/')
                .map(|(n, _)| n.to_string())
                .unwrap_or_else(|| id.clone()),
            id: Some(id),
            location: get("JUJU_STORAGE_LOCATION"),
        });
        let action = action_name.map(|name| ActionEvent {
            name,
            id: get("JUJU_ACTION_ID"),
            uuid: get("JUJU_ACTION_UUID"),
        });

        Event {
            kind,
            dispatch_path,
            unit_name,
            app_name,
            model_name: get("JUJU_MODEL_NAME").unwrap_or_default(),
            model_uuid: get("JUJU_MODEL_UUID").unwrap_or_default(),
            juju_version: get("JUJU_VERSION").unwrap_or_default(),
            charm_dir: get("JUJU_CHARM_DIR"),
            relation,
            workload: get("JUJU_WORKLOAD_NAME"),
            notice,
            check_name: get("JUJU_PEBBLE_CHECK_NAME"),
            secret,
            storage,
            action,
            warnings,
        }
    }

    /// The event's name as Juju spells it, e.g. `config-changed` or `kratos-pebble-ready`.
    pub fn name(&self) -> &str {
        self.dispatch_path
            .rsplit_once('/')
            .map(|(_, name)| name)
            .unwrap_or(&self.dispatch_path)
    }

    /// Whether this is an action rather than a hook.
    pub fn is_action(&self) -> bool {
        self.kind == EventKind::Action
    }
}

fn is_relation_kind(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::RelationCreated
            | EventKind::RelationJoined
            | EventKind::RelationChanged
            | EventKind::RelationDeparted
            | EventKind::RelationBroken
    )
}

/// `pg-database:3` or `3` -> 3.
fn parse_relation_id(raw: &str) -> Option<u32> {
    raw.rsplit(':').next()?.parse().ok()
}

/// Maps a dispatch path to its kind, and to the action name for `actions/<name>`.
fn classify(dispatch_path: &str) -> (EventKind, Option<String>) {
    if let Some(action) = dispatch_path.strip_prefix("actions/") {
        return (EventKind::Action, Some(action.to_string()));
    }
    let Some(hook) = dispatch_path.strip_prefix("hooks/") else {
        return (EventKind::Unknown(dispatch_path.to_string()), None);
    };
    let exact = match hook {
        "install" => Some(EventKind::Install),
        "start" => Some(EventKind::Start),
        "stop" => Some(EventKind::Stop),
        "remove" => Some(EventKind::Remove),
        "upgrade-charm" => Some(EventKind::UpgradeCharm),
        "config-changed" => Some(EventKind::ConfigChanged),
        "update-status" => Some(EventKind::UpdateStatus),
        "leader-elected" => Some(EventKind::LeaderElected),
        "leader-settings-changed" => Some(EventKind::LeaderSettingsChanged),
        "pre-series-upgrade" => Some(EventKind::PreSeriesUpgrade),
        "post-series-upgrade" => Some(EventKind::PostSeriesUpgrade),
        "collect-metrics" => Some(EventKind::CollectMetrics),
        "secret-changed" => Some(EventKind::SecretChanged),
        "secret-rotate" => Some(EventKind::SecretRotate),
        "secret-remove" => Some(EventKind::SecretRemove),
        "secret-expired" => Some(EventKind::SecretExpired),
        _ => None,
    };
    if let Some(kind) = exact {
        return (kind, None);
    }
    // Longest suffixes first: "-pebble-check-recovered" before "-recovered" and so on.
    const SUFFIXES: &[(&str, EventKind)] = &[
        ("-relation-created", EventKind::RelationCreated),
        ("-relation-joined", EventKind::RelationJoined),
        ("-relation-changed", EventKind::RelationChanged),
        ("-relation-departed", EventKind::RelationDeparted),
        ("-relation-broken", EventKind::RelationBroken),
        ("-pebble-ready", EventKind::PebbleReady),
        ("-pebble-custom-notice", EventKind::PebbleCustomNotice),
        ("-pebble-check-failed", EventKind::PebbleCheckFailed),
        ("-pebble-check-recovered", EventKind::PebbleCheckRecovered),
        ("-storage-attached", EventKind::StorageAttached),
        ("-storage-detaching", EventKind::StorageDetaching),
    ];
    for (suffix, kind) in SUFFIXES {
        if hook.len() > suffix.len() && hook.ends_with(suffix) {
            return (kind.clone(), None);
        }
    }
    (EventKind::Unknown(hook.to_string()), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(vars: &[(&str, &str)]) -> Event {
        Event::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn parses_simple_hooks() {
        for (path, kind) in [
            ("hooks/install", EventKind::Install),
            ("hooks/config-changed", EventKind::ConfigChanged),
            ("hooks/update-status", EventKind::UpdateStatus),
            ("hooks/leader-elected", EventKind::LeaderElected),
            ("hooks/upgrade-charm", EventKind::UpgradeCharm),
            ("hooks/remove", EventKind::Remove),
        ] {
            let e = event(&[("JUJU_DISPATCH_PATH", path), ("JUJU_UNIT_NAME", "kratos/1")]);
            assert_eq!(e.kind, kind, "{path}");
            assert_eq!(e.app_name, "kratos");
            assert!(e.warnings.is_empty(), "{:?}", e.warnings);
        }
    }

    #[test]
    fn parses_relation_events_with_ids_in_both_spellings() {
        let e = event(&[
            ("JUJU_DISPATCH_PATH", "hooks/kratos-peers-relation-departed"),
            ("JUJU_UNIT_NAME", "kratos/0"),
            ("JUJU_RELATION", "kratos-peers"),
            ("JUJU_RELATION_ID", "7"),
            ("JUJU_REMOTE_UNIT", "kratos/1"),
            ("JUJU_DEPARTING_UNIT", "kratos/1"),
        ]);
        assert_eq!(e.kind, EventKind::RelationDeparted);
        let rel = e.relation.expect("relation");
        assert_eq!((rel.endpoint.as_str(), rel.id), ("kratos-peers", 7));
        assert_eq!(rel.departing_unit.as_deref(), Some("kratos/1"));
    }

    #[test]
    fn parses_pebble_secret_storage_and_action_events() {
        let e = event(&[
            ("JUJU_DISPATCH_PATH", "hooks/kratos-pebble-check-recovered"),
            ("JUJU_WORKLOAD_NAME", "kratos"),
            ("JUJU_PEBBLE_CHECK_NAME", "ready"),
        ]);
        assert_eq!(e.kind, EventKind::PebbleCheckRecovered);
        assert_eq!(e.check_name.as_deref(), Some("ready"));

        let e = event(&[
            ("JUJU_DISPATCH_PATH", "hooks/kratos-pebble-custom-notice"),
            ("JUJU_NOTICE_ID", "12"),
            ("JUJU_NOTICE_TYPE", "custom"),
            ("JUJU_NOTICE_KEY", "example.com/reload"),
        ]);
        assert_eq!(e.kind, EventKind::PebbleCustomNotice);
        assert_eq!(e.notice.expect("notice").key, "example.com/reload");

        let e = event(&[
            ("JUJU_DISPATCH_PATH", "hooks/secret-changed"),
            ("JUJU_SECRET_ID", "secret:abc"),
            ("JUJU_SECRET_LABEL", "cookie_secret"),
            ("JUJU_SECRET_REVISION", "2"),
        ]);
        assert_eq!(e.kind, EventKind::SecretChanged);
        assert_eq!(e.secret.expect("secret").revision, Some(2));

        let e = event(&[
            ("JUJU_DISPATCH_PATH", "hooks/data-storage-attached"),
            ("JUJU_STORAGE_ID", "data/0"),
        ]);
        assert_eq!(e.kind, EventKind::StorageAttached);
        assert_eq!(e.storage.expect("storage").name, "data");

        let e = event(&[
            ("JUJU_DISPATCH_PATH", "actions/create-admin-account"),
            ("JUJU_ACTION_UUID", "42"),
        ]);
        assert!(e.is_action());
        assert_eq!(
            e.action.as_ref().expect("action").name,
            "create-admin-account"
        );
        assert_eq!(e.name(), "create-admin-account");
    }

    #[test]
    fn unknown_and_malformed_environments_never_panic() {
        let e = event(&[]);
        assert_eq!(e.kind, EventKind::Unknown(String::new()));
        assert_eq!(e.warnings.len(), 2);

        let e = event(&[("JUJU_DISPATCH_PATH", "hooks/some-future-event")]);
        assert_eq!(e.kind, EventKind::Unknown("some-future-event".into()));

        let e = event(&[("JUJU_DISPATCH_PATH", "hooks/-relation-changed")]);
        assert!(matches!(e.kind, EventKind::Unknown(_)));

        let e = event(&[
            ("JUJU_DISPATCH_PATH", "hooks/db-relation-changed"),
            ("JUJU_UNIT_NAME", "kratos/0"),
            ("JUJU_RELATION", "db"),
            ("JUJU_RELATION_ID", "db:x"),
        ]);
        assert_eq!(e.relation.expect("relation").id, 0);
        assert!(e.warnings.iter().any(|w| w.contains("JUJU_RELATION_ID")));

        let e = event(&[
            ("JUJU_DISPATCH_PATH", "hooks/db-relation-changed"),
            ("JUJU_UNIT_NAME", "kratos/0"),
        ]);
        assert!(e
            .warnings
            .iter()
            .any(|w| w.contains("without JUJU_RELATION")));
    }
}
