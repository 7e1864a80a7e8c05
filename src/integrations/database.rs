//! `pg-database` (postgresql_client, the data_platform_libs `DatabaseRequires` wire
//! format): the leader asks for a database; postgresql-k8s answers with endpoints and
//! credentials, either in its application databag or, with current postgresql-k8s, in a
//! Juju secret referenced by `secret-user`.

use juju_rs_ops::model::{Bag, Model, ModelError};
use juju_rs_ops::Status;
use percent_encoding::utf8_percent_encode;

use super::{is_url_host, BadRelationData, Contribute, Databag, Integration, Reading, USERINFO};
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::secrets;
use crate::sensitive::Sensitive;
use crate::workload::WorkloadSpec;

/// The endpoint.
pub const ENDPOINT: &str = "pg-database";

/// The status while the provider has not given usable credentials yet.
const WAITING: &str = "Waiting for database creation";

/// The integration: the leader asks for the database; every unit reads the credentials
/// (from the databag or the referenced secret).
pub struct Database;

/// The database this unit uses, and which relation gave it (migrations are recorded per
/// relation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConnection {
    /// The pg-database relation's id.
    pub relation_id: u32,
    /// Where and as whom.
    pub connection: Connection,
}

impl Integration for Database {
    type Data = DatabaseConnection;

    /// Without a database Kratos cannot serve.
    fn absent_status() -> Option<Status> {
        Some(Status::blocked(format!("Missing integration {ENDPOINT}")))
    }

    fn read(model: &Model) -> Result<Reading<DatabaseConnection>, CharmError> {
        let Some(relation) = model.first_relation(ENDPOINT)? else {
            return Ok(Reading::Absent);
        };
        if relation.remote_app.is_none() {
            return Ok(Reading::Waiting(WAITING.into()));
        }
        let offer = match parse_offer(&model.databag(&relation, Bag::RemoteApp)?) {
            Ok(offer) => offer,
            Err(bad) => return Ok(bad.into()),
        };
        let (endpoint, username, password) = match offer {
            Offer::Pending => return Ok(Reading::Waiting(WAITING.into())),
            Offer::Inline {
                endpoint,
                username,
                password,
            } => (endpoint, username, password),
            Offer::InSecret {
                endpoint,
                secret_id,
            } => match secret_credentials(model, &secret_id)? {
                Ok((username, password)) => (endpoint, username, password),
                Err(not_ready) => return Ok(not_ready),
            },
        };
        Ok(Reading::Ready(DatabaseConnection {
            relation_id: relation.id,
            connection: Connection {
                endpoint,
                database: database_name(model.model_name(), model.app_name()),
                username,
                password,
            },
        }))
    }

    /// The leader asks for the database (application bag, and `requested-secrets` in its
    /// unit bag as the library does). Every unit removes the library's `data` from its
    /// unit bag (see [`LIBRARY_DIFF_KEY`]).
    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        let Some(relation) = model.first_relation(ENDPOINT)? else {
            return Ok(());
        };
        let mut unit_bag = Databag::from([(LIBRARY_DIFF_KEY.to_string(), String::new())]);
        if inputs.leader {
            model.update_databag(
                &relation,
                Bag::LocalApp,
                &request(model.model_name(), model.app_name()),
            )?;
            unit_bag.insert("requested-secrets".into(), requested_secrets());
        }
        model.update_databag(&relation, Bag::LocalUnit, &unit_bag)?;
        Ok(())
    }
}

impl Contribute for DatabaseConnection {
    fn contribute(&self, workload: &mut WorkloadSpec) {
        workload
            .env
            .insert("DSN".into(), self.connection.dsn().expose().to_string());
    }
}

/// The credentials in the secret `secret_id`, or why they are not usable: not there
/// (removed by the provider), not readable (revoked: Juju says "permission denied"), or
/// incomplete. Each names pg-database, the secret and the fix.
fn secret_credentials(
    model: &Model,
    secret_id: &str,
) -> Result<Result<(String, Sensitive), Reading<DatabaseConnection>>, CharmError> {
    let app = model.app_name();
    let content = match secrets::read(model, secret_id) {
        Ok(Some(content)) => content,
        Ok(None) => {
            return Ok(Err(Reading::Waiting(format!(
                "{WAITING}: the pg-database credentials secret {secret_id} (secret-user) \
                 is not there; if postgresql-k8s removed it, juju remove-relation {app} \
                 postgresql-k8s and integrate again"
            ))))
        }
        Err(ModelError::Tool { .. } | ModelError::Decode { .. }) => {
            return Ok(Err(BadRelationData {
                endpoint: ENDPOINT,
                message: format!(
                    "the credentials secret {secret_id} (secret-user) cannot be read: \
                     postgresql-k8s must grant it to this relation (if it does not, \
                     juju remove-relation {app} postgresql-k8s and integrate again)"
                ),
            }
            .into()))
        }
        Err(e) => return Err(e.into()),
    };
    Ok(credentials_from_secret(&content).ok_or_else(|| {
        BadRelationData {
            endpoint: ENDPOINT,
            message: "the credentials secret has no username and password".into(),
        }
        .into()
    }))
}

