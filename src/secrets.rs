//! Juju secrets the charm owns or reads: the application's cookie secret, and secrets
//! other charms share with it.

use juju_rs_ops::model::{Model, ModelError, SecretOptions, SecretOwner, SecretRead};
use rand::Rng;

use crate::integrations::Databag;
use crate::sensitive::Sensitive;

pub const COOKIE_SECRET_LABEL: &str = "cookie_secret";
pub const COOKIE_SECRET_KEY: &str = "cookiesecret";

/// The content key of the previous cookie secret a rotation keeps (Kratos still accepts
/// cookies signed with it). The reference never writes it.
pub const COOKIE_SECRET_PREVIOUS_KEY: &str = "cookiesecret-previous";

/// Kratos's shortest accepted cookie secret (`secrets.cookie` items have `minLength: 16`).
pub const COOKIE_SECRET_MIN_CHARS: usize = 16;

/// The cookie secrets Kratos is given: the current one signs and encrypts; the previous
/// one, kept by a rotation, still verifies and decrypts what was signed before it, so a
/// rotation ends no session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSecrets {
    /// Signs new cookies.
    pub current: Sensitive,
    /// Verifies older cookies (after a rotation that kept it).
    pub previous: Option<Sensitive>,
}

impl CookieSecrets {
    fn content(&self) -> Databag {
        let mut content = Databag::from([(
            COOKIE_SECRET_KEY.to_string(),
            self.current.expose().to_string(),
        )]);
        if let Some(previous) = &self.previous {
            content.insert(
                COOKIE_SECRET_PREVIOUS_KEY.to_string(),
                previous.expose().to_string(),
            );
        }
        content
    }

    /// Kratos's `secrets.cookie` as JSON: the signing secret first.
    pub fn kratos_json(&self) -> String {
        let mut list = vec![self.current.expose()];
        list.extend(self.previous.as_ref().map(Sensitive::expose));
        serde_json::json!(list).to_string()
    }
}

/// What the `cookie_secret` secret holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieSecret {
    /// Usable values.
    Ready(CookieSecrets),
    /// The secret does not exist (yet): only the leader creates it.
    Absent,
    /// The secret exists but its content is unusable (the reason names no value). The
    /// leader must not replace it on its own: a new cookie secret would end every session.
    Unusable(&'static str),
}

/// The cookie secrets: the leader creates the secret once (32 random hex characters, as
/// the reference does) when it is truly absent; every unit reads it.
pub fn cookie_secret(model: &Model, leader: bool) -> Result<CookieSecret, ModelError> {
    match model.secret_get(None, Some(COOKIE_SECRET_LABEL), SecretRead::Refresh) {
        Ok(content) => Ok(cookie_content(&content)),
        Err(ModelError::SecretNotFound { .. }) if leader => {
            let secrets = CookieSecrets {
                current: Sensitive::new(random_hex(16)),
                previous: None,
            };
            model.secret_add(
                &secrets.content(),
                &SecretOptions {
                    label: Some(COOKIE_SECRET_LABEL.to_string()),
                    owner: SecretOwner::Application,
                    ..SecretOptions::default()
                },
            )?;
            Ok(CookieSecret::Ready(secrets))
        }
        Err(ModelError::SecretNotFound { .. }) => Ok(CookieSecret::Absent),
        Err(e) => Err(e),
    }
}

/// Why a cookie secret value cannot be given to Kratos, if it cannot (pure): at least
/// [`COOKIE_SECRET_MIN_CHARS`] characters, none of them whitespace or control characters.
fn unusable(value: &str) -> Option<&'static str> {
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("its cookiesecret holds whitespace or control characters");
    }
    if value.chars().count() < COOKIE_SECRET_MIN_CHARS {
        return Some("its cookiesecret is shorter than 16 characters");
    }
    None
}

/// Judges the secret's content (pure): its `cookiesecret` key must be usable; a previous
/// secret that is not is left out (it only verifies older cookies).
pub fn cookie_content(content: &Databag) -> CookieSecret {
    let Some(value) = content.get(COOKIE_SECRET_KEY) else {
        return CookieSecret::Unusable("it has no cookiesecret key");
    };
    if let Some(problem) = unusable(value) {
        return CookieSecret::Unusable(problem);
    }
    CookieSecret::Ready(CookieSecrets {
        current: Sensitive::new(value.clone()),
        previous: content
            .get(COOKIE_SECRET_PREVIOUS_KEY)
            .filter(|v| unusable(v).is_none())
            .map(|v| Sensitive::new(v.clone())),
    })
}

/// The status of an unusable cookie secret: Kratos keeps its configuration; a rotation
/// replaces it (only the application can change its own secret).
pub fn unusable_cookie_status(app: &str, reason: &str) -> String {
    format!(
        "The cookie_secret secret is unusable ({reason}): Kratos keeps its configuration; \
         replace it with juju run {app}/leader rotate-cookie-secret keep-previous=false \
         (sessions signed with the old one end)"
    )
}

/// Rotates the cookie secret (the leader, which owns it with the application): a new
/// current secret, the old one kept as the previous one when `keep_previous` and usable
/// (the one before it is dropped). `None` when there is no cookie secret yet.
pub fn rotate_cookie_secret(
    model: &Model,
    keep_previous: bool,
) -> Result<Option<CookieSecrets>, ModelError> {
    let old = match model.secret_get(None, Some(COOKIE_SECRET_LABEL), SecretRead::Peek) {
        Ok(content) => cookie_content(&content),
        Err(ModelError::SecretNotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let previous = match old {
        CookieSecret::Ready(old) if keep_previous => Some(old.current),
        _ => None,
    };
    let rotated = CookieSecrets {
        current: Sensitive::new(random_hex(16)),
        previous,
    };
    let id = model.secret_info(None, Some(COOKIE_SECRET_LABEL))?.id;
    model.secret_set(
        &id,
        Some(&rotated.content()),
        &SecretOptions {
            owner: SecretOwner::Application,
            ..SecretOptions::default()
        },
    )?;
    Ok(Some(rotated))
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
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn kratos_gets_the_signing_secret_first_then_the_previous_one() {
        let ready = |content: &Databag| match cookie_content(content) {
            CookieSecret::Ready(secrets) => secrets,
            other => panic!("{other:?}"),
        };
        let (new, old) = ("n".repeat(32), "o".repeat(32));
        let content = Databag::from([
            (COOKIE_SECRET_KEY.to_string(), new.clone()),
            (COOKIE_SECRET_PREVIOUS_KEY.to_string(), old.clone()),
        ]);
        let secrets = ready(&content);
        assert_eq!(
            secrets.kratos_json(),
            serde_json::json!([new, old]).to_string()
        );
        assert_eq!(secrets.content(), content);
        let reference = Databag::from([(COOKIE_SECRET_KEY.to_string(), new.clone())]);
        let secrets = ready(&reference);
        assert_eq!(secrets.kratos_json(), serde_json::json!([new]).to_string());
        assert_eq!(secrets.content(), reference);
        // An unusable previous secret is left out; the current one still serves.
        let bad_previous = Databag::from([
            (COOKIE_SECRET_KEY.to_string(), new.clone()),
            (COOKIE_SECRET_PREVIOUS_KEY.to_string(), "short".to_string()),
        ]);
        assert_eq!(ready(&bad_previous).previous, None);
    }

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
            matches!(cookie_content(&bag(&good)), CookieSecret::Ready(v) if v.current.expose() == good)
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
