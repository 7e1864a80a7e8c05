//! Relations remembered across hooks, in the unit's server-side state (opt-in).
//!
//! Reading every relation costs `relation-ids` per endpoint, `relation-list` per relation
//! and `relation-get` per databag: dozens of hook-tool calls for a charm with many
//! integrations. Juju tells a unit about every change to a relation with an event on that
//! relation, so what a hook read stays true until such an event:
//! - `relation-created`/`-joined`/`-departed`/`-broken` and `relation-changed` on relation
//!   R invalidate what is remembered of R (its membership and every bag), and of R's
//!   endpoint's list of relations (except for `relation-changed`, which changes no
//!   membership: only R's bags are dropped);
//! - `leader-elected` and `leader-settings-changed` invalidate this application's own bags
//!   (another unit led and may have written them);
//! - `upgrade-charm` (the endpoints may have changed) and `install` drop everything.
//!
//! Everything else (config, secrets, Pebble, status, actions) is answered from the
//! snapshot. Peer relations are not remembered: the application's own units write them
//! (one relation, a few calls), and what they hold (e.g. a migration record) is what a
//! unit must never read stale. A hook that fails has its state writes discarded by Juju, so the snapshot
//! only ever holds what a successful hook saw. Secrets are never part of it; relation
//! data is, and the controller stores unit state unencrypted: an endpoint whose remote
//! data can carry a credential (a client secret, a password sent inline by an older
//! provider) is named as private ([`Model::use_relation_cache_except`]), and the remote
//! bags of its relations are never remembered (read from Juju in every hook instead; this
//! application's own bags on it still are).
//!
//! [`Model::use_relation_cache_except`]: super::Model::use_relation_cache_except

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::relations::{BagKey, Databag, Relation};
use crate::event::{Event, EventKind};

/// What was read of the relations, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Snapshot {
    /// Endpoint -> its relations.
    pub relations: BTreeMap<String, Vec<StoredRelation>>,
    /// Databags by (relation id, member, is-app).
    pub bags: Vec<(BagKey, Databag)>,
}

/// A [`Relation`] as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct StoredRelation {
    pub id: u32,
    pub remote_app: Option<String>,
    pub remote_units: Vec<String>,
}