/// The fields a requirer asks to receive as secrets (`requested-secrets`), as the
/// data_platform_libs requirer lists them.
const REQUESTED_SECRETS: [&str; 8] = [
    "username",
    "password",
    "tls",
    "tls-ca",
    "uris",
    "read-only-uris",
    "entity-name",
    "entity-password",
];

/// Where the data_platform_libs requirer (which the reference charm uses) keeps, in each
/// unit's own bag, a JSON copy of postgresql-k8s's application bag as it last saw it, to
/// diff the next relation-changed against: private to that library, and a copy of the
/// credentials when the provider sends them in the databag. This charm reads the
/// provider's bag itself, so after a refresh from the reference every unit removes it.
pub const LIBRARY_DIFF_KEY: &str = "data";

/// The database name the charm asks for: `<model>_<app>`.
pub fn database_name(model: &str, app: &str) -> String {
    format!("{model}_{app}")
}

/// What the leader writes to its application databag (and, as the reference library
/// does, `requested-secrets` to its unit databag too).
pub fn request(model: &str, app: &str) -> Databag {
    let mut bag = Databag::new();
    bag.insert("database".into(), database_name(model, app));
    bag.insert("extra-user-roles".into(), "SUPERUSER".into());
    bag.insert("requested-secrets".into(), requested_secrets());
    bag
}

/// `requested-secrets` JSON-encoded as the library encodes it.
pub fn requested_secrets() -> String {
    serde_json::to_string(&REQUESTED_SECRETS).unwrap_or_default()
}

/// Where the credentials are, after reading the provider's application databag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Offer {
    /// The provider has not answered yet.
    Pending,
    /// Credentials are in the databag.
    Inline {
        endpoint: String,
        username: String,
        password: Sensitive,
    },
    /// Credentials are in the Juju secret `secret_id` (keys `username`, `password`).
    InSecret { endpoint: String, secret_id: String },
}

/// Reads the provider's application databag.
pub fn parse_offer(bag: &Databag) -> Result<Offer, BadRelationData> {
    let get = |key: &str| bag.get(key).filter(|v| !v.is_empty());
    let Some(endpoints) = get("endpoints") else {
        return Ok(Offer::Pending);
    };
    let endpoint = first_endpoint(endpoints)?;
    if let Some(secret_id) = get("secret-user") {
        return Ok(Offer::InSecret {
            endpoint,
            secret_id: secret_id.clone(),
        });
    }
    match (get("username"), get("password")) {
        (Some(username), Some(password)) => Ok(Offer::Inline {
            endpoint,
            username: username.clone(),
            password: Sensitive::new(password.clone()),
        }),
        _ => Ok(Offer::Pending),
    }
}

/// The first of the comma-separated `host:port` endpoints, checked: the host must be one a
/// URL takes as it is (it goes into Kratos's DSN unescaped).
fn first_endpoint(endpoints: &str) -> Result<String, BadRelationData> {
    let first = endpoints.split(',').next().unwrap_or_default().trim();
    let valid = first
        .rsplit_once(':')
        .is_some_and(|(host, port)| port.parse::<u16>().is_ok() && is_url_host(host));
    if valid {
        Ok(first.to_string())
    } else {
        Err(BadRelationData {
            endpoint: ENDPOINT,
            message: format!("endpoints {endpoints:?} is not a list of host:port"),
        })
    }
}

/// Reads the credentials out of the secret's content.
pub fn credentials_from_secret(content: &Databag) -> Option<(String, Sensitive)> {
    let username = content.get("username").filter(|v| !v.is_empty())?;
    let password = content.get("password").filter(|v| !v.is_empty())?;
    Some((username.clone(), Sensitive::new(password.clone())))
}

/// A usable database connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `host:port`.
    pub endpoint: String,
    /// The database name.
    pub database: String,
    /// The role.
    pub username: String,
    /// The role's password.
    pub password: Sensitive,
}

