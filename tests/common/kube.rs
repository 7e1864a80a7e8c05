//! A real Kubernetes API server for the charm's Kubernetes tests: `kube-apiserver`
//! (v1.34.4, built by scripts/install-kube-apiserver.sh) on a throwaway `etcd` (v3.6.5,
//! scripts/install-etcd.sh), both on the host's loopback; no controllers, no kubelet, no
//! pods. Objects are stored and served as in a cluster (validation, defaulting, RBAC,
//! server-side apply, managedFields, status subresources); nothing acts on them, so the
//! tests play the controllers' part themselves (`set_statefulset_status`).
//!
//! Who is who: static bearer tokens (`--token-auth-file`) for [`ADMIN`] (group
//! `system:masters`), [`TRUSTED`] and [`UNTRUSTED`]; RBAC authorizes them. The charm's
//! unit sees a token through [`KubeCluster::service_account_dir`], laid out as
//! Kubernetes mounts `/var/run/secrets/kubernetes.io/serviceaccount`.
//!
//! HTTP: the fixture's own calls go through `curl --cacert` (curl is on the machine),
//! not ureq: the workspace's ureq is built without TLS, and turning its TLS feature on
//! for the tests would also change the charm binary under test (features unify).
//!
//! Stopped (both processes killed, data dir removed) on drop.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::free_port;

/// A user in group `system:masters`: may do anything.
pub const ADMIN: &str = "admin";
/// The charm's identity after `juju trust`: see [`KubeCluster::grant_trusted`].
pub const TRUSTED: &str = "kratos-trusted";
/// The charm's identity without trust: RBAC grants it nothing.
pub const UNTRUSTED: &str = "kratos-untrusted";

/// The API server's service-cluster-IP range (a Service needs one; nothing routes it).
const SERVICE_CLUSTER_IP_RANGE: &str = "10.0.0.0/24";

/// The real kube-apiserver binary (`$KUBE_APISERVER_BIN`, else where
/// scripts/install-kube-apiserver.sh puts it).
pub fn kube_apiserver_bin() -> PathBuf {
    tool_bin(
        "KUBE_APISERVER_BIN",
        "kube-apiserver",
        "scripts/install-kube-apiserver.sh",
    )
}

/// The real etcd binary (`$ETCD_BIN`, else where scripts/install-etcd.sh puts it).
pub fn etcd_bin() -> PathBuf {
    tool_bin("ETCD_BIN", "etcd", "scripts/install-etcd.sh")
}

fn tool_bin(var: &str, name: &str, script: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
            .join(".cache/charm-kratos/bin")
            .join(name)
    });
    assert!(
        path.is_file(),
        "no {name} binary at {} (run {script} or set {var})",
        path.display()
    );
    path
}

/// A running etcd + kube-apiserver.
pub struct KubeCluster {
    etcd: Child,
    apiserver: Child,
    port: u16,
    /// `(user, token)` for [`ADMIN`], [`TRUSTED`], [`UNTRUSTED`].
    tokens: Vec<(String, String)>,
    dir: tempfile::TempDir,
}

