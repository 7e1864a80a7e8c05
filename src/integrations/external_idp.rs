//! `kratos-external-idp` (external_provider,
//! `charms.kratos_external_idp_integrator.v1.kratos_external_provider`): each integrator
//! publishes `providers`, a JSON array of OIDC client configurations (in practice one);
//! the leader answers on the same relation with each provider's `redirect_uri`.
//!
//! Unlike the reference: bad provider data is a status naming the relation and key (not a
//! crash in every hook); the older v0 key names (`tenant_id`, `team_id`, `private_key_id`,
//! `private_key`, a list `scope`) are understood; every provider of a relation gets its
//! redirect URI; and an IdP without Kratos's public URL leaves only the providers out
//! ([`hold_without_public_url`]) instead of freezing every other reconfiguration.

use juju_rs_ops::model::{Bag, Model, Relation};
use juju_rs_ops::Status;
use serde_json::{Map, Value};
use sha1::{Digest, Sha1};
use url::Url;

use super::{http_url, route, BadRelationData, Contribute, Databag, Integration, Reading};
use crate::error::CharmError;
use crate::inputs::{Inputs, Integrations};
use crate::kratos_config::{
    oidc_redirect_uri, ClaimMapperSource, OidcProvider, ProviderKind, SocialProvider,
};
use crate::sensitive::Sensitive;
use crate::workload::WorkloadSpec;

/// The endpoint.
pub const ENDPOINT: &str = "kratos-external-idp";

/// The library's default scope (all providers but GitHub).
const DEFAULT_SCOPE: &str = "profile email address phone";
/// GitHub's default scope in the library.
const GITHUB_SCOPE: &str = "user:email";

/// The providers of every kratos-external-idp relation, in relation order.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalProviders {
    /// Per relation: its id and its providers (empty when the integrator withdrew them).
    pub relations: Vec<(u32, Vec<OidcProvider>)>,
}

impl ExternalProviders {
    /// Whether any relation offers a provider.
    pub fn any(&self) -> bool {
        self.relations.iter().any(|(_, p)| !p.is_empty())
    }
}

/// The integration.
pub struct ExternalIdp;

impl Integration for ExternalIdp {
    type Data = ExternalProviders;

    fn read(model: &Model) -> Result<Reading<ExternalProviders>, CharmError> {
        let bags = model.remote_app_bags(ENDPOINT)?;
        if bags.is_empty() {
            return Ok(Reading::Absent);
        }
        let mut relations = Vec::with_capacity(bags.len());
        for (relation, bag) in &bags {
            match parse(relation, bag) {
                Ok(providers) => relations.push((relation.id, providers)),
                Err(bad) => return Ok(bad.into()),
            }
        }
        Ok(Reading::Ready(ExternalProviders { relations }))
    }

    /// The leader writes each provider's redirect URI once Kratos has a public URL, and
    /// clears its answer while there is none or the integrator withdrew its providers.
    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        let Some(providers) = inputs.integrations.external_idp.ready() else {
            return Ok(());
        };
        if !inputs.leader {
            return Ok(());
        }
        let public_url = inputs
            .integrations
            .public_route
            .ready()
            .and_then(|ingress| ingress.0.url.as_ref());
        for relation in model.relations(ENDPOINT)? {
            let Some((_, offered)) = providers
                .relations
                .iter()
                .find(|(id, _)| *id == relation.id)
            else {
                continue;
            };
            // No providers, or no public URL (the providers are held back): no answer, so
            // the integrator says it waits for Kratos rather than show a stale URI.
            let value = match public_url.filter(|_| !offered.is_empty()) {
                Some(url) => redirect_uris(url, offered)?,
                None => String::new(),
            };
            let bag = Databag::from([("providers".to_string(), value)]);
            model.update_databag(&relation, Bag::LocalApp, &bag)?;
        }
        Ok(())
    }
}