impl Connection {
    /// `postgres://user:pass@host:port/db` with user and password escaped.
    pub fn dsn(&self) -> Sensitive {
        Sensitive::new(format!(
            "postgres://{}:{}@{}/{}",
            utf8_percent_encode(&self.username, USERINFO),
            utf8_percent_encode(self.password.expose(), USERINFO),
            self.endpoint,
            utf8_percent_encode(&self.database, USERINFO),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::test_bag as bag;

    #[test]
    fn request_matches_the_library_wire_format() {
        let bag = request("prod", "kratos");
        assert_eq!(bag["database"], "prod_kratos");
        assert_eq!(bag["extra-user-roles"], "SUPERUSER");
        let secrets: Vec<String> = serde_json::from_str(&bag["requested-secrets"]).unwrap();
        assert!(secrets.iter().any(|s| s == "username") && secrets.iter().any(|s| s == "password"));
    }

    #[test]
    fn credentials_inline_or_in_a_secret() {
        let inline = parse_offer(&bag(&[
            ("endpoints", "pg-0.pg-endpoints:5432,pg-1.pg-endpoints:5432"),
            ("username", "relation_id_3"),
            ("password", "pw"),
        ]))
        .unwrap();
        assert_eq!(
            inline,
            Offer::Inline {
                endpoint: "pg-0.pg-endpoints:5432".into(),
                username: "relation_id_3".into(),
                password: Sensitive::new("pw"),
            }
        );
        let secret = parse_offer(&bag(&[
            ("endpoints", "10.1.2.3:5432"),
            ("secret-user", "secret:cs0a1b2c3d4e5f6g7h8i"),
        ]))
        .unwrap();
        assert!(
            matches!(secret, Offer::InSecret { ref secret_id, .. } if secret_id == "secret:cs0a1b2c3d4e5f6g7h8i")
        );
        assert_eq!(
            credentials_from_secret(&bag(&[("username", "u"), ("password", "p")])),
            Some(("u".into(), Sensitive::new("p")))
        );
        assert_eq!(credentials_from_secret(&bag(&[("username", "u")])), None);
    }

    #[test]
    fn pending_until_endpoints_and_credentials() {
        assert_eq!(parse_offer(&Databag::new()).unwrap(), Offer::Pending);
        assert_eq!(
            parse_offer(&bag(&[("endpoints", "h:5432")])).unwrap(),
            Offer::Pending
        );
    }

    #[test]
    fn malformed_endpoints_are_reported_without_credentials() {
        let err = parse_offer(&bag(&[("endpoints", "no-port"), ("password", "pw")])).unwrap_err();
        assert!(err.to_string().contains("pg-database"));
        assert!(!err.to_string().contains("pw"));
        assert!(parse_offer(&bag(&[("endpoints", "h:99999")])).is_err());
        assert!(parse_offer(&bag(&[("endpoints", "a@b:1")])).is_err());
    }

    #[test]
    fn endpoints_whose_host_no_url_takes_are_refused() {
        // Found by fuzzing (fuzz/corpus/databag_database/crash-bracket-in-host): the host
        // went into the DSN as it was, and no URL parser reads that DSN.
        for endpoints in [
            "postgresql-k8s-primary.i[m.svc:5432",
            "12>.0.0.1:5432",
            "fd00::1:5432",
        ] {
            let bag = bag(&[
                ("endpoints", endpoints),
                ("username", "u"),
                ("password", "p"),
            ]);
            assert!(parse_offer(&bag).is_err(), "{endpoints}");
        }
        let offer = parse_offer(&bag(&[
            ("endpoints", "[fd00::1]:5432"),
            ("username", "u"),
            ("password", "p"),
        ]));
        let Ok(Offer::Inline {
            endpoint,
            username,
            password,
        }) = offer
        else {
            panic!("{offer:?}");
        };
        let connection = Connection {
            endpoint,
            database: "m_kratos".into(),
            username,
            password,
        };
        let dsn = url::Url::parse(connection.dsn().expose()).unwrap();
        assert_eq!(dsn.host_str(), Some("[fd00::1]"));
    }

    #[test]
    fn dsn_escapes_user_and_password() {
        let conn = Connection {
            endpoint: "db:5432".into(),
            database: "m_kratos".into(),
            username: "user@x".into(),
            password: Sensitive::new("p:a/s@s?#"),
        };
        let dsn = conn.dsn();
        assert_eq!(
            dsn.expose(),
            "postgres://user%40x:p%3Aa%2Fs%40s%3F%23@db:5432/m_kratos"
        );
        assert!(!format!("{conn:?}").contains("p:a/s"));
    }
}
