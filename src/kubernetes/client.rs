//! The real API: kube-rs over rustls, with the pod's service account (token, CA and
//! namespace from `/var/run/secrets/kubernetes.io/serviceaccount`, the address from
//! `KUBERNETES_SERVICE_HOST`/`_PORT`), blocking on the dispatch's shared runtime.
//!
//! `CHARM_SERVICE_ACCOUNT_DIR` points elsewhere (the tests' API server). Outside
//! Kubernetes (no address, no token) there is no client, and what needs the API is off.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use juju_rs_ops::SharedRuntime;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};

use super::{KubeApi, KubeError};

/// Where Kubernetes mounts the pod's service account.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Overrides [`SERVICE_ACCOUNT_DIR`].
pub const SERVICE_ACCOUNT_DIR_ENV: &str = "CHARM_SERVICE_ACCOUNT_DIR";

/// How long one call may take: a hook must not hang on a dead API server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const READ_TIMEOUT: Duration = Duration::from_secs(15);

/// A client of the API server, in the service account's namespace.
pub struct KubeClient {
    client: kube::Client,
    namespace: String,
    runtime: SharedRuntime,
}

impl KubeClient {
    /// The in-cluster client: `Ok(None)` outside Kubernetes (no API address or no
    /// service account token), an error when the service account is there but unusable.
    pub fn in_cluster(runtime: &SharedRuntime) -> Result<Option<KubeClient>, KubeError> {
        let dir = std::env::var_os(SERVICE_ACCOUNT_DIR_ENV)
            .map_or_else(|| PathBuf::from(SERVICE_ACCOUNT_DIR), PathBuf::from);
        let host = std::env::var("KUBERNETES_SERVICE_HOST").ok();
        let port = std::env::var("KUBERNETES_SERVICE_PORT").ok();
        let (Some(host), Some(port)) = (host, port) else {
            return Ok(None);
        };
        if !dir.join("token").is_file() {
            return Ok(None);
        }
        let config = config(&dir, &host, &port)?;
        let namespace = config.default_namespace.clone();
        let client = runtime
            .block_on(async { kube::Client::try_from(config) })
            .map_err(|e| KubeError::Config(format!("cannot start a runtime: {e}")))?
            .map_err(|e| KubeError::Config(e.to_string()))?;
        Ok(Some(KubeClient {
            client,
            namespace,
            runtime: runtime.clone(),
        }))
    }

    fn block_on<T>(
        &self,
        future: impl std::future::Future<Output = Result<T, kube::Error>>,
    ) -> Result<T, KubeError> {
        self.runtime
            .block_on(future)
            .map_err(|e| KubeError::Unavailable(format!("cannot start a runtime: {e}")))?
            .map_err(classify)
    }

    fn config_maps(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    fn stateful_sets(&self) -> Api<StatefulSet> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }
}

/// The client configuration from the service account directory.
fn config(dir: &Path, host: &str, port: &str) -> Result<kube::Config, KubeError> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| KubeError::Config(format!("reading {}: {e}", dir.join(name).display())))
    };
    let namespace = read("namespace")?.trim().to_string();
    let ca = certificates_der(&read("ca.crt")?)?;
    // An IPv6 address needs brackets in a URL.
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    let url: http::Uri = format!("https://{host}:{port}")
        .parse()
        .map_err(|e| KubeError::Config(format!("KUBERNETES_SERVICE_HOST/PORT: {e}")))?;
    let mut config = kube::Config::new(url);
    config.default_namespace = namespace;
    config.root_cert = Some(ca);
    config.connect_timeout = Some(CONNECT_TIMEOUT);
    config.read_timeout = Some(READ_TIMEOUT);
    config.write_timeout = Some(READ_TIMEOUT);
    // Read by kube-rs itself, and re-read when Kubernetes rotates the token.
    config.auth_info.token_file = Some(dir.join("token").display().to_string());
    Ok(config)
}

/// The DER of each certificate in a PEM bundle.
fn certificates_der(pem: &str) -> Result<Vec<Vec<u8>>, KubeError> {
    let mut certificates = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN CERTIFICATE-----") {
        let after = rest
            .get(start + "-----BEGIN CERTIFICATE-----".len()..)
            .unwrap_or_default();
        let end = after
            .find("-----END CERTIFICATE-----")
            .ok_or_else(|| KubeError::Config("ca.crt: a certificate has no END line".into()))?;
        let body: String = after
            .get(..end)
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| KubeError::Config(format!("ca.crt: {e}")))?;
        certificates.push(der);
        rest = after.get(end..).unwrap_or_default();
    }
    if certificates.is_empty() {
        return Err(KubeError::Config("ca.crt holds no certificate".into()));
    }
    Ok(certificates)
}

/// The API's answer, by what the charm does about it.
fn classify(error: kube::Error) -> KubeError {
    match error {
        kube::Error::Api(status) => {
            let message = status.message.clone();
            match status.code {
                401 | 403 => KubeError::Forbidden(message),
                409 => KubeError::Conflict(message),
                400 | 404 | 422 => KubeError::Invalid(message),
                _ => KubeError::Unavailable(format!("{}: {message}", status.code)),
            }
        }
        other => KubeError::Unavailable(other.to_string()),
    }
}

impl KubeApi for KubeClient {
    fn namespace(&self) -> &str {
        &self.namespace
    }

    fn stateful_set(&self, name: &str) -> Result<Option<StatefulSet>, KubeError> {
        let api = self.stateful_sets();
        self.block_on(api.get_opt(name))
    }

    fn config_map(&self, name: &str) -> Result<Option<ConfigMap>, KubeError> {
        let api = self.config_maps();
        self.block_on(api.get_opt(name))
    }

    fn create_config_map(&self, config_map: &ConfigMap) -> Result<(), KubeError> {
        let api = self.config_maps();
        self.block_on(api.create(&PostParams::default(), config_map))
            .map(drop)
    }

    fn delete_config_map(&self, name: &str) -> Result<(), KubeError> {
        let api = self.config_maps();
        match self.block_on(api.delete(name, &DeleteParams::default())) {
            Ok(_) => Ok(()),
            Err(KubeError::Invalid(message)) if message.contains("not found") => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn apply_stateful_set(
        &self,
        patch: &StatefulSet,
        field_manager: &str,
        dry_run: bool,
    ) -> Result<StatefulSet, KubeError> {
        let name = patch.metadata.name.clone().unwrap_or_default();
        let mut params = PatchParams::apply(field_manager);
        params.dry_run = dry_run;
        let api = self.stateful_sets();
        self.block_on(api.patch(&name, &params, &Patch::Apply(patch)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_bundles_become_der_and_garbage_is_named() {
        let der = certificates_der(
            "-----BEGIN CERTIFICATE-----\nAAEC\n-----END CERTIFICATE-----\n\
             -----BEGIN CERTIFICATE-----\nAwQF\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert_eq!(der, [vec![0, 1, 2], vec![3, 4, 5]]);
        assert!(certificates_der("").is_err());
        assert!(certificates_der("-----BEGIN CERTIFICATE-----\nAAEC").is_err());
    }
}
