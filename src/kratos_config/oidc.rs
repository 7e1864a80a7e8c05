//! OIDC providers: their Kratos configuration, claim mappers and callback URLs.

use base64::Engine as _;
use url::Url;

use super::inputs::{ClaimMapperSource, OidcProvider, ProviderKind};
use super::model::OidcProviderConfig;

/// Claim mapper for every provider without a mapper of its own, except Microsoft.
pub const DEFAULT_CLAIM_MAPPER: &str = include_str!("../../claim_mappers/default.jsonnet");

/// Claim mapper for Microsoft Entra ID providers.
pub const MICROSOFT_CLAIM_MAPPER: &str = include_str!("../../claim_mappers/microsoft.jsonnet");

/// `base64://` URL of `content`, the form Kratos loads inline documents from.
///
/// ```ignore
/// assert_eq!(base64_url("hi"), "base64://aGk=");
/// ```
pub fn base64_url(content: &str) -> String {
    format!(
        "base64://{}",
        base64::engine::general_purpose::STANDARD.encode(content.as_bytes())
    )
}

/// The shipped claim mapper (Jsonnet source) Kratos uses for a provider without its own.
pub fn shipped_claim_mapper(kind: &ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Microsoft { .. } => MICROSOFT_CLAIM_MAPPER,
        _ => DEFAULT_CLAIM_MAPPER,
    }
}

/// The callback URL Kratos serves for a provider, which the provider must allow as its
/// redirect URI: `<public url>/self-service/methods/oidc/callback/<id>`. A path in the public
/// URL is kept; the id is percent-encoded as one path segment.
///
/// ```ignore
/// let public = Url::parse("https://id.example.com").unwrap();
/// assert_eq!(
///     oidc_redirect_uri(&public, "google").as_str(),
///     "https://id.example.com/self-service/methods/oidc/callback/google",
/// );
/// ```
pub fn oidc_redirect_uri(public_url: &Url, provider_id: &str) -> Url {
    let mut url = public_url.clone();
    url.set_query(None);
    url.set_fragment(None);
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().extend([
            "self-service",
            "methods",
            "oidc",
            "callback",
            provider_id,
        ]);
    }
    url
}

/// The Kratos configuration entry of one provider.
pub(super) fn provider_config(provider: &OidcProvider) -> OidcProviderConfig {
    let mapper_url = match &provider.mapper {
        Some(ClaimMapperSource::Url(url)) => url.clone(),
        Some(ClaimMapperSource::Jsonnet(source)) => base64_url(source),
        None => base64_url(shipped_claim_mapper(&provider.kind)),
    };
    let mut config = OidcProviderConfig {
        id: provider.id.clone(),
        provider: provider.kind.provider_name().to_string(),
        label: provider.label.clone(),
        client_id: provider.client_id.clone(),
        client_secret: None,
        issuer_url: None,
        mapper_url,
        scope: provider.scope.clone(),
        microsoft_tenant: None,
        apple_team_id: None,
        apple_private_key_id: None,
        apple_private_key: None,
    };
    match &provider.kind {
        ProviderKind::Generic {
            issuer_url,
            client_secret,
        }
        | ProviderKind::Auth0 {
            issuer_url,
            client_secret,
        } => {
            config.issuer_url = Some(issuer_url.clone());
            config.client_secret = Some(client_secret.clone());
        }
        ProviderKind::Microsoft {
            tenant,
            client_secret,
        } => {
            config.microsoft_tenant = Some(tenant.clone());
            config.client_secret = Some(client_secret.clone());
        }
        ProviderKind::Apple {
            team_id,
            private_key_id,
            private_key,
        } => {
            config.apple_team_id = Some(team_id.clone());
            config.apple_private_key_id = Some(private_key_id.clone());
            config.apple_private_key = Some(private_key.clone());
        }
        ProviderKind::Social { client_secret, .. } => {
            config.client_secret = Some(client_secret.clone());
        }
    }
    config
}
