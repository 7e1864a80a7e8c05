//! Juju secrets the charm owns or reads: the application's cookie secret, and secrets
//! other charms share with it.

use juju_rs_ops::model::{Model, ModelError, SecretOptions, SecretOwner, SecretRead};
use rand::Rng;

use crate::integrations::Databag;
use crate::sensitive::Sensitive;

pub const COOKIE_SECRET_LABEL: &str = "cookie_secret";
pub const COOKIE_SECRET_KEY: &str = "cookiesecret";

/// The cookie secret: the leader creates it once (32 random hex characters, as the
/// reference does); every unit reads it. `None` until it exists.
pub fn cookie_secret(model: &Model, leader: bool) -> Result<Option<Sensitive>, ModelError> {
    match model.secret_get(None, Some(COOKIE_SECRET_LABEL), SecretRead::Refresh) {
        Ok(content) => Ok(content
            .get(COOKIE_SECRET_KEY)
            .map(|v| Sensitive::new(v.clone()))),
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
            Ok(Some(Sensitive::new(value)))
        }
        Err(ModelError::SecretNotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
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
}
