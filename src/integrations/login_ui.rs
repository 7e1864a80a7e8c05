//! `ui-endpoint-info` (login_ui_endpoints): the Identity Platform login UI publishes the
//! URLs of its pages in its application databag; they become the self-service flows'
//! `ui_url`s.

use juju_rs_ops::model::Model;

use super::{
    http_url, waiting_for_keys, BadRelationData, Contribute, Databag, Integration, Reading,
};
use crate::error::CharmError;
use crate::kratos_config::LoginUiUrls;
use crate::workload::WorkloadSpec;

/// The endpoint.
pub const ENDPOINT: &str = "ui-endpoint-info";

/// The page URLs the charm needs, as the provider library names them.
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

/// The integration.
pub struct LoginUi;

impl Integration for LoginUi {
    type Data = LoginUiUrls;

    fn read(model: &Model) -> Result<Reading<LoginUiUrls>, CharmError> {
        let bags: Vec<Databag> = model
            .remote_app_bags(ENDPOINT)?
            .into_iter()
            .map(|(_, bag)| bag)
            .collect();
        Ok(parse(&bags))
    }
}

/// Reads the login UI's application databags (all relations: the reference merges them
/// and refuses the same key from two). Nothing until the UI has written; waiting (naming
/// the missing pages) until every page URL is published, as the reference only uses the UI
/// once all of them are there.
pub fn parse(bags: &[Databag]) -> Reading<LoginUiUrls> {
    let mut merged = Databag::new();
    for bag in bags {
        for (key, value) in bag {
            if merged.insert(key.clone(), value.clone()).is_some() {
                return BadRelationData {
                    endpoint: ENDPOINT,
                    message: format!(
                        "{key} is published by more than one login UI; remove one integration"
                    ),
                }
                .into();
            }
        }
    }
    let mut urls = Vec::with_capacity(KEYS.len());
    let mut missing = Vec::new();
    for key in KEYS {
        match merged.get(key).filter(|v| !v.is_empty()) {
            None => missing.push(key),
            Some(value) => match http_url(ENDPOINT, key, value) {
                Ok(url) => urls.push(url),
                Err(bad) => return bad.into(),
            },
        }
    }
    if urls.is_empty() {
        return Reading::Absent;
    }
    if !missing.is_empty() {
        return Reading::Waiting(waiting_for_keys(ENDPOINT, &missing));
    }
    let mut urls = urls.into_iter();
    let mut next = || urls.next();
    Reading::Ready(LoginUiUrls {
        login: next(),
        error: next(),
        settings: next(),
        recovery: next(),
        verification: next(),
        registration: next(),
        webauthn_settings: next(),
        account_linking_settings: next(),
    })
}

impl Contribute for LoginUiUrls {
    fn contribute(&self, workload: &mut WorkloadSpec) {
        workload.render.login_ui = Some(self.clone());
    }
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

    fn ready(reading: Reading<LoginUiUrls>) -> LoginUiUrls {
        match reading {
            Reading::Ready(urls) => urls,
            other => panic!("not ready: {other:?}"),
        }
    }

    #[test]
    fn every_page_maps_to_its_field() {
        let ui = ready(parse(&[full_bag()]));
        let url = |u: Option<url::Url>| u.map(String::from).unwrap_or_default();
        assert_eq!(url(ui.login), "https://ui.example.com/login");
        assert_eq!(
            url(ui.account_linking_settings),
            "https://ui.example.com/account_linking_settings"
        );
        assert_eq!(
            url(ui.webauthn_settings),
            "https://ui.example.com/webauthn_settings"
        );
        assert_eq!(url(ui.registration), "https://ui.example.com/registration");
    }

    #[test]
    fn nothing_yet_is_absent_and_partial_data_waits_naming_the_keys() {
        assert_eq!(parse(&[]), Reading::Absent);
        assert_eq!(parse(&[Databag::new()]), Reading::Absent);
        let mut bag = full_bag();
        bag.remove("recovery_url");
        bag.insert("error_url".into(), String::new());
        assert_eq!(
            parse(&[bag]),
            Reading::Waiting(
                "Waiting for ui-endpoint-info integration data: missing error_url, recovery_url"
                    .into()
            )
        );
    }

    #[test]
    fn conflicts_and_non_urls_block() {
        let Reading::Blocked(message) = parse(&[full_bag(), full_bag()]) else {
            panic!("a conflict must block")
        };
        assert!(message.contains("more than one"), "{message}");
        let mut bag = full_bag();
        bag.insert("login_url".into(), "javascript:alert(1)".into());
        let Reading::Blocked(message) = parse(&[bag]) else {
            panic!("a non-URL must block")
        };
        assert!(message.contains("login_url"), "{message}");
    }
}
