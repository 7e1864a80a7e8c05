//! `tracing` (tracing v2, `charms.tempo_coordinator_k8s.v0.tracing`, requirer): the leader
//! asks for the `otlp_http` receiver (`receivers` = `["otlp_http"]` in its application
//! bag); Tempo (or a relay: grafana-agent, opentelemetry-collector) answers with
//! `receivers`, a JSON list of `{"protocol": {"name", "type"}, "url"}`, and Kratos sends
//! its traces to the `otlp_http` one (`TRACING_PROVIDER=otel`, the OTLP exporter's
//! `host:port`, 100% sampling, as the reference).
//!
//! Unlike the reference:
//! - a provider that offers no `otlp_http` receiver (yet) is a notice, not a crash in every
//!   hook: Kratos runs without tracing and everything else converges
//!   ([`Contribute::notices`]);
//! - an `https` receiver is sent to over TLS (`insecure` only for `http`), trusting the
//!   system store plus what receive-ca-cert brings;
//! - a receiver URL with a path is a notice (Kratos's exporter posts to
//!   `host:port/v1/traces` and cannot honour a path prefix), not a mangled `host/path`.
//!
//! Bad data (`receivers` not a JSON list of receivers, a URL that is not http(s)) blocks
//! naming the key, and the last good Kratos keeps running, as for every integration.
//! Kratos reports itself as `Ory Kratos` (its default `tracing.service_name`, as under
//! the reference).

use juju_rs_ops::model::{Bag, Model};
use juju_rs_ops::Status;
use serde_json::Value;
use url::Url;

use super::{http_url, BadRelationData, Contribute, Databag, Integration, Reading};
use crate::error::CharmError;
use crate::inputs::Inputs;
use crate::workload::WorkloadSpec;

/// The endpoint.
pub const ENDPOINT: &str = "tracing";
/// The one protocol Kratos speaks to a tracing backend.
pub const PROTOCOL: &str = "otlp_http";
/// What the leader asks for (the library's `receivers` JSON).
pub const REQUEST: &str = r#"["otlp_http"]"#;
/// The share of traces sent (the reference's hard-coded value).
pub const SAMPLING_RATIO: &str = "1.0";

/// Where Kratos sends its traces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtlpEndpoint {
    /// `host:port` of the OTLP/HTTP receiver, as Kratos's exporter takes it.
    pub server_url: String,
    /// Plain HTTP (the receiver's URL is `http://`); TLS otherwise.
    pub insecure: bool,
}

/// What the tracing provider offers Kratos.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tracing {
    /// An OTLP/HTTP receiver Kratos sends to.
    Otlp(OtlpEndpoint),
    /// No receiver Kratos can use: no tracing, and a notice saying why and what to do.
    Unusable(Status),
}

/// The integration.
pub struct TracingIntegration;

impl Integration for TracingIntegration {
    type Data = Tracing;

    fn read(model: &Model) -> Result<Reading<Tracing>, CharmError> {
        Ok(match model.remote_app_bag(ENDPOINT)? {
            Some((relation, bag)) => {
                let app = relation.remote_app.as_deref().unwrap_or("?");
                parse(&bag, app)
            }
            None => Reading::Absent,
        })
    }

    /// The leader asks every provider for the `otlp_http` receiver.
    fn publish(model: &Model, inputs: &Inputs) -> Result<(), CharmError> {
        if !inputs.leader {
            return Ok(());
        }
        let request = Databag::from([("receivers".to_string(), REQUEST.to_string())]);
        for relation in model.relations(ENDPOINT)? {
            model.update_databag(&relation, Bag::LocalApp, &request)?;
        }
        Ok(())
    }
}