/// The requirer's answer: `[{"provider_id", "redirect_uri"}]` for every provider.
fn redirect_uris(public_url: &Url, providers: &[OidcProvider]) -> Result<String, CharmError> {
    let answer: Vec<Value> = providers
        .iter()
        .map(|p| {
            serde_json::json!({
                "provider_id": p.id,
                "redirect_uri": oidc_redirect_uri(public_url, &p.id).to_string(),
            })
        })
        .collect();
    serde_json::to_string(&answer).map_err(|e| CharmError::Serialise {
        what: "the redirect URIs",
        message: e.to_string(),
    })
}

impl Contribute for ExternalProviders {
    fn contribute(&self, workload: &mut WorkloadSpec) {
        for (_, providers) in &self.relations {
            workload
                .render
                .oidc_providers
                .extend(providers.iter().cloned());
        }
    }
}

/// Without a public URL the providers have no redirect URI Kratos could give them: they
/// are left out of the spec, with a status saying how to give Kratos its public URL;
/// everything else converges.
pub fn hold_without_public_url(
    spec: &mut WorkloadSpec,
    integrations: &Integrations,
) -> Vec<Status> {
    // Relation and ConfigMap providers alike.
    if spec.render.oidc_providers.is_empty() || spec.render.public_url.is_some() {
        return Vec::new();
    }
    spec.render.oidc_providers.clear();
    let status = if integrations.public_route.is_absent() {
        Status::blocked(format!(
            "The OIDC providers need Kratos's public URL for their redirect URIs: integrate \
             {} with traefik (juju integrate kratos:{} <traefik>)",
            route::PUBLIC_ENDPOINT,
            route::PUBLIC_ENDPOINT
        ))
    } else {
        Status::waiting(format!(
            "Waiting for the public URL from {} (the OIDC providers need it)",
            route::PUBLIC_ENDPOINT
        ))
    };
    vec![status]
}

/// Reads one relation's `providers` (absent or empty: none offered).
pub fn parse(relation: &Relation, bag: &Databag) -> Result<Vec<OidcProvider>, BadRelationData> {
    let app = relation.remote_app.as_deref().unwrap_or("?");
    let bad = |message: String| BadRelationData {
        endpoint: ENDPOINT,
        message: format!("relation {} ({app}): {message}", relation.id),
    };
    let Some(raw) = bag.get("providers").filter(|v| !v.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw) else {
        return Err(bad("providers is not a JSON list of providers".into()));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(fields) => {
                provider(fields).map_err(|m| bad(format!("providers[{index}]: {m}")))
            }
            _ => Err(bad(format!("providers[{index}] is not an object"))),
        })
        .collect()
}

/// One provider's fields (the library's v1 shape, v0 keys understood); the error names
/// the key.
pub fn provider(fields: &Map<String, Value>) -> Result<OidcProvider, String> {
    let fields = Fields(fields);
    let name = fields.required("provider")?;
    let client_id = fields.required("client_id")?;
    let kind = kind(&fields, &name)?;
    let default_scope = if name == "github" {
        GITHUB_SCOPE
    } else {
        DEFAULT_SCOPE
    };
    let scope = fields.scope()?.unwrap_or_else(|| words(default_scope));
    let id = match fields.optional_any(&["id", "provider_id"])? {
        Some(id) => checked_id(id)?,
        None => derived_id(&name, &client_id, &kind),
    };
    let mapper = match (
        fields.optional("mapper_url")?,
        fields.optional("jsonnet_mapper")?,
    ) {
        (Some(url), _) => Some(ClaimMapperSource::Url(mapper_url(url)?)),
        (None, Some(jsonnet)) => Some(ClaimMapperSource::Jsonnet(jsonnet)),
        (None, None) => None,
    };
    Ok(OidcProvider {
        id,
        label: Some(fields.optional("label")?.unwrap_or_else(|| name.clone())),
        client_id,
        scope,
        mapper,
        kind,
    })
}