impl KubeCluster {
    /// Generates a CA, the API server's serving certificate (for 127.0.0.1 and
    /// localhost) and a service-account signing key with openssl, starts etcd and
    /// kube-apiserver on free loopback ports and waits until `/readyz` answers 200 to the
    /// admin (which includes RBAC's bootstrap roles).
    pub fn start() -> KubeCluster {
        let (etcd_bin, apiserver_bin) = (etcd_bin(), kube_apiserver_bin());
        let dir = tempfile::Builder::new()
            .prefix("kube-cluster-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        make_pki(d);

        let tokens: Vec<(String, String)> = [ADMIN, TRUSTED, UNTRUSTED]
            .iter()
            .map(|user| (user.to_string(), format!("{:032x}", rand::random::<u128>())))
            .collect();
        // token,user,uid[,"group1,group2"]
        let csv: String = tokens
            .iter()
            .map(|(user, token)| {
                let groups = if user == ADMIN {
                    ",\"system:masters\""
                } else {
                    ""
                };
                format!("{token},{user},{user}-uid{groups}\n")
            })
            .collect();
        std::fs::write(d.join("tokens.csv"), csv).expect("write tokens.csv");

        let (client_port, peer_port, port) = (free_port(), free_port(), free_port());
        let client_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let etcd = Command::new(etcd_bin)
            .arg("--name=test")
            .arg(format!("--data-dir={}", d.join("etcd").display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=test={peer_url}"))
            // A throwaway store: no fsync, no metrics port.
            .arg("--unsafe-no-fsync")
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log_file(d, "etcd.log"))
            .stderr(log_file(d, "etcd.log"))
            .spawn()
            .expect("start etcd");

        let pem = |name: &str| d.join(name).display().to_string();
        // kube-apiserver retries etcd until it answers: both start at once.
        let apiserver = Command::new(apiserver_bin)
            .arg("--bind-address=127.0.0.1")
            .arg("--advertise-address=127.0.0.1")
            .arg(format!("--secure-port={port}"))
            .arg(format!("--etcd-servers={client_url}"))
            .arg(format!("--tls-cert-file={}", pem("server.crt")))
            .arg(format!("--tls-private-key-file={}", pem("server.key")))
            .arg(format!("--client-ca-file={}", pem("ca.crt")))
            .arg("--authorization-mode=RBAC")
            .arg(format!("--token-auth-file={}", pem("tokens.csv")))
            .arg("--service-account-issuer=https://kubernetes.default.svc.cluster.local")
            .arg(format!("--service-account-key-file={}", pem("sa.key")))
            .arg(format!(
                "--service-account-signing-key-file={}",
                pem("sa.key")
            ))
            .arg(format!(
                "--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}"
            ))
            // No kubelet answers at the advertise address: keep the `kubernetes`
            // Service's endpoints out of it.
            .arg("--endpoint-reconciler-type=none")
            .arg("--profiling=false")
            .stdin(Stdio::null())
            .stdout(log_file(d, "kube-apiserver.log"))
            .stderr(log_file(d, "kube-apiserver.log"))
            .spawn()
            .expect("start kube-apiserver");

        let mut cluster = KubeCluster {
            etcd,
            apiserver,
            port,
            tokens,
            dir,
        };
        cluster.wait_ready();
        cluster
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.etcd.try_wait().expect("etcd status") {
                panic!("etcd exited ({status}):\n{}", self.logs());
            }
            if let Some(status) = self.apiserver.try_wait().expect("apiserver status") {
                panic!("kube-apiserver exited ({status}):\n{}", self.logs());
            }
            if let Ok((200, _)) = self.try_request(ADMIN, "GET", "/readyz", None, "") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "kube-apiserver not ready in 60s:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The tails of etcd's and kube-apiserver's logs.
    pub fn logs(&self) -> String {
        let tail = |name: &str| {
            let text = std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(40)..].join("\n")
        };
        format!(
            "--- etcd.log\n{}\n--- kube-apiserver.log\n{}",
            tail("etcd.log"),
            tail("kube-apiserver.log")
        )
    }

    /// What a pod is told in `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT`.
    pub fn api_server_host_port(&self) -> (String, u16) {
        ("127.0.0.1".to_string(), self.port)
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The CA (PEM) that signed the API server's serving certificate.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    /// The bearer token of [`ADMIN`], [`TRUSTED`] or [`UNTRUSTED`].
    pub fn token(&self, user: &str) -> &str {
        self.tokens
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, token)| token.as_str())
            .unwrap_or_else(|| panic!("no token for user {user}"))
    }

    /// A call as `user`: the status and the body (JSON; a non-JSON body as a string,
    /// an empty one as null). `content_type` is sent with a body (JSON serialised: YAML
    /// parsers, so also `application/apply-patch+yaml`, read it).
    pub fn request(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        content_type: &str,
    ) -> (u16, Value) {
        self.try_request(user, method, path, body, content_type)
            .unwrap_or_else(|e| panic!("{method} {path} as {user}: {e}\n{}", self.logs()))
    }

    /// [`KubeCluster::request`] as [`ADMIN`].
    pub fn admin_request(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        content_type: &str,
    ) -> (u16, Value) {
        self.request(ADMIN, method, path, body, content_type)
    }

    fn try_request(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        content_type: &str,
    ) -> Result<(u16, Value), String> {
        let mut cmd = Command::new("curl");
        cmd.args(["--silent", "--show-error", "--noproxy", "*"])
            .args(["--max-time", "30", "--request", method])
            .arg("--cacert")
            .arg(self.ca_path())
            // A header file keeps the token off the command line.
            .arg("--header")
            .arg(format!("@{}", self.header_file(user).display()))
            .args(["--header", "Accept: application/json"])
            .args(["--write-out", "\n%{http_code}"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if body.is_some() {
            cmd.args(["--header", &format!("Content-Type: {content_type}")])
                .args(["--data-binary", "@-"]);
        }
        cmd.arg(format!("{}{path}", self.url()));
        let mut child = cmd.spawn().map_err(|e| format!("run curl: {e}"))?;
        {
            let mut stdin = child.stdin.take().expect("curl stdin");
            if let Some(body) = &body {
                stdin
                    .write_all(body.to_string().as_bytes())
                    .map_err(|e| format!("write body: {e}"))?;
            }
        }
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "curl failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, code) = text.rsplit_once('\n').ok_or("no status from curl")?;
        let code: u16 = code.trim().parse().map_err(|_| format!("status {code}"))?;
        let body = if body.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string()))
        };
        Ok((code, body))
    }