/// Reads the provider's application bag (`app` names it in statuses): nothing until it
/// has published receivers.
pub fn parse(bag: &Databag, app: &str) -> Reading<Tracing> {
    let Some(raw) = bag.get("receivers").filter(|v| !v.trim().is_empty()) else {
        return Reading::Absent;
    };
    let bad = |message: String| -> Reading<Tracing> {
        BadRelationData {
            endpoint: ENDPOINT,
            message: format!("{message} (from {app}); check the provider's version"),
        }
        .into()
    };
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw) else {
        return bad("receivers is not a JSON list of {protocol, url} receivers".into());
    };
    let mut offered = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match receiver(item) {
            Some(receiver) => offered.push(receiver),
            None => {
                return bad(format!(
                    "receivers[{index}] is not a {{\"protocol\": {{\"name\"}}, \"url\"}} object"
                ))
            }
        }
    }
    let Some((index, (_, url))) = offered
        .iter()
        .enumerate()
        .find(|(_, (name, _))| *name == PROTOCOL)
    else {
        let names: Vec<&str> = offered.iter().map(|(name, _)| *name).collect();
        return Reading::Ready(Tracing::Unusable(no_otlp_http(app, &names)));
    };
    match http_url(ENDPOINT, &format!("receivers[{index}].url"), url) {
        Ok(url) => Reading::Ready(endpoint(&url, app)),
        Err(problem) => problem.into(),
    }
}

/// One receiver's protocol name and URL.
fn receiver(item: &Value) -> Option<(&str, &str)> {
    let name = item.get("protocol")?.get("name")?.as_str()?;
    let url = item.get("url")?.as_str()?;
    Some((name, url))
}

/// The notice for a provider without an OTLP/HTTP receiver.
fn no_otlp_http(app: &str, offered: &[&str]) -> Status {
    let offered = if offered.is_empty() {
        "none yet".to_string()
    } else {
        offered.join(", ")
    };
    Status::waiting(format!(
        "No tracing: {app} on {ENDPOINT} offers no {PROTOCOL} receiver (offered: {offered}); \
         Kratos sends OTLP over HTTP: enable that receiver on {app}"
    ))
}

