//! One module per integration, all in one shape:
//!
//! - **read** ([`Integration::read`]): the remote side's databags (and any secret they
//!   reference) into typed data, or a [`Reading`] that says why there is none: not related,
//!   waiting for named keys, or blocked on a bad value (naming the relation, the key and
//!   the fix). Parsing is pure: databags in, typed values (URLs as `url::Url`) out.
//! - **contribute** ([`Contribute::contribute`]): what the typed data adds to the workload
//!   (Kratos config inputs, environment, files to push).
//! - **publish** ([`Integration::publish`]): what this side writes (leader application
//!   data, unit data), from everything the checklist gathered.
//!
//! Adding an integration is a module implementing these two traits plus one line in
//! [`crate::inputs`]'s list.

pub mod ca_cert;
pub mod database;
pub mod external_idp;
pub mod grafana_dashboard;
pub mod hydra;
pub mod kratos_info;
pub mod logging;
pub mod login_ui;
pub mod metrics;
pub mod peers;
pub mod route;
pub mod smtp;
pub mod traces;
pub mod webhooks;

use juju_rs_ops::model::Model;
use juju_rs_ops::Status;

pub use juju_rs_ops::Databag;

use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::workload::WorkloadSpec;

/// What an integration's read yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading<T> {
    /// Not related, or related and nothing published yet: contributes nothing (and gives
    /// the integration's [`Integration::absent_status`], if it is required).
    Absent,
    /// Related, but the data is incomplete or an input (a secret) is not there yet; the
    /// message says what is missing. The workload keeps its last good configuration.
    Waiting(String),
    /// The data cannot be used; the message names the relation, the key and the fix. The
    /// workload keeps its last good configuration.
    Blocked(String),
    /// Typed, complete data.
    Ready(T),
}

impl<T> Reading<T> {
    /// Whether the integration is not related (or has published nothing yet).
    pub fn is_absent(&self) -> bool {
        matches!(self, Reading::Absent)
    }

    /// The same reading with the data mapped.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Reading<U> {
        match self {
            Reading::Absent => Reading::Absent,
            Reading::Waiting(message) => Reading::Waiting(message),
            Reading::Blocked(message) => Reading::Blocked(message),
            Reading::Ready(data) => Reading::Ready(f(data)),
        }
    }

    /// The data, when ready.
    pub fn ready(&self) -> Option<&T> {
        match self {
            Reading::Ready(data) => Some(data),
            _ => None,
        }
    }

    /// The status this reading stands for; `absent` is the integration's own status when
    /// it is not related.
    pub fn status(&self, absent: Option<Status>) -> Option<Status> {
        match self {
            Reading::Absent => absent,
            Reading::Waiting(message) => Some(Status::waiting(message.clone())),
            Reading::Blocked(message) => Some(Status::blocked(message.clone())),
            Reading::Ready(_) => None,
        }
    }
}

/// What typed integration data adds to the workload.
pub trait Contribute {
    /// Adds this data's part to the workload (config inputs, environment, files).
    fn contribute(&self, workload: &mut WorkloadSpec);

    /// Statuses of parts of this data left out without stopping the rest converging (an
    /// optional feature the remote side cannot serve yet): reported once the workload has
    /// converged, unlike [`Reading::Waiting`]/[`Reading::Blocked`], which stop the
    /// checklist.
    fn notices(&self) -> Vec<Status> {
        Vec::new()
    }
}

/// Integrations that only publish contribute nothing.
impl Contribute for () {
    fn contribute(&self, _workload: &mut WorkloadSpec) {}
}

/// One integration (one endpoint, or a pair of endpoints with one meaning).
pub trait Integration {
    /// The typed data the integration yields when it is ready.
    type Data: Contribute;

    /// The status while the integration is not related: `None` for optional ones.
    fn absent_status() -> Option<Status> {
        None
    }

    /// Reads the remote side into typed data.
    fn read(model: &Model) -> Result<Reading<Self::Data>, CharmError>;

    /// Writes what this side publishes, from everything gathered (most integrations
    /// publish nothing).
    fn publish(_model: &Model, _inputs: &Inputs) -> Result<(), CharmError> {
        Ok(())
    }
}

