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
    /// The secrets in the secret's content; `None` without the current one.
    fn from_content(content: &Databag) -> Option<CookieSecrets> {
        let current = content.get(COOKIE_SECRET_KEY)?;
        Some(CookieSecrets {
            current: Sensitive::new(current.clone()),
            previous: content
                .get(COOKIE_SECRET_PREVIOUS_KEY)
                .filter(|v| !v.is_empty())
                .map(|v| Sensitive::new(v.clone())),
        })
    }

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

/// The cookie secrets: the leader creates the secret once (32 random hex characters, as
/// the reference does); every unit reads it. `None` until it exists.
pub fn cookie_secret(model: &Model, leader: bool) -> Result<Option<CookieSecrets>, ModelError> {
    match model.secret_get(None, Some(COOKIE_SECRET_LABEL), SecretRead::Refresh) {
        Ok(content) => Ok(CookieSecrets::from_content(&content)),
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
            Ok(Some(secrets))
        }
        Err(ModelError::SecretNotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Rotates the cookie secret (the leader, which owns it with the application): a new
/// current secret, the old one kept as the previous one when `keep_previous` (the one
/// before it is dropped). `None` when there is no cookie secret yet.
pub fn rotate_cookie_secret(
    model: &Model,
    keep_previous: bool,
) -> Result<Option<CookieSecrets>, ModelError> {
    let old = match model.secret_get(None, Some(COOKIE_SECRET_LABEL), SecretRead::Peek) {
        Ok(content) => CookieSecrets::from_content(&content),
        Err(ModelError::SecretNotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let Some(old) = old else {
        return Ok(None);
    };
    let rotated = CookieSecrets {
        current: Sensitive::new(random_hex(16)),
        previous: keep_previous.then_some(old.current),
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn kratos_gets_the_signing_secret_first_then_the_previous_one() {
        let content = Databag::from([
            (COOKIE_SECRET_KEY.to_string(), "new".to_string()),
            (COOKIE_SECRET_PREVIOUS_KEY.to_string(), "old".to_string()),
        ]);
        let secrets = CookieSecrets::from_content(&content).unwrap();
        assert_eq!(secrets.kratos_json(), r#"["new","old"]"#);
        assert_eq!(secrets.content(), content);
        let reference = Databag::from([(COOKIE_SECRET_KEY.to_string(), "only".to_string())]);
        let secrets = CookieSecrets::from_content(&reference).unwrap();
        assert_eq!(secrets.kratos_json(), r#"["only"]"#);
        assert_eq!(secrets.content(), reference);
        assert!(CookieSecrets::from_content(&Databag::new()).is_none());
    }

    #[test]
    fn random_hex_has_the_reference_shape() {
        let a = super::random_hex(16);
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, super::random_hex(16));
    }
}
