//! Relations and their databags.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use super::{
    args, decode, decode_json, decode_json_or_null, encode_json, relation_tool_error, Model,
    ModelError,
};

/// One databag: string keys to string values, as Juju stores them.
pub type Databag = BTreeMap<String, String>;

/// One relation of this application, as seen from this unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// The relation id (the `3` of `pg-database:3`).
    pub id: u32,
    /// This charm's endpoint, e.g. `pg-database`.
    pub endpoint: String,
    /// The application on the other side; for a peer relation, this application.
    /// `None` when Juju does not know it (yet).
    pub remote_app: Option<String>,
    /// The units on the other side that have joined, sorted (for a peer relation: the
    /// other units of this application).
    pub remote_units: Vec<String>,
}

impl Relation {
    /// The relation as hook tools name it, `endpoint:id`.
    pub fn reference(&self) -> String {
        format!("{}:{}", self.endpoint, self.id)
    }
}

/// Which databag of a relation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Bag {
    /// This application's bag: only the leader may write it, and (except on a peer
    /// relation) only the leader may read it.
    LocalApp,
    /// This unit's bag.
    LocalUnit,
    /// The remote application's bag (read only).
    RemoteApp,
    /// A named unit's bag: a remote unit (read only) or this unit.
    Unit(String),
}

/// Cache key of a databag: relation id, member (unit or app name), is-app.
pub(super) type BagKey = (u32, String, bool);

