//! A real Ory Hydra (v2.3.0, built by scripts/install-hydra.sh) on the host: the OAuth2 /
//! OpenID Connect provider that the OIDC end-to-end test brokers logins through. Its
//! database lives on the tests' PostgreSQL; its public and admin APIs listen on the host's
//! loopback. Stopped on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{free_port, Postgres};

/// The real Hydra binary (`$HYDRA_BIN`, else where scripts/install-hydra.sh puts it).
pub fn hydra_bin() -> PathBuf {
    let path = std::env::var_os("HYDRA_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/charm-kratos/bin/hydra")
        });
    assert!(
        path.is_file(),
        "no Hydra binary at {} (run scripts/install-hydra.sh or set HYDRA_BIN)",
        path.display()
    );
    path
}

/// A running `hydra serve all --dev`.
pub struct Hydra {
    child: Child,
    pub public_port: u16,
    pub admin_port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Hydra {
    /// Migrates database `hydra` of `pg` (created here) and serves Hydra with the issuer
    /// `http://127.0.0.1:<public port>/`; its login and consent apps are `login_url` and
    /// `consent_url` (browsers are sent there with the challenges). Waits until ready.
    pub fn start(pg: &Postgres, login_url: &str, consent_url: &str) -> Hydra {
        let bin = hydra_bin();
        pg.sql("CREATE DATABASE hydra");
        let dsn = pg.dsn("hydra");
        let dir = tempfile::Builder::new()
            .prefix("hydra-")
            .tempdir()
            .expect("temp dir");
        let migrate = Command::new(&bin)
            .args(["migrate", "sql", "up", "-e", "--yes"])
            .env("DSN", &dsn)
            .output()
            .expect("run hydra migrate");
        assert!(
            migrate.status.success(),
            "hydra migrate failed: {}{}",
            String::from_utf8_lossy(&migrate.stdout),
            String::from_utf8_lossy(&migrate.stderr)
        );
        let (public_port, admin_port) = (free_port(), free_port());
        let log = dir.path().join("hydra.log");
        let out = std::fs::File::create(&log).expect("hydra log");
        let child = Command::new(&bin)
            .args(["serve", "all", "--dev", "--sqa-opt-out"])
            .env("DSN", &dsn)
            .env("SERVE_PUBLIC_HOST", "127.0.0.1")
            .env("SERVE_PUBLIC_PORT", public_port.to_string())
            .env("SERVE_ADMIN_HOST", "127.0.0.1")
            .env("SERVE_ADMIN_PORT", admin_port.to_string())
            .env(
                "URLS_SELF_ISSUER",
                format!("http://127.0.0.1:{public_port}/"),
            )
            .env("URLS_LOGIN", login_url)
            .env("URLS_CONSENT", consent_url)
            .env(
                "SECRETS_SYSTEM",
                format!("e2e-system-secret-{:016x}", rand::random::<u64>()),
            )
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log"))
            .stderr(out)
            .spawn()
            .expect("start hydra");
        let hydra = Hydra {
            child,
            public_port,
            admin_port,
            log,
            _dir: dir,
        };
        hydra.wait_ready();
        hydra
    }

    /// The issuer (and public base URL), as Kratos is told it.
    pub fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}/", self.public_port)
    }

    /// Hydra's own log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((200, _)) = self.admin("GET", "/health/ready", None) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Hydra not ready:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A call to the admin API from the host: the status and the JSON body.
    pub fn admin(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into();
        let url = format!("http://127.0.0.1:{}{path_and_query}", self.admin_port);
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header("Accept", "application/json");
        let result = match body {
            Some(body) => agent.run(
                request
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .expect("request"),
            ),
            None => agent.run(request.body(()).expect("request")),
        };
        let mut response = result.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }
}

impl Drop for Hydra {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