impl Snapshot {
    /// The snapshot of what this dispatch knows (peer relations of `app` left out).
    pub fn of(
        relations: &BTreeMap<String, Vec<Relation>>,
        bags: &BTreeMap<BagKey, Databag>,
        app: &str,
    ) -> Snapshot {
        let is_peer = |r: &Relation| r.remote_app.as_deref() == Some(app);
        let peer_ids: Vec<u32> = relations
            .values()
            .flatten()
            .filter(|r| is_peer(r))
            .map(|r| r.id)
            .collect();
        Snapshot {
            relations: relations
                .iter()
                .filter(|(_, list)| !list.iter().any(is_peer))
                .map(|(endpoint, list)| {
                    let stored = list
                        .iter()
                        .map(|r| StoredRelation {
                            id: r.id,
                            remote_app: r.remote_app.clone(),
                            remote_units: r.remote_units.clone(),
                        })
                        .collect();
                    (endpoint.clone(), stored)
                })
                .collect(),
            bags: bags
                .iter()
                .filter(|((id, _, _), _)| !peer_ids.contains(id))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The snapshot without the remote bags of relations on `private` endpoints. Bags
    /// of a relation the snapshot does not list are left out too when any endpoint is
    /// private (their endpoint is unknown). This application's bags (`app`, `unit`) stay.
    pub fn without_remote_bags_of(mut self, private: &[String], app: &str, unit: &str) -> Snapshot {
        if private.is_empty() {
            return self;
        }
        let public_ids: Vec<u32> = self
            .relations
            .iter()
            .filter(|(endpoint, _)| !private.contains(endpoint))
            .flat_map(|(_, list)| list.iter().map(|r| r.id))
            .collect();
        self.bags.retain(|((id, member, is_app), _)| {
            let local = if *is_app {
                member == app
            } else {
                member == unit
            };
            local || public_ids.contains(id)
        });
        self
    }

    /// What is still true for `event` (see the module's rules).
    pub fn still_valid_for(mut self, event: &Event, app: &str) -> Snapshot {
        match (&event.kind, &event.relation) {
            (EventKind::UpgradeCharm | EventKind::Install, _) => return Snapshot::default(),
            (EventKind::LeaderElected | EventKind::LeaderSettingsChanged, _) => {
                self.bags
                    .retain(|((_, member, is_app), _)| !(*is_app && member == app));
            }
            (EventKind::RelationChanged, Some(relation)) => {
                self.bags.retain(|((id, _, _), _)| *id != relation.id);
            }
            (
                EventKind::RelationCreated
                | EventKind::RelationJoined
                | EventKind::RelationDeparted
                | EventKind::RelationBroken,
                Some(relation),
            ) => {
                self.bags.retain(|((id, _, _), _)| *id != relation.id);
                self.relations.remove(&relation.endpoint);
            }
            _ => {}
        }
        self
    }

    /// The relations of each endpoint, as the model caches them.
    pub fn relations(&self) -> BTreeMap<String, Vec<Relation>> {
        self.relations
            .iter()
            .map(|(endpoint, list)| {
                let relations = list
                    .iter()
                    .map(|r| Relation {
                        id: r.id,
                        endpoint: endpoint.clone(),
                        remote_app: r.remote_app.clone(),
                        remote_units: r.remote_units.clone(),
                    })
                    .collect();
                (endpoint.clone(), relations)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        let relation = |id: u32, endpoint: &str, app: &str| Relation {
            id,
            endpoint: endpoint.into(),
            remote_app: Some(app.into()),
            remote_units: vec![format!("{app}/0")],
        };
        let relations = BTreeMap::from([
            ("db".to_string(), vec![relation(1, "db", "pg")]),
            ("ui".to_string(), vec![relation(2, "ui", "web")]),
        ]);
        let bag = |id: u32, member: &str, is_app: bool| {
            (
                (id, member.to_string(), is_app),
                Databag::from([("k".to_string(), "v".to_string())]),
            )
        };
        let bags = BTreeMap::from([
            bag(1, "pg", true),
            bag(1, "kratos", true),
            bag(2, "web", true),
        ]);
        Snapshot::of(&relations, &bags, "kratos")
    }

    fn event(vars: &[(&str, &str)]) -> Event {
        Event::from_vars(vars.iter().copied().chain([("JUJU_UNIT_NAME", "kratos/0")]))
    }

    #[test]
    fn peer_relations_are_not_remembered() {
        let peers = BTreeMap::from([(
            "peers".to_string(),
            vec![Relation {
                id: 0,
                endpoint: "peers".into(),
                remote_app: Some("kratos".into()),
                remote_units: vec![],
            }],
        )]);
        let bags = BTreeMap::from([((0, "kratos".to_string(), true), Databag::new())]);
        assert_eq!(Snapshot::of(&peers, &bags, "kratos"), Snapshot::default());
    }

    #[test]
    fn events_outside_relations_keep_everything() {
        for hook in [
            "config-changed",
            "update-status",
            "secret-changed",
            "kratos-pebble-ready",
        ] {
            let kept = snapshot().still_valid_for(
                &event(&[("JUJU_DISPATCH_PATH", &format!("hooks/{hook}"))]),
                "kratos",
            );
            assert_eq!(kept, snapshot(), "{hook}");
        }
    }

    #[test]
    fn a_relation_event_drops_that_relation_only() {
        let changed = event(&[
            ("JUJU_DISPATCH_PATH", "hooks/db-relation-changed"),
            ("JUJU_RELATION", "db"),
            ("JUJU_RELATION_ID", "db:1"),
            ("JUJU_REMOTE_APP", "pg"),
        ]);
        let kept = snapshot().still_valid_for(&changed, "kratos");
        assert!(kept.bags.iter().all(|((id, _, _), _)| *id == 2));
        assert_eq!(kept.relations.len(), 2, "membership is unchanged");
        let departed = event(&[
            ("JUJU_DISPATCH_PATH", "hooks/db-relation-departed"),
            ("JUJU_RELATION", "db"),
            ("JUJU_RELATION_ID", "db:1"),
            ("JUJU_REMOTE_UNIT", "pg/0"),
        ]);
        let kept = snapshot().still_valid_for(&departed, "kratos");
        assert!(!kept.relations.contains_key("db"));
        assert!(kept.relations.contains_key("ui"));
    }

    #[test]
    fn remote_bags_of_private_endpoints_are_left_out() {
        let mut with_units = snapshot();
        with_units.bags.push((
            (1, "pg/0".to_string(), false),
            Databag::from([("password".to_string(), "hunter2".to_string())]),
        ));
        with_units.bags.push((
            (1, "kratos/0".to_string(), false),
            Databag::from([("asked".to_string(), "yes".to_string())]),
        ));
        // A bag of a relation the snapshot does not list: its endpoint is unknown.
        with_units
            .bags
            .push(((9, "other".to_string(), true), Databag::new()));
        let kept =
            with_units
                .clone()
                .without_remote_bags_of(&["db".to_string()], "kratos", "kratos/0");
        let members: Vec<(u32, &str)> = kept
            .bags
            .iter()
            .map(|((id, member, _), _)| (*id, member.as_str()))
            .collect();
        assert_eq!(members, [(1, "kratos"), (2, "web"), (1, "kratos/0")]);
        assert_eq!(kept.relations, with_units.relations, "membership is kept");
        assert_eq!(
            with_units
                .clone()
                .without_remote_bags_of(&[], "kratos", "kratos/0"),
            with_units,
            "nothing private: everything kept"
        );
    }

    #[test]
    fn leadership_drops_our_bags_and_an_upgrade_everything() {
        let elected = event(&[("JUJU_DISPATCH_PATH", "hooks/leader-elected")]);
        let kept = snapshot().still_valid_for(&elected, "kratos");
        assert!(kept
            .bags
            .iter()
            .all(|((_, member, _), _)| member != "kratos"));
        assert_eq!(kept.bags.len(), 2);
        let upgrade = event(&[("JUJU_DISPATCH_PATH", "hooks/upgrade-charm")]);
        assert_eq!(
            snapshot().still_valid_for(&upgrade, "kratos"),
            Snapshot::default()
        );
    }
}