/// The provider's type and its credentials.
fn kind(fields: &Fields<'_>, name: &str) -> Result<ProviderKind, String> {
    let secret = |keys: &[&str]| fields.required_any(keys).map(Sensitive::new);
    Ok(match name {
        "generic" | "auth0" => {
            let issuer_url = fields.required("issuer_url")?;
            http_url(ENDPOINT, "issuer_url", &issuer_url).map_err(|bad| bad.message)?;
            let client_secret = secret(&["client_secret"])?;
            if name == "generic" {
                ProviderKind::Generic {
                    issuer_url,
                    client_secret,
                }
            } else {
                ProviderKind::Auth0 {
                    issuer_url,
                    client_secret,
                }
            }
        }
        "microsoft" => ProviderKind::Microsoft {
            tenant: fields.required_any(&[
                "microsoft_tenant",
                "microsoft_tenant_id",
                "tenant_id",
            ])?,
            client_secret: secret(&["client_secret"])?,
        },
        "apple" => ProviderKind::Apple {
            team_id: fields.required_any(&["apple_team_id", "team_id"])?,
            private_key_id: fields.required_any(&["apple_private_key_id", "private_key_id"])?,
            private_key: secret(&["apple_private_key", "private_key"])?,
        },
        "twitch" => {
            return Err(
                "provider twitch is not supported by Kratos; configure it as a generic \
                        OIDC provider"
                    .into(),
            )
        }
        other => {
            // The library spells Yandex `yander`.
            let social = if other == "yander" { "yandex" } else { other };
            let provider: SocialProvider = social
                .parse()
                .map_err(|_| format!("provider {other:?} is not a provider Kratos supports"))?;
            ProviderKind::Social {
                provider,
                client_secret: secret(&["client_secret"])?,
            }
        }
    })
}

