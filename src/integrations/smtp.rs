//! `smtp` (interface smtp, `charms.smtp_integrator.v0.smtp`): smtp-integrator publishes
//! the server in its application databag, the password either in a Juju secret
//! (`password_id`, key `password`; its `smtp` endpoint) or in the bag (`password`; its
//! `smtp-legacy` endpoint). Kratos's courier gets one `COURIER_SMTP_CONNECTION_URI`.
//!
//! Unlike the reference: user and password are URL-encoded (a password with `@:/?#%`
//! stays one password), a relay without authentication gets no made-up `test:test` login,
//! and partial or bad data or an unreadable secret is a status, never a crashed hook.

use juju_rs_ops::model::{Model, ModelError};
use percent_encoding::utf8_percent_encode;

use super::{
    is_url_host, required_keys, waiting_for_keys, BadRelationData, Contribute, Databag,
    Integration, Keys, Reading, USERINFO,
};
use crate::error::CharmError;
use crate::secrets;
use crate::sensitive::Sensitive;
use crate::workload::WorkloadSpec;

/// The endpoint.
pub const ENDPOINT: &str = "smtp";

/// The keys the library requires.
const KEYS: [&str; 4] = ["host", "port", "auth_type", "transport_security"];

/// How the courier authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// `none` or `not_provided`: an open relay.
    None,
    /// `plain`: user and password.
    Plain,
}

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportSecurity {
    /// `none`: plain SMTP, STARTTLS disabled.
    None,
    /// `starttls`: SMTP upgraded with STARTTLS.
    StartTls,
    /// `tls`: SMTP over TLS from the start.
    Tls,
}

/// Where the password is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    /// No password published.
    None,
    /// In the databag (`smtp-legacy`).
    Inline(Sensitive),
    /// In this Juju secret, key `password`.
    Secret(String),
}

/// The provider's data, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpServer {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Authentication.
    pub auth: AuthType,
    /// Transport security.
    pub transport: TransportSecurity,
    /// Whether to skip verifying the server's certificate.
    pub skip_ssl_verify: bool,
    /// The login, for `plain`.
    pub user: Option<String>,
    /// Where the password is, for `plain`.
    pub password: PasswordSource,
}

/// What the courier connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConnection {
    /// `COURIER_SMTP_CONNECTION_URI`.
    pub uri: Sensitive,
}

/// The integration.
pub struct Smtp;

impl Integration for Smtp {
    type Data = SmtpConnection;

    fn read(model: &Model) -> Result<Reading<SmtpConnection>, CharmError> {
        let Some((_, bag)) = model.remote_app_bag(ENDPOINT)? else {
            return Ok(Reading::Absent);
        };
        let server = match parse(&bag) {
            Reading::Ready(server) => server,
            Reading::Absent => return Ok(Reading::Absent),
            Reading::Waiting(message) => return Ok(Reading::Waiting(message)),
            Reading::Blocked(message) => return Ok(Reading::Blocked(message)),
        };
        let password = match &server.password {
            PasswordSource::None => None,
            PasswordSource::Inline(password) => Some(password.clone()),
            PasswordSource::Secret(id) => match secret_password(model, id)? {
                Ok(password) => Some(password),
                Err(unusable) => return Ok(unusable),
            },
        };
        Ok(Reading::Ready(SmtpConnection {
            uri: connection_uri(&server, password.as_ref()),
        }))
    }
}

/// The password in the secret, or the status saying why it cannot be had.
fn secret_password(
    model: &Model,
    id: &str,
) -> Result<Result<Sensitive, Reading<SmtpConnection>>, CharmError> {
    let content = match secrets::read(model, id) {
        Ok(Some(content)) => content,
        Ok(None) => {
            return Ok(Err(Reading::Waiting(format!(
                "Waiting for the {ENDPOINT} password secret {id}"
            ))))
        }
        // Juju refuses a secret that was not granted; the integrator does not grant a
        // user secret (`password_secret`) itself.
        Err(ModelError::Tool { .. } | ModelError::Decode { .. }) => {
            return Ok(Err(Reading::Blocked(format!(
                "Cannot read the {ENDPOINT} password secret {id}: grant it to this \
                 application (juju grant-secret {id} kratos)"
            ))))
        }
        Err(e) => return Err(e.into()),
    };
    match content.get("password").filter(|p| !p.is_empty()) {
        Some(password) => Ok(Ok(Sensitive::new(password.clone()))),
        None => Ok(Err(BadRelationData {
            endpoint: ENDPOINT,
            message: format!("the password secret {id} has no 'password' key"),
        }
        .into())),
    }
}

