//! `ui-endpoint-info` (login_ui_endpoints): the Identity Platform login UI publishes the
//! URLs of its pages in its application databag; they become the self-service flows'
//! `ui_url`s.

use super::{BadRelationData, Databag};

pub const ENDPOINT: &str = "ui-endpoint-info";

/// The login UI's pages, as the provider library names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginUiEndpoints {
    pub login_url: String,
    pub error_url: String,
    pub settings_url: String,
    pub recovery_url: String,
    pub verification_url: String,
    pub registration_url: String,
    pub webauthn_settings_url: String,
    pub account_linking_settings_url: String,
}

/// Keys of the databag, each paired with its field.
const KEYS: [&str; 8] = [
    "login_url",
    "error_url",
    "settings_url",
    "recovery_url",
    "verification_url",
    "registration_url",
    "webauthn_settings_url",
    "account_linking_settings_url",
];

/// Reads the login UI's application databags (all relations: the reference merges them
/// and refuses the same key from two). `Ok(None)` until every page URL is published, as
/// the reference only uses the UI once all of them are there.
pub fn parse(bags: &[Databag]) -> Result<Option<LoginUiEndpoints>, BadRelationData> {
    let mut merged = Databag::new();
    for bag in bags {
        for (key, value) in bag {
            if merged.insert(key.clone(), value.clone()).is_some() {
                return Err(BadRelationData {
                    endpoint: ENDPOINT,
                    message: format!(
                        "{key} is published by more than one login UI; remove one integration"
                    ),
                });
            }
        }
    }
    let mut urls = Vec::with_capacity(KEYS.len());
    for key in KEYS {
        match merged.get(key).filter(|v| !v.is_empty()) {
            None => return Ok(None),
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(BadRelationData {
                    endpoint: ENDPOINT,
                    message: format!("{key} {url:?} is not an http(s) URL"),
                })
            }
            Some(url) => urls.push(url.clone()),
        }
    }
    let mut urls = urls.into_iter();
    let mut next = || urls.next().unwrap_or_default();
    Ok(Some(LoginUiEndpoints {
        login_url: next(),
        error_url: next(),
        settings_url: next(),
        recovery_url: next(),
        verification_url: next(),
        registration_url: next(),
        webauthn_settings_url: next(),
        account_linking_settings_url: next(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_bag() -> Databag {
        KEYS.iter()
            .map(|k| {
                (
                    k.to_string(),
                    format!("https://ui.example.com/{}", k.trim_end_matches("_url")),
                )
            })
            .chain([(
                "consent_url".to_string(),
                "https://ui.example.com/consent".to_string(),
            )])
            .collect()
    }

    #[test]
    fn every_page_maps_to_its_field() {
        let ui = parse(&[full_bag()]).unwrap().unwrap();
        assert_eq!(ui.login_url, "https://ui.example.com/login");
        assert_eq!(
            ui.account_linking_settings_url,
            "https://ui.example.com/account_linking_settings"
        );
        assert_eq!(
            ui.webauthn_settings_url,
            "https://ui.example.com/webauthn_settings"
        );
        assert_eq!(ui.registration_url, "https://ui.example.com/registration");
    }

    #[test]
    fn incomplete_data_is_not_ready() {
        let mut bag = full_bag();
        bag.remove("recovery_url");
        assert_eq!(parse(&[bag]).unwrap(), None);
        assert_eq!(parse(&[]).unwrap(), None);
    }

    #[test]
    fn conflicts_and_non_urls_are_errors() {
        assert!(parse(&[full_bag(), full_bag()])
            .unwrap_err()
            .message
            .contains("more than one"));
        let mut bag = full_bag();
        bag.insert("login_url".into(), "javascript:alert(1)".into());
        assert!(parse(&[bag]).unwrap_err().message.contains("login_url"));
    }
}
