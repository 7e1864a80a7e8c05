//! A stand-in for Traefik's `web` entrypoint (plain HTTP on port 80), routing exactly by
//! the dynamic configuration a charm publishes on a traefik_route relation (Traefik v3
//! does not build from the Go module proxy here, so the tests cannot run the real one).
//!
//! What it implements is what the Kratos charm's configuration uses, with Traefik's
//! semantics, and nothing else (anything else in the configuration fails the test, so the
//! stand-in never silently routes what Traefik would not):
//!
//! - routers whose `entryPoints` include `web` (the `websecure` ones need TLS on 443);
//! - rules made of `Path(`…`)` (the exact path) and `PathPrefix(`…`)` (a string prefix of
//!   the path), joined by `||`; among matching routers the highest priority wins, which
//!   by default is the length of the rule, as in Traefik;
//! - the `replacePath` middleware (the path is replaced, the query kept, the original path
//!   sent in `X-Replaced-Path`);
//! - `loadBalancer` services with one server URL. The one substitution: a Kubernetes
//!   Service name `http://<app>.<model>.svc.cluster.local:<port>` stands for the unit's
//!   pod, reached at `127.0.0.1:<port>` where the proxy runs: in the pod's network
//!   namespace (the tests), or on the host (examples/local_deploy.rs, whose Kratos
//!   listens on the host's loopback) — the stand-in for cluster DNS.
//!
//! A request no router matches gets Traefik's `404 page not found`. The proxy forwards
//! the request with the original `Host`, adds `X-Forwarded-For`/`-Host`/`-Proto`, and
//! closes each connection after one response (`Connection: close`).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

/// How a rule matches a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// `Path(`p`)`: the path is exactly `p`.
    Path(String),
    /// `PathPrefix(`p`)`: the path starts with `p`.
    PathPrefix(String),
}

impl Matcher {
    fn matches(&self, path: &str) -> bool {
        match self {
            Matcher::Path(p) => path == p,
            Matcher::PathPrefix(p) => path.starts_with(p.as_str()),
        }
    }
}

/// One `web` router, resolved.
#[derive(Debug, Clone)]
pub struct Route {
    pub name: String,
    pub rule: String,
    pub matchers: Vec<Matcher>,
    pub replace_path: Option<String>,
    /// The service's server URL as configured.
    pub service_url: String,
    /// Where the stand-in connects for it.
    pub upstream: SocketAddr,
}

/// The `web` routers of a configuration, by descending priority.
#[derive(Debug, Clone)]
pub struct Routes(pub Vec<Route>);

impl Routes {
    /// Reads a Traefik dynamic configuration (YAML); panics on anything the stand-in does
    /// not implement.
    pub fn parse(config_yaml: &str) -> Routes {
        let config: Value = serde_yaml_ng::from_str(config_yaml).expect("config is YAML");
        let http = &config["http"];
        let routers = http["routers"].as_object().expect("http.routers is a map");
        let mut routes = Vec::new();
        for (name, router) in routers {
            let entry_points: Vec<&str> = router["entryPoints"]
                .as_array()
                .unwrap_or_else(|| panic!("router {name} has no entryPoints"))
                .iter()
                .map(|e| e.as_str().expect("entry point name"))
                .collect();
            if !entry_points.contains(&"web") {
                continue;
            }
            assert!(
                router.get("priority").is_none(),
                "router {name}: explicit priorities are not implemented by the stand-in"
            );
            let rule = router["rule"].as_str().expect("rule").to_string();
            let matchers = parse_rule(&rule);
            let mut replace_path = None;
            for middleware in router["middlewares"].as_array().into_iter().flatten() {
                let middleware = middleware.as_str().expect("middleware name");
                let spec = http["middlewares"]
                    .get(middleware)
                    .unwrap_or_else(|| panic!("router {name}: no middleware {middleware}"));
                let keys: Vec<&String> = spec.as_object().expect("a map").keys().collect();
                assert_eq!(
                    keys,
                    ["replacePath"],
                    "middleware {middleware}: only replacePath is implemented"
                );
                replace_path = Some(
                    spec["replacePath"]["path"]
                        .as_str()
                        .expect("replacePath.path")
                        .to_string(),
                );
            }
            let service = router["service"].as_str().expect("service");
            let servers = http["services"][service]["loadBalancer"]["servers"]
                .as_array()
                .unwrap_or_else(|| panic!("router {name}: no loadBalancer service {service}"));
            assert_eq!(servers.len(), 1, "service {service}: one server");
            let service_url = servers[0]["url"].as_str().expect("url").to_string();
            let upstream = pod_address(&service_url);
            routes.push(Route {
                name: name.clone(),
                rule,
                matchers,
                replace_path,
                service_url,
                upstream,
            });
        }
        // Traefik's default priority: the rule's length, longest first.
        routes.sort_by_key(|r| std::cmp::Reverse(r.rule.len()));
        Routes(routes)
    }

    /// The router Traefik picks for `path`.
    pub fn route(&self, path: &str) -> Option<&Route> {
        self.0
            .iter()
            .find(|r| r.matchers.iter().any(|m| m.matches(path)))
    }
}