/// Reads smtp-integrator's application databag.
pub fn parse(bag: &Databag) -> Reading<SmtpServer> {
    let values = match required_keys(bag, &KEYS) {
        Keys::None => return Reading::Absent,
        Keys::Partial(missing) => return Reading::Waiting(waiting_for_keys(ENDPOINT, &missing)),
        Keys::All(values) => values,
    };
    let [host, port, auth, transport] = values.as_slice() else {
        return Reading::Absent;
    };
    match server(bag, [host, port, auth, transport]) {
        Ok(Reading::Ready(server)) => Reading::Ready(server),
        Ok(other) => other,
        Err(bad) => bad.into(),
    }
}

fn bad(message: String) -> BadRelationData {
    BadRelationData {
        endpoint: ENDPOINT,
        message,
    }
}

/// Whether the URI can carry `host` (it goes in as it is; an IPv6 address in brackets).
fn valid_host(host: &str) -> bool {
    if host.contains(':') {
        host.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        is_url_host(host)
    }
}

/// Checks each value; `waiting` when `plain` authentication lacks its credentials.
fn server(
    bag: &Databag,
    [host, port, auth, transport]: [&str; 4],
) -> Result<Reading<SmtpServer>, BadRelationData> {
    if !valid_host(host) {
        return Err(bad(format!("host {host:?} is not a host name or address")));
    }
    let port = port
        .trim()
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| bad(format!("port {port:?} is not a port number (1-65535)")))?;
    let auth = match auth {
        "none" | "not_provided" => AuthType::None,
        "plain" => AuthType::Plain,
        other => return Err(bad(format!("auth_type {other:?} is not none or plain"))),
    };
    let transport = match transport {
        "none" => TransportSecurity::None,
        "starttls" => TransportSecurity::StartTls,
        "tls" => TransportSecurity::Tls,
        other => {
            return Err(bad(format!(
                "transport_security {other:?} is not none, starttls or tls"
            )))
        }
    };
    let skip_ssl_verify = match bag.get("skip_ssl_verify").map(String::as_str) {
        None | Some("") | Some("False") | Some("false") => false,
        Some("True") | Some("true") => true,
        Some(other) => {
            return Err(bad(format!(
                "skip_ssl_verify {other:?} is not True or False"
            )))
        }
    };
    let non_empty = |key: &str| bag.get(key).filter(|v| !v.is_empty()).cloned();
    let user = non_empty("user");
    let password = match (non_empty("password_id"), non_empty("password")) {
        (Some(id), _) => PasswordSource::Secret(id),
        (None, Some(password)) => PasswordSource::Inline(Sensitive::new(password)),
        (None, None) => PasswordSource::None,
    };
    if auth == AuthType::Plain && (user.is_none() || password == PasswordSource::None) {
        let missing = [
            user.is_none().then_some("user"),
            (password == PasswordSource::None).then_some("password_id"),
        ];
        let missing: Vec<&str> = missing.into_iter().flatten().collect();
        return Ok(Reading::Waiting(waiting_for_keys(ENDPOINT, &missing)));
    }
    Ok(Reading::Ready(SmtpServer {
        host: host.to_string(),
        port,
        auth,
        transport,
        skip_ssl_verify,
        user,
        password,
    }))
}

/// The courier's connection URI: `smtps://` for TLS, `smtp://` otherwise; user and
/// password escaped; no login for an open relay.
pub fn connection_uri(server: &SmtpServer, password: Option<&Sensitive>) -> Sensitive {
    let scheme = match server.transport {
        TransportSecurity::Tls => "smtps",
        TransportSecurity::StartTls | TransportSecurity::None => "smtp",
    };
    let login = match (server.auth, &server.user, password) {
        (AuthType::Plain, Some(user), Some(password)) => format!(
            "{}:{}@",
            utf8_percent_encode(user, USERINFO),
            utf8_percent_encode(password.expose(), USERINFO)
        ),
        _ => String::new(),
    };
    let query = match (server.transport, server.skip_ssl_verify) {
        (TransportSecurity::None, _) => "?disable_starttls=true",
        (_, true) => "?skip_ssl_verify=true",
        (_, false) => "",
    };
    let host = if server.host.contains(':') {
        format!("[{}]", server.host)
    } else {
        server.host.clone()
    };
    Sensitive::new(format!("{scheme}://{login}{host}:{}/{query}", server.port))
}

