//! Juju secrets the charm owns or reads: the application's cookie secret, and secrets
//! other charms share with it.

use juju_rs_ops::model::{Model, ModelError, SecretOptions, SecretOwner, SecretRead};
use rand::Rng;

use crate::integrations::Databag;
use crate::sensitive::Sensitive;

pub const COOKIE_SECRET_LABEL: &str = "cookie_secret";
pub const COOKIE_SECRET_KEY: &str = "cookiesecret";

/// Kratos's shortest accepted cookie secret (`secrets.cookie` items have `minLength: 16`).
pub const COOKIE_SECRET_MIN_CHARS: usize = 16;

/// What the `cookie_secret` secret holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieSecret {
    /// A usable value.
    Ready(Sensitive),
    /// The secret does not exist (yet): only the leader creates it.
    Absent,
    /// The secret exists but its content is unusable (the reason names no value). The
    /// leader must not replace it: a new cookie secret would end every session.
    Unusable(&'static str),
}

/// The cookie secret: the leader creates it once (32 random hex characters, as the
/// reference does) when it is truly absent; every unit reads it.
pub fn cookie_secret(model: &Model, leader: bool) -> Result<CookieSecret, ModelError> {
    match model.secret_get(None, Some(COOKIE_SECRET_LABEL), SecretRead::Refresh) {
        Ok(content) => Ok(cookie_content(&content)),
        Err(ModelError::SecretNotFound { .. }) if leader => {
            let value = random_hex(16);
            let content = Databag::from([(COOKIE_SECRET_KEY.to_string(), value.clone())]);
            model.secret_add(
                &content,
                &SecretOptions {
                    label: Some(COOKIE_SECRET_LABEL.to_string()),
                    owner: SecretOwner::Application,
                    ..SecretOptions::default()
                },
            )?;
            Ok(CookieSecret::Ready(Sensitive::new(value)))
        }
        Err(ModelError::SecretNotFound { .. }) => Ok(CookieSecret::Absent),
        Err(e) => Err(e),
    }
}

/// Judges the secret's content (pure): its `cookiesecret` key, at least
/// [`COOKIE_SECRET_MIN_CHARS`] characters, none of them whitespace or control characters.
pub fn cookie_content(content: &Databag) -> CookieSecret {
    let Some(value) = content.get(COOKIE_SECRET_KEY) else {
        return CookieSecret::Unusable("it has no cookiesecret key");
    };
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return CookieSecret::Unusable("its cookiesecret holds whitespace or control characters");
    }
    if value.chars().count() < COOKIE_SECRET_MIN_CHARS {
        return CookieSecret::Unusable("its cookiesecret is shorter than 16 characters");
    }
    CookieSecret::Ready(Sensitive::new(value.clone()))
}

/// The status of an unusable cookie secret: Kratos keeps its configuration; the operator
/// restores the last good revision (replacing it would end every session).
pub fn unusable_cookie_status(app: &str, reason: &str) -> String {
    format!(
        "The cookie_secret secret is unusable ({reason}): Kratos keeps its configuration; \
         restore its last good revision (juju secrets --owner application-{app}, then \
         juju show-secret --revisions)"
    )
}

/// A secret shared with this charm, by id; `None` while it is not (yet) visible.
pub fn read(model: &Model, id: &str) -> Result<Option<Databag>, ModelError> {
    match model.secret_get(Some(id), None, SecretRead::Refresh) {
        Ok(content) => Ok(Some(content)),
        Err(ModelError::SecretNotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `bytes` random bytes as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_hex_has_the_reference_shape() {
        let a = super::random_hex(16);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, super::random_hex(16));
    }

    #[test]
    fn cookie_content_is_judged_without_naming_the_value() {
        use super::{cookie_content, CookieSecret, Databag, COOKIE_SECRET_KEY};
        let bag = |v: &str| Databag::from([(COOKIE_SECRET_KEY.to_string(), v.to_string())]);
        let good = super::random_hex(16);
        assert!(
            matches!(cookie_content(&bag(&good)), CookieSecret::Ready(v) if v.expose() == good)
        );
        for bad in [
            Databag::new(),
            bag(""),
            bag("0123456789abcde"),
            bag("0123456789abcdef 0"),
        ] {
            assert!(
                matches!(cookie_content(&bad), CookieSecret::Unusable(_)),
                "{bad:?}"
            );
        }
    }
}