/// Kratos's exporter settings from the receiver's URL.
fn endpoint(url: &Url, app: &str) -> Tracing {
    if !matches!(url.path(), "" | "/") {
        return Tracing::Unusable(Status::blocked(format!(
            "No tracing: the {PROTOCOL} receiver of {app} on {ENDPOINT} has a path ({}), \
             and Kratos sends to host:port/v1/traces only: publish the receiver without a \
             path prefix",
            url.path()
        )));
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(80);
    Tracing::Otlp(OtlpEndpoint {
        server_url: format!("{host}:{port}"),
        insecure: url.scheme() == "http",
    })
}

impl Contribute for Tracing {
    fn contribute(&self, workload: &mut WorkloadSpec) {
        let Tracing::Otlp(otlp) = self else {
            return;
        };
        for (name, value) in [
            ("TRACING_PROVIDER", "otel".to_string()),
            ("TRACING_PROVIDERS_OTLP_SERVER_URL", otlp.server_url.clone()),
            ("TRACING_PROVIDERS_OTLP_INSECURE", otlp.insecure.to_string()),
            (
                "TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO",
                SAMPLING_RATIO.to_string(),
            ),
        ] {
            workload.env.insert(name.to_string(), value);
        }
        // Web-hooks then emit analytics events (as the reference ties them to tracing).
        workload.render.tracing_enabled = true;
    }

    fn notices(&self) -> Vec<Status> {
        match self {
            Tracing::Otlp(_) => Vec::new(),
            Tracing::Unusable(status) => vec![status.clone()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_bag as bag;
    use super::*;
    use juju_rs_ops::StatusKind;

    fn receivers(value: &str) -> Reading<Tracing> {
        parse(&bag(&[("receivers", value)]), "tempo")
    }

    fn otlp(reading: &Reading<Tracing>) -> &OtlpEndpoint {
        match reading {
            Reading::Ready(Tracing::Otlp(otlp)) => otlp,
            other => panic!("not an OTLP endpoint: {other:?}"),
        }
    }

    fn unusable(reading: &Reading<Tracing>) -> &Status {
        match reading {
            Reading::Ready(Tracing::Unusable(status)) => status,
            other => panic!("not unusable: {other:?}"),
        }
    }

    fn blocked(reading: &Reading<Tracing>) -> &str {
        match reading {
            Reading::Blocked(message) => message,
            other => panic!("not blocked: {other:?}"),
        }
    }

    const TEMPO: &str = r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo.cos.svc.cluster.local:4317"}, {"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://tempo.cos.svc.cluster.local:4318"}]"#;

    #[test]
    fn nothing_published_is_absent() {
        assert_eq!(parse(&bag(&[]), "tempo"), Reading::Absent);
        assert_eq!(receivers(""), Reading::Absent);
    }

    #[test]
    fn the_otlp_http_receiver_gives_host_and_port_and_insecure_for_http() {
        let reading = receivers(TEMPO);
        assert_eq!(
            otlp(&reading),
            &OtlpEndpoint {
                server_url: "tempo.cos.svc.cluster.local:4318".into(),
                insecure: true,
            }
        );
        assert!(reading.ready().unwrap().notices().is_empty());
    }

    #[test]
    fn https_is_tls_and_the_default_port_is_made_explicit() {
        let reading = receivers(
            r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "https://tempo.example.com/"}]"#,
        );
        assert_eq!(
            otlp(&reading),
            &OtlpEndpoint {
                server_url: "tempo.example.com:443".into(),
                insecure: false,
            }
        );
        let ipv6 = receivers(
            r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "http://[fd00::1]:4318"}]"#,
        );
        assert_eq!(otlp(&ipv6).server_url, "[fd00::1]:4318");
    }

    #[test]
    fn no_otlp_http_receiver_is_a_notice_naming_what_is_offered() {
        let reading = receivers(
            r#"[{"protocol": {"name": "otlp_grpc", "type": "grpc"}, "url": "tempo:4317"}]"#,
        );
        let status = unusable(&reading);
        assert_eq!(status.kind, StatusKind::Waiting);
        assert!(
            status.message.contains("otlp_http") && status.message.contains("otlp_grpc"),
            "{status:?}"
        );
        assert_eq!(reading.ready().unwrap().notices(), vec![status.clone()]);
        assert!(unusable(&receivers("[]")).message.contains("none yet"));
    }

    #[test]
    fn a_receiver_with_a_path_is_a_notice() {
        let reading = receivers(
            r#"[{"protocol": {"name": "otlp_http", "type": "http"}, "url": "https://ingress.example.com/cos-tempo"}]"#,
        );
        let status = unusable(&reading);
        assert_eq!(status.kind, StatusKind::Blocked);
        assert!(status.message.contains("/cos-tempo"), "{status:?}");
    }

    #[test]
    fn garbage_blocks_naming_the_key() {
        for (raw, key) in [
            ("not json", "receivers is not"),
            (r#"{"otlp_http": "x"}"#, "receivers is not"),
            (r#"["otlp_http"]"#, "receivers[0]"),
            (
                r#"[{"protocol": "otlp_http", "url": "http://t:4318"}]"#,
                "receivers[0]",
            ),
            (
                r#"[{"protocol": {"name": "otlp_http"}, "url": "tempo:4318"}]"#,
                "receivers[0].url",
            ),
            (
                r#"[{"protocol": {"name": "zipkin"}, "url": "http://t:9411"}, {"protocol": {"name": "otlp_http"}, "url": "ftp://t"}]"#,
                "receivers[1].url",
            ),
        ] {
            let message = blocked(&receivers(raw)).to_string();
            assert!(
                message.contains(key) && message.contains("tracing"),
                "{raw}: {message}"
            );
        }
    }

    #[test]
    fn the_endpoint_sets_the_otel_environment_and_enables_analytics_events() {
        let mut spec = WorkloadSpec::for_tests();
        receivers(TEMPO).ready().unwrap().contribute(&mut spec);
        assert_eq!(spec.env["TRACING_PROVIDER"], "otel");
        assert_eq!(
            spec.env["TRACING_PROVIDERS_OTLP_SERVER_URL"],
            "tempo.cos.svc.cluster.local:4318"
        );
        assert_eq!(spec.env["TRACING_PROVIDERS_OTLP_INSECURE"], "true");
        assert_eq!(
            spec.env["TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO"],
            "1.0"
        );
        assert!(spec.render.tracing_enabled);

        let mut untouched = WorkloadSpec::for_tests();
        Tracing::Unusable(Status::waiting("x")).contribute(&mut untouched);
        assert_eq!(untouched, WorkloadSpec::for_tests());
    }
}