    /// A curl header file `Authorization: Bearer <token>` for `user`.
    fn header_file(&self, user: &str) -> PathBuf {
        let path = self.dir.path().join(format!("auth-{user}.header"));
        if !path.exists() {
            std::fs::write(
                &path,
                format!("Authorization: Bearer {}\n", self.token(user)),
            )
            .expect("write header file");
        }
        path
    }

    /// Creates namespace `name` (as a Juju model's namespace).
    pub fn create_namespace(&self, name: &str) {
        let (status, body) = self.admin_request(
            "POST",
            "/api/v1/namespaces",
            Some(json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": name},
            })),
            "application/json",
        );
        assert_eq!(status, 201, "create namespace {name}: {body}");
    }

    /// Creates the StatefulSet of application `app` as Juju does for a sidecar charm:
    /// named `app`, labelled and selected by `app.kubernetes.io/name: <app>`, service
    /// `<app>-endpoints`, one replica, a `charm` container and a workload container named
    /// after the charm's container (`kratos`, the metadata's oci-image), each running
    /// Pebble as Juju 3 starts them, neither with resources. Returns it.
    pub fn create_statefulset(&self, namespace: &str, app: &str) -> Value {
        let labels = json!({"app.kubernetes.io/name": app});
        let (status, body) = self.admin_request(
            "POST",
            &format!("/apis/apps/v1/namespaces/{namespace}/statefulsets"),
            Some(json!({
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {
                    "name": app,
                    "labels": labels,
                },
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "serviceName": format!("{app}-endpoints"),
                    "podManagementPolicy": "Parallel",
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "serviceAccountName": app,
                            "automountServiceAccountToken": true,
                            "containers": [
                                {
                                    "name": "charm",
                                    "image": "jujusolutions/charm-base:ubuntu-22.04",
                                    "command": ["/charm/bin/pebble"],
                                    "args": ["run", "--http", ":38812", "--verbose"],
                                    "env": [
                                        {"name": "JUJU_CONTAINER_NAMES", "value": "kratos"},
                                    ],
                                },
                                {
                                    "name": "kratos",
                                    "image": "ghcr.io/canonical/kratos:26.2.0",
                                    "command": ["/charm/bin/pebble"],
                                    "args": ["run", "--create-dirs", "--hold", "--http", ":38813", "--verbose"],
                                    "env": [
                                        {"name": "JUJU_CONTAINER_NAME", "value": "kratos"},
                                        {"name": "PEBBLE_SOCKET", "value": "/charm/container/pebble.socket"},
                                    ],
                                },
                            ],
                        },
                    },
                },
            })),
            "application/json",
        );
        assert_eq!(status, 201, "create statefulset {namespace}/{app}: {body}");
        body
    }

    /// What `juju trust kratos --scope=cluster` lets the application do, as far as the
    /// tests need it: a Role in `namespace` bound to [`TRUSTED`] (and nothing for
    /// [`UNTRUSTED`]) with
    /// - `""` configmaps: get, list, create, update, patch, delete;
    /// - `apps` statefulsets: get, list, patch;
    /// - `apps` statefulsets/status: get.
    pub fn grant_trusted(&self, namespace: &str) {
        let (status, body) = self.admin_request(
            "POST",
            &format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles"),
            Some(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": TRUSTED},
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["configmaps"],
                        "verbs": ["get", "list", "create", "update", "patch", "delete"],
                    },
                    {
                        "apiGroups": ["apps"],
                        "resources": ["statefulsets"],
                        "verbs": ["get", "list", "patch"],
                    },
                    {
                        "apiGroups": ["apps"],
                        "resources": ["statefulsets/status"],
                        "verbs": ["get"],
                    },
                ],
            })),
            "application/json",
        );
        assert_eq!(status, 201, "create role: {body}");
        let (status, body) = self.admin_request(
            "POST",
            &format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings"),
            Some(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": TRUSTED},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": TRUSTED,
                },
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": TRUSTED},
                ],
            })),
            "application/json",
        );
        assert_eq!(status, 201, "create rolebinding: {body}");
    }

    /// A directory laid out as Kubernetes mounts a pod's service account at
    /// `/var/run/secrets/kubernetes.io/serviceaccount`: `token` (here `token_user`'s
    /// bearer token), `ca.crt` (the cluster's CA) and `namespace`.
    pub fn service_account_dir(&self, token_user: &str, namespace: &str) -> tempfile::TempDir {
        let dir = tempfile::Builder::new()
            .prefix("serviceaccount-")
            .tempdir()
            .expect("temp dir");
        std::fs::write(dir.path().join("token"), self.token(token_user)).expect("token");
        std::fs::copy(self.ca_path(), dir.path().join("ca.crt")).expect("ca.crt");
        std::fs::write(dir.path().join("namespace"), namespace).expect("namespace");
        dir
    }

    /// Writes the status subresource of StatefulSet `namespace/app` (a merge patch of
    /// `status`, as the StatefulSet controller would): e.g. `observedGeneration`,
    /// `replicas`, `readyReplicas`, `updatedReplicas`, `currentRevision`,
    /// `updateRevision`. Returns the StatefulSet.
    pub fn set_statefulset_status(&self, namespace: &str, app: &str, status: Value) -> Value {
        let (code, body) = self.admin_request(
            "PATCH",
            &format!("/apis/apps/v1/namespaces/{namespace}/statefulsets/{app}/status"),
            Some(json!({"status": status})),
            "application/merge-patch+json",
        );
        assert_eq!(code, 200, "patch statefulset status: {body}");
        body
    }
}

impl Drop for KubeCluster {
    fn drop(&mut self) {
        for child in [&mut self.apiserver, &mut self.etcd] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn log_file(dir: &Path, name: &str) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))
        .expect("log file")
}

/// `ca.{crt,key}`, `server.{crt,key}` (signed by the CA, for IP 127.0.0.1 and
/// localhost) and `sa.key` (RSA, for service-account tokens) in `dir`.
fn make_pki(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=kube-test-ca",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=kube-apiserver",
    ]);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    openssl(&["genrsa", "-out", "sa.key", "2048"]);
}