impl Contribute for SmtpConnection {
    fn contribute(&self, workload: &mut WorkloadSpec) {
        workload.env.insert(
            "COURIER_SMTP_CONNECTION_URI".into(),
            self.uri.expose().to_string(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::integrations::test_bag as bag;

    fn uri(pairs: &[(&str, &str)], password: Option<&str>) -> String {
        let Reading::Ready(server) = parse(&bag(pairs)) else {
            panic!("not ready: {:?}", parse(&bag(pairs)))
        };
        let password = password.map(Sensitive::new);
        connection_uri(&server, password.as_ref())
            .expose()
            .to_string()
    }

    const PLAIN_STARTTLS: [(&str, &str); 7] = [
        ("host", "mail.example.com"),
        ("port", "587"),
        ("auth_type", "plain"),
        ("transport_security", "starttls"),
        ("skip_ssl_verify", "False"),
        ("user", "kratos"),
        ("password_id", "secret:cu2f7iv1ctlc7b3u5ps0"),
    ];

    #[test]
    fn plain_starttls_with_an_escaped_password() {
        assert_eq!(
            uri(&PLAIN_STARTTLS, Some("p4ss")),
            "smtp://kratos:p4ss@mail.example.com:587/"
        );
        assert_eq!(
            uri(&PLAIN_STARTTLS, Some("a@b:c/d?e#f%g")),
            "smtp://kratos:a%40b%3Ac%2Fd%3Fe%23f%25g@mail.example.com:587/"
        );
    }

    #[test]
    fn open_relay_gets_no_login_and_no_starttls() {
        let relay = [
            ("host", "relay"),
            ("port", "25"),
            ("auth_type", "none"),
            ("transport_security", "none"),
            ("skip_ssl_verify", "False"),
        ];
        assert_eq!(uri(&relay, None), "smtp://relay:25/?disable_starttls=true");
    }

    #[test]
    fn tls_with_skip_verify_and_the_legacy_inline_password() {
        let legacy = [
            ("host", "10.0.0.5"),
            ("port", "465"),
            ("auth_type", "plain"),
            ("transport_security", "tls"),
            ("skip_ssl_verify", "True"),
            ("user", "u"),
            ("password", "pw"),
        ];
        let Reading::Ready(server) = parse(&bag(&legacy)) else {
            panic!("not ready")
        };
        assert_eq!(
            server.password,
            PasswordSource::Inline(Sensitive::new("pw"))
        );
        assert_eq!(
            uri(&legacy, Some("pw")),
            "smtps://u:pw@10.0.0.5:465/?skip_ssl_verify=true"
        );
    }

    #[test]
    fn partial_data_waits_naming_the_keys() {
        assert_eq!(parse(&Databag::new()), Reading::Absent);
        let Reading::Waiting(message) = parse(&bag(&[("host", "h"), ("port", "25")])) else {
            panic!("partial data must wait")
        };
        assert!(message.contains("auth_type") && message.contains("transport_security"));
        let mut no_user = bag(&PLAIN_STARTTLS);
        no_user.remove("user");
        let Reading::Waiting(message) = parse(&no_user) else {
            panic!("plain without a user must wait")
        };
        assert!(message.ends_with("missing user"), "{message}");
    }

    #[test]
    fn hosts_no_uri_takes_block_and_ipv6_is_bracketed() {
        // Found by fuzzing (fuzz/corpus/databag_smtp/crash-angle-bracket-in-host): the host
        // went into the URI as it was, and no URL parser reads that URI.
        for host in ["12>.0.0.1", "mail.ex[ample.com", "[::1]", "a%41"] {
            let mut data = bag(&PLAIN_STARTTLS);
            data.insert("host".into(), host.into());
            assert!(matches!(parse(&data), Reading::Blocked(_)), "{host}");
        }
        let mut data = bag(&PLAIN_STARTTLS);
        data.insert("host".into(), "fd00::25".into());
        let Reading::Ready(server) = parse(&data) else {
            panic!("an IPv6 address is a host")
        };
        let uri = connection_uri(&server, Some(&Sensitive::new("pw")));
        let url = url::Url::parse(uri.expose()).unwrap();
        assert_eq!(url.host_str(), Some("[fd00::25]"));
    }

    #[test]
    fn garbage_blocks_naming_the_key() {
        for (key, value) in [
            ("port", "0"),
            ("port", "smtp"),
            ("port", "70000"),
            ("auth_type", "oauth"),
            ("transport_security", "ssl"),
            ("skip_ssl_verify", "maybe"),
            ("host", "evil.com/x?y"),
            ("host", "a b"),
        ] {
            let mut data = bag(&PLAIN_STARTTLS);
            data.insert(key.into(), value.into());
            let Reading::Blocked(message) = parse(&data) else {
                panic!("{key}={value} must block")
            };
            assert!(
                message.contains(key) && message.contains("smtp"),
                "{message}"
            );
        }
    }
}