/// The library's id: the provider name and the sha1 of what identifies the client.
fn derived_id(name: &str, client_id: &str, kind: &ProviderKind) -> String {
    let identity = match kind {
        ProviderKind::Generic { issuer_url, .. } | ProviderKind::Auth0 { issuer_url, .. } => {
            format!("{client_id}_{issuer_url}")
        }
        ProviderKind::Microsoft { tenant, .. } => format!("{client_id}_{tenant}"),
        _ => client_id.to_string(),
    };
    let digest = Sha1::digest(identity.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{name}_{hex}")
}

/// Ids end up in a URL path (the callback): no separators, spaces or escapes.
fn checked_id(id: String) -> Result<String, String> {
    if id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
    {
        Ok(id)
    } else {
        Err(format!(
            "id {id:?} may only hold letters, digits, '-', '_', '.' and '~' (it is part of \
             the redirect URI)"
        ))
    }
}

/// Mapper URLs Kratos can fetch.
fn mapper_url(url: String) -> Result<String, String> {
    let scheme_ok = ["base64://", "http://", "https://", "file://"]
        .iter()
        .any(|scheme| url.starts_with(scheme));
    if scheme_ok {
        Ok(url)
    } else {
        Err(format!(
            "mapper_url {url:?} is not a base64://, http(s):// or file:// URL"
        ))
    }
}

fn words(scope: &str) -> Vec<String> {
    scope.split_whitespace().map(str::to_string).collect()
}

/// A provider object's fields, read with the library's rules (strings only; `null` is
/// absent).
struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn optional(&self, key: &str) -> Result<Option<String>, String> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("{key} is not a string")),
        }
    }

    fn optional_any(&self, keys: &[&str]) -> Result<Option<String>, String> {
        for key in keys {
            if let Some(value) = self.optional(key)? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    fn required(&self, key: &str) -> Result<String, String> {
        self.optional(key)?
            .ok_or_else(|| format!("{key} is missing"))
    }

    fn required_any(&self, keys: &[&str]) -> Result<String, String> {
        self.optional_any(keys)?
            .ok_or_else(|| format!("{} is missing", keys.first().copied().unwrap_or("a key")))
    }

    /// A space-separated string (v1) or a list of strings (v0).
    fn scope(&self) -> Result<Option<Vec<String>>, String> {
        match self.0.get("scope") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(words(s))),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| item.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| "scope is not a list of strings".to_string()),
            Some(_) => Err("scope is not a space-separated string".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn relation() -> Relation {
        Relation {
            id: 7,
            endpoint: ENDPOINT.into(),
            remote_app: Some("google-idp".into()),
            remote_units: vec![],
        }
    }

    fn parse_json(providers: Value) -> Result<Vec<OidcProvider>, BadRelationData> {
        let bag = Databag::from([("providers".to_string(), providers.to_string())]);
        parse(&relation(), &bag)
    }

    #[test]
    fn the_librarys_captured_generic_provider_is_read_verbatim() {
        let providers = parse_json(json!([{"provider":"generic","client_id":"abc","scope":"profile email address phone","id":"generic_123b13beb81a0c29fae1e36c05935d09bcbf2469","label":"generic","jsonnet_mapper":null,"mapper_url":null,"issuer_url":"https://idp.example.com","client_secret":"s3cr3t"}])).unwrap();
        let [p] = providers.as_slice() else {
            panic!("one provider")
        };
        assert_eq!(p.id, "generic_123b13beb81a0c29fae1e36c05935d09bcbf2469");
        assert_eq!(p.scope, ["profile", "email", "address", "phone"]);
        assert_eq!(p.mapper, None);
        let ProviderKind::Generic {
            issuer_url,
            client_secret,
        } = &p.kind
        else {
            panic!()
        };
        assert_eq!(issuer_url, "https://idp.example.com");
        assert_eq!(client_secret.expose(), "s3cr3t");
    }

    #[test]
    fn ids_are_derived_as_the_library_does() {
        // The values the library computes (INTEGRATIONS.md §1.5 examples).
        let google =
            parse_json(json!([{"provider":"google","client_id":"abc","client_secret":"x"}]))
                .unwrap();
        assert_eq!(
            google[0].id,
            "google_a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        let generic = parse_json(json!([{"provider":"generic","client_id":"abc","issuer_url":"https://idp.example.com","client_secret":"x"}])).unwrap();
        assert_eq!(
            generic[0].id,
            derived_id("generic", "abc", &generic[0].kind)
        );
        assert_ne!(
            generic[0].id,
            "generic_a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn defaults_follow_the_provider_type() {
        let github =
            parse_json(json!([{"provider":"github","client_id":"abc","client_secret":"x"}]))
                .unwrap();
        assert_eq!(github[0].scope, ["user:email"]);
        assert_eq!(github[0].label.as_deref(), Some("github"));
        let yandex =
            parse_json(json!([{"provider":"yander","client_id":"abc","client_secret":"x"}]))
                .unwrap();
        assert_eq!(yandex[0].kind.provider_name(), "yandex");
    }

    #[test]
    fn a_jsonnet_mapper_is_carried_and_a_mapper_url_wins() {
        let mapper = "local c = std.extVar('claims'); {identity:{traits:{email:c.email}}}";
        let p = parse_json(json!([{"provider":"microsoft","client_id":"abc","client_secret":"s","microsoft_tenant":"t","jsonnet_mapper":mapper}])).unwrap();
        assert_eq!(p[0].mapper, Some(ClaimMapperSource::Jsonnet(mapper.into())));
        let p = parse_json(json!([{"provider":"microsoft","client_id":"abc","client_secret":"s","microsoft_tenant_id":"t","jsonnet_mapper":mapper,"mapper_url":"base64://e30="}])).unwrap();
        assert_eq!(
            p[0].mapper,
            Some(ClaimMapperSource::Url("base64://e30=".into()))
        );
    }

    #[test]
    fn v0_key_names_and_list_scopes_are_understood() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIGT: x\n-----END PRIVATE KEY-----";
        let p = parse_json(json!([{"provider":"apple","client_id":"abc","team_id":"TEAM","private_key_id":"KID","private_key":pem,"scope":["openid","email"]}])).unwrap();
        let ProviderKind::Apple {
            team_id,
            private_key_id,
            private_key,
        } = &p[0].kind
        else {
            panic!()
        };
        assert_eq!((team_id.as_str(), private_key_id.as_str()), ("TEAM", "KID"));
        assert_eq!(private_key.expose(), pem);
        assert_eq!(p[0].scope, ["openid", "email"]);
        let p = parse_json(
            json!([{"provider":"microsoft","client_id":"abc","client_secret":"s","tenant_id":"t"}]),
        )
        .unwrap();
        assert!(matches!(&p[0].kind, ProviderKind::Microsoft { tenant, .. } if tenant == "t"));
    }

    #[test]
    fn withdrawn_providers_are_none() {
        assert_eq!(parse(&relation(), &Databag::new()).unwrap(), vec![]);
        assert_eq!(parse_json(json!([])).unwrap(), vec![]);
    }

    #[test]
    fn bad_data_names_the_relation_the_provider_and_the_key_without_the_secret() {
        for (providers, key) in [
            (json!({"provider":"google"}), "providers"),
            (json!(["x"]), "providers[0]"),
            (
                json!([{"provider":"google","client_secret":"hunter2"}]),
                "client_id",
            ),
            (
                json!([{"provider":"google","client_id":123,"client_secret":"hunter2"}]),
                "client_id",
            ),
            (
                json!([{"provider":"generic","client_id":"a","client_secret":"hunter2"}]),
                "issuer_url",
            ),
            (
                json!([{"provider":"generic","client_id":"a","client_secret":"hunter2","issuer_url":"idp"}]),
                "issuer_url",
            ),
            (
                json!([{"provider":"okta","client_id":"a","client_secret":"hunter2"}]),
                "okta",
            ),
            (
                json!([{"provider":"twitch","client_id":"a","client_secret":"hunter2"}]),
                "twitch",
            ),
            (
                json!([{"provider":"google","client_id":"a"}]),
                "client_secret",
            ),
            (
                json!([{"provider":"google","client_id":"a","client_secret":"hunter2","id":"a/b"}]),
                "id",
            ),
            (
                json!([{"provider":"google","client_id":"a","client_secret":"hunter2","scope":7}]),
                "scope",
            ),
            (
                json!([{"provider":"google","client_id":"a","client_secret":"hunter2","mapper_url":"javascript:x"}]),
                "mapper_url",
            ),
        ] {
            let message = parse_json(providers.clone()).unwrap_err().to_string();
            assert!(message.contains("kratos-external-idp"), "{message}");
            assert!(message.contains("relation 7 (google-idp)"), "{message}");
            assert!(message.contains(key), "{providers}: {message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
        let not_json = Databag::from([("providers".to_string(), "{oops".to_string())]);
        assert!(parse(&relation(), &not_json).is_err());
    }

    #[test]
    fn every_provider_gets_its_redirect_uri() {
        let providers = parse_json(json!([
            {"provider":"google","client_id":"a","client_secret":"x","id":"one"},
            {"provider":"github","client_id":"b","client_secret":"y","id":"two"}
        ]))
        .unwrap();
        let url = Url::parse("https://iam.example.com").unwrap();
        let answer: Value =
            serde_json::from_str(&redirect_uris(&url, &providers).unwrap()).unwrap();
        assert_eq!(
            answer,
            json!([
                {"provider_id":"one","redirect_uri":"https://iam.example.com/self-service/methods/oidc/callback/one"},
                {"provider_id":"two","redirect_uri":"https://iam.example.com/self-service/methods/oidc/callback/two"}
            ])
        );
    }
}
