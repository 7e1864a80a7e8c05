//! smtp: smtp-integrator's application bag (and the password secret it names) into the
//! courier's connection URI.

use crate::{assert_hidden, default_spec, input, render, Databag};
use arbitrary::Arbitrary;
use charm_kratos::integrations::smtp::{self, connection_uri, PasswordSource, SmtpConnection};
use charm_kratos::integrations::{Contribute, Reading};
use charm_kratos::sensitive::Sensitive;
use serde::Deserialize;

#[derive(Debug, Deserialize, Arbitrary)]
struct Input {
    /// relation-get of smtp-integrator's application bag.
    #[serde(default)]
    app: Databag,
    /// secret-get of the secret `password_id` names.
    #[serde(default)]
    secret: Databag,
}

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(input) = input::<Input>(data) else {
        return;
    };
    let server = match smtp::parse(&input.app) {
        Reading::Ready(server) => server,
        Reading::Waiting(message) | Reading::Blocked(message) => {
            if let Some(password) = input.app.get("password") {
                let others: Vec<&str> = input
                    .app
                    .iter()
                    .filter(|(k, _)| *k != "password")
                    .map(|(_, v)| v.as_str())
                    .collect();
                assert_hidden(password, &others, &message);
            }
            return;
        }
        Reading::Absent => return,
    };
    // As Smtp::read: the secret's `password`, or the bag's.
    let password = match &server.password {
        PasswordSource::None => None,
        PasswordSource::Inline(password) => Some(password.clone()),
        PasswordSource::Secret(_) => match input.secret.get("password").filter(|p| !p.is_empty()) {
            Some(password) => Some(Sensitive::new(password.clone())),
            None => return,
        },
    };
    let uri = connection_uri(&server, password.as_ref());
    // The URI is a URL whose user and password are the credentials, whatever they hold.
    let url = url::Url::parse(uri.expose()).expect("the SMTP URI is a URL");
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|c| c.into_owned())
            .expect("UTF-8 in, UTF-8 out")
    };
    if let (Some(user), Some(password)) = (&server.user, &password) {
        if server.auth == smtp::AuthType::Plain {
            assert_eq!(&decode(url.username()), user);
            assert_eq!(
                decode(url.password().unwrap_or_default()),
                password.expose()
            );
        }
    }
    assert_eq!(url.port_or_known_default(), Some(server.port));
    let mut spec = default_spec();
    SmtpConnection { uri }.contribute(&mut spec);
    render(&spec);
}