fn parse_rule(rule: &str) -> Vec<Matcher> {
    rule.split("||")
        .map(|part| {
            let part = part.trim();
            let (kind, rest) = part
                .split_once("(`")
                .unwrap_or_else(|| panic!("rule {rule:?}: not Matcher(`…`)"));
            let value = rest
                .strip_suffix("`)")
                .unwrap_or_else(|| panic!("rule {rule:?}: not Matcher(`…`)"));
            assert!(!value.contains('`'), "rule {rule:?}: one argument");
            match kind {
                "Path" => Matcher::Path(value.to_string()),
                "PathPrefix" => Matcher::PathPrefix(value.to_string()),
                other => panic!("rule {rule:?}: matcher {other} is not implemented"),
            }
        })
        .collect()
}

/// `http://<app>.<model>.svc.cluster.local:<port>` → `127.0.0.1:<port>` where the proxy runs.
fn pod_address(service_url: &str) -> SocketAddr {
    let url = url::Url::parse(service_url).expect("service URL");
    assert_eq!(url.scheme(), "http", "{service_url}");
    assert!(
        url.host_str()
            .is_some_and(|h| h.ends_with(".svc.cluster.local")),
        "{service_url} is not a Kubernetes Service"
    );
    assert_eq!(url.path(), "/", "{service_url}: no path");
    let port = url.port().expect("an explicit port");
    ([127, 0, 0, 1], port).into()
}

/// The proxy, listening on 127.0.0.1:80; stops on drop.
pub struct TraefikStandIn {
    pub routes: Arc<Routes>,
    stop: Arc<AtomicBool>,
    listener: Option<JoinHandle<()>>,
}

impl TraefikStandIn {
    /// Listens on 127.0.0.1:80 inside the network namespace `netns` (a pod's), or on the
    /// host's loopback with `None`, routing by `config_yaml`; panics when it cannot bind.
    pub fn start(netns: Option<&str>, config_yaml: &str) -> TraefikStandIn {
        let routes = Arc::new(Routes::parse(config_yaml));
        let stop = Arc::new(AtomicBool::new(false));
        let (bound_tx, bound) = mpsc::channel();
        let path = netns.map(|netns| format!("/run/netns/{netns}"));
        let listener = std::thread::spawn({
            let (stop, routes) = (stop.clone(), routes.clone());
            move || {
                if let Some(path) = &path {
                    super::netns::enter(path);
                }
                let listener = match TcpListener::bind(("127.0.0.1", 80))
                    .and_then(|l| l.set_nonblocking(true).map(|()| l))
                {
                    Ok(l) => {
                        let _ = bound_tx.send(Ok(()));
                        l
                    }
                    Err(e) => {
                        let _ = bound_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let _ = stream.set_nonblocking(false);
                            let routes = routes.clone();
                            // Spawned from this thread: in its namespace too.
                            std::thread::spawn(move || serve(stream, &routes));
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            }
        });
        bound.recv().expect("proxy thread").unwrap_or_else(|e| {
            let place = netns.map_or("on the host".to_string(), |n| format!("in {n}"));
            panic!("bind 127.0.0.1:80 {place}: {e}")
        });
        TraefikStandIn {
            routes,
            stop,
            listener: Some(listener),
        }
    }
}

impl Drop for TraefikStandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(listener) = self.listener.take() {
            let _ = listener.join();
        }
    }
}

const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 19\r\nConnection: close\r\n\r\n404 page not found\n";
const BAD_GATEWAY: &[u8] =
    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Gateway";

/// One connection: one request, forwarded to its router's server, and its response.
fn serve(mut client: TcpStream, routes: &Routes) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        if buffer.len() > 64 * 1024 {
            return;
        }
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let rest = buffer[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return;
    };
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let Some(route) = routes.route(path) else {
        let _ = client.write_all(NOT_FOUND);
        return;
    };
    let Ok(mut upstream) = TcpStream::connect(route.upstream) else {
        let _ = client.write_all(BAD_GATEWAY);
        return;
    };
    let new_path = route.replace_path.as_deref().unwrap_or(path);
    let new_target = match query {
        Some(q) => format!("{new_path}?{q}"),
        None => new_path.to_string(),
    };
    let mut out = format!("{method} {new_target} {version}\r\n");
    let mut host = String::new();
    for line in lines {
        let name = line.split(':').next().unwrap_or_default().trim();
        if name.eq_ignore_ascii_case("host") {
            host = line[name.len() + 1..].trim().to_string();
        }
        let hop_by_hop = ["connection", "keep-alive", "proxy-connection", "upgrade"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h));
        let forwarded = name.to_ascii_lowercase().starts_with("x-forwarded-");
        if !hop_by_hop && !forwarded {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str(&format!(
        "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Host: {host}\r\nX-Forwarded-Proto: http\r\n"
    ));
    if route.replace_path.is_some() {
        out.push_str(&format!("X-Replaced-Path: {path}\r\n"));
    }
    out.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(out.as_bytes()).is_err() || upstream.write_all(&rest).is_err() {
        let _ = client.write_all(BAD_GATEWAY);
        return;
    }
    // The request body (if any is left), then the response back until the server closes.
    if let (Ok(mut from), Ok(mut to)) = (client.try_clone(), upstream.try_clone()) {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
        });
    }
    let _ = std::io::copy(&mut upstream, &mut client);
    let _ = client.shutdown(Shutdown::Both);
    let _ = upstream.shutdown(Shutdown::Both);
}
