//! pg-database: postgresql-k8s's application bag (and the credentials secret it names)
//! into the DSN; the peers' migration record of the database relation.

use crate::{assert_hidden, input, Databag};
use arbitrary::Arbitrary;
use charm_kratos::integrations::database::{
    credentials_from_secret, parse_offer, Connection, Offer,
};
use charm_kratos::integrations::peers::{migrated_version, record_migration};
use serde::Deserialize;

#[derive(Debug, Deserialize, Arbitrary)]
struct Input {
    /// relation-get of postgresql-k8s's application bag.
    #[serde(default)]
    app: Databag,
    /// secret-get of the secret `secret-user` names.
    #[serde(default)]
    secret: Databag,
    /// The kratos-peers application bag.
    #[serde(default)]
    peers: Databag,
    /// The database relation's id.
    #[serde(default)]
    relation_id: u32,
}

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(input) = input::<Input>(data) else {
        return;
    };
    let values: Vec<&str> = input
        .app
        .iter()
        .filter(|(k, _)| *k != "password")
        .map(|(_, v)| v.as_str())
        .collect();
    let (endpoint, username, password) = match parse_offer(&input.app) {
        Err(bad) => {
            if let Some(password) = input.app.get("password") {
                assert_hidden(password, &values, &bad.to_string());
            }
            return;
        }
        Ok(Offer::Pending) => return,
        Ok(Offer::Inline {
            endpoint,
            username,
            password,
        }) => (endpoint, username, password),
        Ok(Offer::InSecret { endpoint, .. }) => match credentials_from_secret(&input.secret) {
            Some((username, password)) => (endpoint, username, password),
            None => return,
        },
    };
    let connection = Connection {
        endpoint,
        database: "iam_kratos".into(),
        username,
        password,
    };
    // The DSN is a URL whose user and password are the credentials, whatever they hold.
    let dsn = connection.dsn();
    let url = url::Url::parse(dsn.expose()).expect("the DSN is a URL");
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
    };
    assert_eq!(
        decode(url.username()).ok().as_deref(),
        Some(connection.username.as_str())
    );
    assert_eq!(
        url.password()
            .map(decode)
            .and_then(Result::ok)
            .unwrap_or_default(),
        connection.password.expose()
    );

    // The migration record of this relation, read back as written.
    let _ = migrated_version(&input.peers, input.relation_id);
    if let Some(version) = input.peers.values().next() {
        let record = record_migration(input.relation_id, version);
        assert_eq!(
            migrated_version(&record, input.relation_id).as_deref(),
            Some(version.as_str())
        );
    }
}