impl Model {
    /// The relations on `endpoint` (`relation-ids <endpoint> --format=json`, then per
    /// relation `relation-list --format=json -r <endpoint>:<id>` for the remote units).
    /// Read once per endpoint.
    ///
    /// The remote application comes from the event (`JUJU_REMOTE_APP`) for the event's
    /// relation, from the remote units' names when any have joined, and otherwise from
    /// `relation-list --format=json --app -r <endpoint>:<id>`.
    ///
    /// In `relation-broken`, the relation being broken is left out (as ops does): Juju
    /// still lists it in `relation-ids`, but for the charm it is gone, so holistic code
    /// converges to "that relation is gone" without filtering it itself. Only that
    /// event hides it (in `relation-departed` the relation is still there), and nothing
    /// is asked about it.
    pub fn relations(&self, endpoint: &str) -> Result<Vec<Relation>, ModelError> {
        if let Some(relations) = self.cache.borrow().relations.get(endpoint) {
            return Ok(relations.clone());
        }
        let out = self
            .call("relation-ids", args([endpoint, "--format=json"]), None)
            .map_err(super::tool_error(format!(
                "listing relations of {endpoint:?}"
            )))?;
        let ids: Vec<String> = decode_json_or_null("relation-ids", &out)?;
        let mut relations = Vec::with_capacity(ids.len());
        for raw in ids {
            let id: u32 = raw
                .rsplit(':')
                .next()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| ModelError::Decode {
                    what: "relation-ids".to_string(),
                    message: format!("malformed relation id {raw:?}"),
                })?;
            if self.broken_relation == Some(id) {
                continue;
            }
            relations.push(self.load_relation(endpoint, id)?);
        }
        self.cache
            .borrow_mut()
            .relations
            .insert(endpoint.to_string(), relations.clone());
        Ok(relations)
    }

    /// The relation with this id on `endpoint`, if it exists. `None` for the relation
    /// being broken in a `relation-broken` event, like [`Model::relations`].
    pub fn relation(&self, endpoint: &str, id: u32) -> Result<Option<Relation>, ModelError> {
        Ok(self.relations(endpoint)?.into_iter().find(|r| r.id == id))
    }

    /// The first relation on `endpoint` (in `relation-ids` order), for endpoints with at
    /// most one relation (`limit: 1`, peers). Like [`Model::relations`], leaves out the
    /// relation of a `relation-broken` event.
    pub fn first_relation(&self, endpoint: &str) -> Result<Option<Relation>, ModelError> {
        Ok(self.relations(endpoint)?.into_iter().next())
    }

    /// The remote application's databag of every relation on `endpoint` whose remote
    /// application is known, with its relation, in [`Model::relations`] order
    /// (relations without a known remote application are skipped).
    pub fn remote_app_bags(&self, endpoint: &str) -> Result<Vec<(Relation, Databag)>, ModelError> {
        let mut bags = Vec::new();
        for relation in self.relations(endpoint)? {
            if relation.remote_app.is_some() {
                let bag = self.databag(&relation, Bag::RemoteApp)?;
                bags.push((relation, bag));
            }
        }
        Ok(bags)
    }

    /// The remote application's databag of the [first relation](Model::first_relation)
    /// on `endpoint`, with that relation; `None` without a relation, or when the first
    /// relation's remote application is not known yet.
    pub fn remote_app_bag(
        &self,
        endpoint: &str,
    ) -> Result<Option<(Relation, Databag)>, ModelError> {
        match self.first_relation(endpoint)? {
            Some(relation) if relation.remote_app.is_some() => {
                let bag = self.databag(&relation, Bag::RemoteApp)?;
                Ok(Some((relation, bag)))
            }
            _ => Ok(None),
        }
    }

    fn load_relation(&self, endpoint: &str, id: u32) -> Result<Relation, ModelError> {
        let reference = format!("{endpoint}:{id}");
        let out = self
            .call(
                "relation-list",
                args(["--format=json", "-r", &reference]),
                None,
            )
            .map_err(relation_tool_error(
                &reference,
                format!("listing units of relation {reference}"),
            ))?;
        let mut remote_units: Vec<String> = decode_json_or_null("relation-list", &out)?;
        remote_units.sort();

        let from_event = match &self.event_relation {
            Some((event_id, Some(app))) if *event_id == id => Some(app.clone()),
            _ => None,
        };
        // A unit's name is `<application>/<number>`, so joined units name their app.
        let from_units = || {
            remote_units
                .first()
                .and_then(|unit| unit.split_once('/'))
                .map(|(app, _)| app.to_string())
        };
        let remote_app = match from_event.or_else(from_units) {
            Some(app) => Some(app),
            None => self.remote_app_from_juju(&reference)?,
        };
        Ok(Relation {
            id,
            endpoint: endpoint.to_string(),
            remote_app,
            remote_units,
        })
    }

    fn remote_app_from_juju(&self, reference: &str) -> Result<Option<String>, ModelError> {
        let result = self
            .call(
                "relation-list",
                args(["--format=json", "--app", "-r", reference]),
                None,
            )
            .map_err(relation_tool_error(
                reference,
                format!("reading the remote application of {reference}"),
            ));
        let out = match result {
            Ok(out) => out,
            // As ops: a relation Juju no longer knows has no remote app.
            Err(ModelError::RelationNotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let app: Option<String> = decode_json("relation-list --app", &out)?;
        Ok(app.filter(|a| !a.is_empty()))
    }

    /// Resolves a [`Bag`] to the member name `relation-get` wants and whether it is an
    /// application bag.
    fn bag_member(&self, relation: &Relation, bag: &Bag) -> Result<(String, bool), ModelError> {
        Ok(match bag {
            Bag::LocalApp => (self.app_name.clone(), true),
            Bag::LocalUnit => (self.unit_name.clone(), false),
            Bag::RemoteApp => match &relation.remote_app {
                Some(app) => (app.clone(), true),
                None => {
                    return Err(ModelError::Invalid {
                        what: "databag".to_string(),
                        message: format!(
                            "relation {} has no known remote application",
                            relation.reference()
                        ),
                    })
                }
            },
            Bag::Unit(unit) => (unit.clone(), false),
        })
    }

    /// A whole databag (`relation-get --format=json -r <endpoint>:<id> [--app] -
    /// <unit-or-app>`). Read once per bag; writes through [`Model::update_databag`]
    /// update it.
    ///
    /// Reading this application's bag needs leadership except on a peer relation
    /// ([`ModelError::NotLeader`]), as in Juju.
    pub fn databag(&self, relation: &Relation, bag: Bag) -> Result<Databag, ModelError> {
        let (member, is_app) = self.bag_member(relation, &bag)?;
        let key: BagKey = (relation.id, member, is_app);
        if let Some(data) = self.cache.borrow().databags.get(&key) {
            return Ok(data.clone());
        }
        let is_peer = relation.remote_app.as_deref() == Some(self.app_name.as_str());
        if bag == Bag::LocalApp && !is_peer {
            self.require_leader(|| {
                format!(
                    "read its application databag of relation {}",
                    relation.reference()
                )
            })?;
        }
        let reference = relation.reference();
        let mut argv = args(["--format=json", "-r", &reference]);
        if is_app {
            argv.push("--app".to_string());
        }
        argv.push("-".to_string());
        argv.push(key.1.clone());
        let out = self
            .call("relation-get", argv, None)
            .map_err(relation_tool_error(
                &reference,
                format!("reading the databag of {} in relation {reference}", key.1),
            ))?;
        let data: Databag = decode_json_or_null("relation-get", &out)?;
        self.cache.borrow_mut().databags.insert(key, data.clone());
        Ok(data)
    }

    /// A databag decoded into the charm's type, field by field: a `String` field gets
    /// the raw value; any other type (numbers, bools, lists, nested structs, ...) gets
    /// the value parsed as JSON first, which is how relation interfaces encode
    /// structured values (`"port": "5432"`, `"endpoints": "[\"a\"]"`). Missing keys
    /// suit `Option` fields.
    ///
    /// ```ignore
    /// #[derive(serde::Deserialize)]
    /// struct DatabaseBag { endpoints: Option<String>, port: Option<u16>, tls: Option<bool> }
    /// let remote: DatabaseBag = model.databag_as(&relation, Bag::RemoteApp)?;
    /// ```
    ///
    /// Errors are [`ModelError::Databag`] naming the key (never its value).
    pub fn databag_as<T: DeserializeOwned>(
        &self,
        relation: &Relation,
        bag: Bag,
    ) -> Result<T, ModelError> {
        let (member, is_app) = self.bag_member(relation, &bag)?;
        let data = self.databag(relation, bag)?;
        decode::from_string_map(&data).map_err(|e| ModelError::Databag {
            relation: relation.reference(),
            bag: if is_app {
                format!("{member} (app)")
            } else {
                member
            },
            key: e.key,
            message: e.message,
        })
    }

    /// Writes changes to this unit's or (leader only) this application's bag
    /// (`relation-set -r <endpoint>:<id> [--app] --file -`, a JSON map on stdin, as ops
    /// sends it). Only keys whose value differs from the current bag are sent; `""`
    /// deletes a key (and is sent only if the key exists). Returns whether anything was
    /// written; the cache is updated.
    ///
    /// Remote bags are read only ([`ModelError::Invalid`]); the application bag needs
    /// leadership ([`ModelError::NotLeader`]).
    pub fn update_databag(
        &self,
        relation: &Relation,
        bag: Bag,
        changes: &Databag,
    ) -> Result<bool, ModelError> {
        let reference = relation.reference();
        let is_app = match &bag {
            Bag::LocalApp => true,
            Bag::LocalUnit => false,
            Bag::Unit(unit) if *unit == self.unit_name => false,
            Bag::RemoteApp | Bag::Unit(_) => {
                return Err(ModelError::Invalid {
                    what: "databag write".to_string(),
                    message: format!("the remote bags of relation {reference} are read only"),
                })
            }
        };
        if let Some(key) = changes.keys().find(|k| k.is_empty()) {
            return Err(ModelError::Invalid {
                what: "databag write".to_string(),
                message: format!("empty key {key:?} in relation {reference}"),
            });
        }
        if is_app {
            self.require_leader(|| {
                format!("write its application databag of relation {reference}")
            })?;
        }
        let bag = if is_app {
            Bag::LocalApp
        } else {
            Bag::LocalUnit
        };
        let current = self.databag(relation, bag.clone())?;
        let delta: Databag = changes
            .iter()
            .filter(|(k, v)| match current.get(*k) {
                Some(old) => old != *v,
                None => !v.is_empty(),
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if delta.is_empty() {
            return Ok(false);
        }
        let mut argv = args(["-r", &reference]);
        if is_app {
            argv.push("--app".to_string());
        }
        argv.extend(args(["--file", "-"]));
        let stdin = encode_json(&delta)?;
        self.call("relation-set", argv, Some(&stdin))
            .map_err(relation_tool_error(
                &reference,
                format!("writing the databag of relation {reference}"),
            ))?;

        let (member, _) = self.bag_member(relation, &bag)?;
        let mut cache = self.cache.borrow_mut();
        if let Some(data) = cache.databags.get_mut(&(relation.id, member, is_app)) {
            for (k, v) in delta {
                if v.is_empty() {
                    data.remove(&k);
                } else {
                    data.insert(k, v);
                }
            }
        }
        Ok(true)
    }
}