/// Relation data that cannot be used, with a message for a `blocked` status that names
/// the integration and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid data in {endpoint} integration: {message}")]
pub struct BadRelationData {
    /// The endpoint whose data is bad.
    pub endpoint: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl<T> From<BadRelationData> for Reading<T> {
    fn from(bad: BadRelationData) -> Reading<T> {
        Reading::Blocked(bad.to_string())
    }
}

/// How much of a set of required keys a remote databag holds. Empty values count as
/// missing (a provider clears a key by writing "").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys<'bag> {
    /// None of them: the provider has not written yet.
    None,
    /// Some but not all: a provider mid-write, or an older provider. Names the missing.
    Partial(Vec<&'static str>),
    /// All of them, in the order asked.
    All(Vec<&'bag str>),
}

/// Which of `required` the bag holds.
pub fn required_keys<'bag>(bag: &'bag Databag, required: &[&'static str]) -> Keys<'bag> {
    let mut present = Vec::with_capacity(required.len());
    let mut missing = Vec::new();
    for key in required {
        match bag.get(*key).map(String::as_str).filter(|v| !v.is_empty()) {
            Some(value) => present.push(value),
            None => missing.push(*key),
        }
    }
    if missing.is_empty() {
        Keys::All(present)
    } else if present.is_empty() {
        Keys::None
    } else {
        Keys::Partial(missing)
    }
}

/// The `waiting` message for a bag that lacks `missing` keys.
pub fn waiting_for_keys(endpoint: &str, missing: &[&str]) -> String {
    format!(
        "Waiting for {endpoint} integration data: missing {}",
        missing.join(", ")
    )
}

/// What the userinfo of a URL must escape: everything but unreserved characters (so a
/// password with `@:/?#%` in it stays one password).
pub const USERINFO: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Whether `host` is a host a URL can carry as it is: a domain name, an IPv4 address or a
/// bracketed IPv6 address (what relation data gives as a host before the charm pastes it
/// into a DSN or a URI for the workload). No percent-escapes: Go's URL parser, which reads
/// them in the workload, refuses them in a host name.
pub fn is_url_host(host: &str) -> bool {
    !host.contains('%') && url::Host::parse(host).is_ok()
}

/// Parses an http(s) URL from relation data; the error names the key.
pub fn http_url(
    endpoint: &'static str,
    key: &str,
    value: &str,
) -> Result<url::Url, BadRelationData> {
    let bad = || BadRelationData {
        endpoint,
        message: format!("{key} {value:?} is not an http(s) URL"),
    };
    let url = url::Url::parse(value).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(url)
}

/// A databag from pairs (unit tests of the integration modules).
#[cfg(test)]
pub(crate) fn test_bag(pairs: &[(&str, &str)]) -> Databag {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::test_bag as bag;
    use super::*;

    #[test]
    fn required_keys_tell_none_partial_and_all_apart() {
        let keys = ["a", "b"];
        assert_eq!(required_keys(&bag(&[("x", "1")]), &keys), Keys::None);
        assert_eq!(
            required_keys(&bag(&[("a", "1"), ("b", "")]), &keys),
            Keys::Partial(vec!["b"])
        );
        assert_eq!(
            required_keys(&bag(&[("b", "2"), ("a", "1")]), &keys),
            Keys::All(vec!["1", "2"])
        );
    }

    #[test]
    fn url_hosts_are_names_and_addresses_a_url_takes() {
        for good in ["pg-0.pg-endpoints", "10.1.2.3", "[fd00::1]", "localhost"] {
            assert!(is_url_host(good), "{good}");
        }
        // The last two: what fuzzing found pasted into a DSN and an SMTP URI.
        for bad in [
            "",
            "a b",
            "a@b",
            "a/b",
            "a%41",
            "fd00::1",
            "i[m.svc",
            "12>.0.0.1",
        ] {
            assert!(!is_url_host(bad), "{bad}");
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host() {
        assert!(http_url("e", "k", "https://h.example/x").is_ok());
        for bad in ["h:4445", "javascript:alert(1)", "ftp://h/", "http://", ""] {
            let err = http_url("e", "k", bad).unwrap_err();
            assert!(err.to_string().contains("k "), "{err}");
        }
    }

    #[test]
    fn statuses_follow_the_reading() {
        let absent = Some(Status::blocked("Missing integration x"));
        assert_eq!(Reading::<()>::Absent.status(absent.clone()), absent);
        assert_eq!(Reading::<()>::Absent.status(None), None);
        assert_eq!(
            Reading::<()>::Waiting("w".into()).status(None),
            Some(Status::waiting("w"))
        );
        assert_eq!(Reading::Ready(()).status(absent), None);
    }
}
