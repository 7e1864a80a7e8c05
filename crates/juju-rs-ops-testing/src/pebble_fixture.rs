//! A real Pebble daemon per test, isolated so that tests can run in parallel and files
//! pushed into the "container" never touch the host.
//!
//! The daemon (`pebble run --hold --verbose`, as Juju starts it in a sidecar container)
//! runs in private namespaces made with util-linux `unshare`:
//! - a **mount namespace** in which each configured container directory (e.g.
//!   `/etc/config`) is a fresh tmpfs, so a push to `/etc/config/kratos/kratos.yaml`
//!   lands in memory that disappears with the fixture;
//! - a **PID namespace** in which Pebble is PID 1 (as in a container), so killing it
//!   takes every service and exec'd process with it;
//! - optionally a **network namespace** (`ip netns add`) with only `lo` up, so
//!   workloads of parallel tests can listen on the same ports.
//!
//! The socket is laid out the way the charm's connector expects it:
//! `<containers_dir>/<container>/pebble.socket` (Pebble v1.32 honours `PEBBLE_SOCKET`
//! for the daemon's socket path).
//!
//! Needs root (the tests run as root here), `unshare`, `nsenter` and, for the network
//! namespace, `ip`.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use juju_rs_ops::pebble::{Client, Pebble};

/// How long to wait for a new daemon to answer on its socket.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);
/// The `PATH` the daemon (and so its services and exec'd commands) gets unless the
/// test sets one.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Unix socket paths longer than this do not fit in `sockaddr_un`.
const MAX_SOCKET_PATH: usize = 107;

/// Serialises `ip netns add/del` within the test process: concurrent first uses of
/// `/run/netns` can race in iproute2.
static NETNS_LOCK: Mutex<()> = Mutex::new(());
static NETNS_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Why a fixture could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// No Pebble binary where expected.
    #[error("Pebble binary not found at {0} (set PEBBLE_BIN, or run scripts/install-pebble.sh)")]
    PebbleMissing(PathBuf),
    /// A setting the fixture cannot use.
    #[error("invalid fixture setting: {0}")]
    Invalid(String),
    /// A file-system or process operation failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A set-up command exited non-zero.
    #[error("{what} failed ({status}): {stderr}")]
    Command {
        what: String,
        status: ExitStatus,
        stderr: String,
    },
    /// The daemon exited or did not answer in time.
    #[error("Pebble did not come up: {reason}\n--- pebble output ---\n{log}")]
    NotReady { reason: String, log: String },
}

fn io_error(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> FixtureError {
    let what = what.into();
    move |source| FixtureError::Io { what, source }
}

/// Settings for a [`PebbleFixture`]; see [`PebbleFixture::builder`].
#[derive(Debug, Clone)]
pub struct PebbleFixtureBuilder {
    container: String,
    container_dirs: Vec<PathBuf>,
    network_namespace: bool,
    env: Vec<(OsString, OsString)>,
    containers_dir: Option<PathBuf>,
    pebble_bin: Option<PathBuf>,
}

impl Default for PebbleFixtureBuilder {
    fn default() -> Self {
        PebbleFixtureBuilder {
            container: "workload".into(),
            container_dirs: Vec::new(),
            network_namespace: false,
            env: Vec::new(),
            containers_dir: None,
            pebble_bin: None,
        }
    }
}

impl PebbleFixtureBuilder {
    /// The container's name (default `workload`): the socket is
    /// `<containers_dir>/<name>/pebble.socket`.
    pub fn container(mut self, name: impl Into<String>) -> Self {
        self.container = name.into();
        self
    }

    /// An absolute directory that is private to the container: a fresh tmpfs is mounted
    /// over it in the daemon's mount namespace (the mount point is created on the host
    /// if missing, and stays empty there).
    pub fn container_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.container_dirs.push(dir.into());
        self
    }

    /// Several [`container_dir`](Self::container_dir)s at once.
    pub fn container_dirs<P: Into<PathBuf>>(mut self, dirs: impl IntoIterator<Item = P>) -> Self {
        self.container_dirs.extend(dirs.into_iter().map(Into::into));
        self
    }

    /// Runs the daemon in its own network namespace with only loopback up.
    pub fn network_namespace(mut self, enabled: bool) -> Self {
        self.network_namespace = enabled;
        self
    }

    /// An environment variable for the daemon, which its services and exec'd commands
    /// inherit. The daemon otherwise starts from an empty environment with a standard
    /// `PATH`.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Puts the socket under this directory instead of the fixture's own, so several
    /// fixtures (one per container) can share one `JUJU_RS_OPS_CONTAINERS_DIR`.
    pub fn containers_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.containers_dir = Some(dir.into());
        self
    }

    /// The Pebble binary (default: `$PEBBLE_BIN`, else
    /// `$HOME/.cache/charm-kratos/bin/pebble`).
    pub fn pebble_bin(mut self, path: impl Into<PathBuf>) -> Self {
        self.pebble_bin = Some(path.into());
        self
    }

    /// Starts the daemon and waits until it answers on its socket.
    pub fn start(self) -> Result<PebbleFixture, FixtureError> {
        PebbleFixture::start_with(self)
    }
}

/// A running Pebble daemon in private namespaces, killed (with everything it started)
/// on drop.
///
/// ```no_run
/// use juju_rs_ops::pebble::{Pebble, PushOptions};
/// use juju_rs_ops_testing::PebbleFixture;
///
/// let pebble = PebbleFixture::builder()
///     .container("kratos")
///     .container_dir("/etc/config")
///     .start()?;
/// pebble.client().push("/etc/config/a.yaml", b"a: 1\n", &PushOptions::default())?;
/// let seen = pebble.run_in_container(&["cat", "/etc/config/a.yaml"])?;
/// assert_eq!(seen.stdout, b"a: 1\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct PebbleFixture {
    /// `unshare` (possibly started through `ip netns exec`), Pebble's parent.
    child: Child,
    /// Pebble's PID as the host sees it.
    pid: u32,
    socket: PathBuf,
    pebble_dir: PathBuf,
    containers_dir: PathBuf,
    container: String,
    netns: Option<String>,
    pebble_bin: PathBuf,
    log_path: PathBuf,
    /// Removed last (fields drop after `Drop::drop`).
    _temp: tempfile::TempDir,
}

impl PebbleFixture {
    /// Settings for a fixture.
    pub fn builder() -> PebbleFixtureBuilder {
        PebbleFixtureBuilder::default()
    }

    /// A fixture with the default settings: container `workload`, no private
    /// directories, the host's network.
    pub fn start() -> Result<PebbleFixture, FixtureError> {
        PebbleFixture::builder().start()
    }

    fn start_with(settings: PebbleFixtureBuilder) -> Result<PebbleFixture, FixtureError> {
        let pebble_bin = settings
            .pebble_bin
            .clone()
            .unwrap_or_else(default_pebble_bin);
        if !pebble_bin.is_file() {
            return Err(FixtureError::PebbleMissing(pebble_bin));
        }
        validate_container_name(&settings.container)?;
        for dir in &settings.container_dirs {
            if !dir.is_absolute() {
                return Err(FixtureError::Invalid(format!(
                    "container directory {} must be absolute",
                    dir.display()
                )));
            }
        }

        let temp = tempfile::Builder::new()
            .prefix("pebble-fixture-")
            .tempdir()
            .map_err(io_error("cannot create the fixture's temporary directory"))?;
        let pebble_dir = temp.path().join("pebble");
        std::fs::create_dir(&pebble_dir)
            .map_err(io_error(format!("cannot create {}", pebble_dir.display())))?;
        let containers_dir = settings
            .containers_dir
            .clone()
            .unwrap_or_else(|| temp.path().join("containers"));
        let socket_dir = containers_dir.join(&settings.container);
        std::fs::create_dir_all(&socket_dir)
            .map_err(io_error(format!("cannot create {}", socket_dir.display())))?;
        let socket = socket_dir.join("pebble.socket");
        if socket.exists() {
            return Err(FixtureError::Invalid(format!(
                "{} is already in use by another fixture",
                socket.display()
            )));
        }
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(FixtureError::Invalid(format!(
                "socket path {} is too long for a unix socket",
                socket.display()
            )));
        }
        let log_path = temp.path().join("pebble.log");
        let log = File::create(&log_path)
            .map_err(io_error(format!("cannot create {}", log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(io_error(format!("cannot reopen {}", log_path.display())))?;

        let netns = if settings.network_namespace {
            Some(NetnsGuard::create()?)
        } else {
            None
        };

        let mut command = match &netns {
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", &ns.name, "unshare"]);
                command
            }
            None => Command::new("unshare"),
        };
        // Mount a tmpfs over each container directory, then become Pebble (PID 1 of the
        // new PID namespace). --kill-child: if `unshare` dies, so does Pebble.
        const SCRIPT: &str = r#"set -e
pebble="$1"; shift
for dir in "$@"; do mkdir -p "$dir"; mount -t tmpfs -o mode=0755 tmpfs "$dir"; done
exec "$pebble" run --hold --verbose"#;
        command
            .args([
                "--mount",
                "--propagation",
                "private",
                "--pid",
                "--fork",
                "--kill-child",
                "--",
                "sh",
                "-c",
                SCRIPT,
                "sh",
            ])
            .arg(&pebble_bin)
            .args(&settings.container_dirs)
            .env_clear()
            .env("PATH", DEFAULT_PATH)
            .env("PEBBLE", &pebble_dir)
            .env("PEBBLE_SOCKET", &socket)
            .envs(settings.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let child = command
            .spawn()
            .map_err(io_error("cannot start `unshare` for Pebble"))?;

        let mut fixture = PebbleFixture {
            child,
            pid: 0,
            socket,
            pebble_dir,
            containers_dir,
            container: settings.container,
            // The guard's job passes to the fixture's Drop from here on.
            netns: netns.map(NetnsGuard::into_name),
            pebble_bin,
            log_path,
            _temp: temp,
        };
        fixture.wait_until_ready()?;
        fixture.pid = fixture.find_pebble_pid()?;
        Ok(fixture)
    }

    fn wait_until_ready(&mut self) -> Result<(), FixtureError> {
        let client = Client::new(&self.socket)
            .with_request_timeout(Duration::from_secs(2))
            .with_change_timeout(Duration::from_secs(2));
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(FixtureError::NotReady {
                    reason: format!("the daemon exited ({status})"),
                    log: self.log(),
                });
            }
            let last_error = match client.system_info() {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            if Instant::now() > deadline {
                return Err(FixtureError::NotReady {
                    reason: format!(
                        "no answer on {} within {STARTUP_TIMEOUT:?} ({last_error})",
                        self.socket.display()
                    ),
                    log: self.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Pebble is the only child of `unshare --fork` (`ip netns exec` execs `unshare`,
    /// keeping the PID).
    fn find_pebble_pid(&self) -> Result<u32, FixtureError> {
        let parent = self.child.id();
        let path = format!("/proc/{parent}/task/{parent}/children");
        let children = std::fs::read_to_string(&path)
            .map_err(io_error(format!("cannot read {path} to find Pebble's PID")))?;
        children
            .split_whitespace()
            .next()
            .and_then(|pid| pid.parse().ok())
            .ok_or_else(|| FixtureError::Invalid(format!("no child process listed in {path}")))
    }

    /// The daemon's socket, `<containers_dir>/<container>/pebble.socket`.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    /// The daemon's state directory (`$PEBBLE`).
    pub fn pebble_dir(&self) -> &Path {
        &self.pebble_dir
    }

    /// The directory to give the charm as `JUJU_RS_OPS_CONTAINERS_DIR`.
    pub fn containers_dir(&self) -> &Path {
        &self.containers_dir
    }

    /// The container's name.
    pub fn container(&self) -> &str {
        &self.container
    }

    /// The network namespace's name (for `ip netns exec`), when the fixture has one.
    pub fn netns(&self) -> Option<&str> {
        self.netns.as_deref()
    }

    /// Pebble's PID as the host sees it (for `nsenter -t`).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// A client for the daemon (default timeouts).
    pub fn client(&self) -> Client {
        Client::new(&self.socket)
    }

    /// A command that runs inside the container's namespaces (mount, and network when
    /// the fixture has one): it sees the container's private directories.
    pub fn container_command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new("nsenter");
        command.arg("-t").arg(self.pid.to_string()).arg("-m");
        if self.netns.is_some() {
            command.arg("-n");
        }
        command.arg("--").arg(program);
        command
    }

    /// Runs `argv` inside the container's namespaces and returns its output (whatever
    /// its exit status).
    pub fn run_in_container(&self, argv: &[&str]) -> Result<Output, FixtureError> {
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| FixtureError::Invalid("empty command".into()))?;
        self.container_command(program)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(io_error(format!("cannot run {program} in the container")))
    }

    /// A command that runs on the host file system but in the fixture's network
    /// namespace (a plain command when the fixture has none): how to run the charm or
    /// a test client next to the workload.
    pub fn network_command(&self, program: impl AsRef<OsStr>) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", ns]).arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    /// The `pebble` CLI pointed at this daemon (`PEBBLE`, `PEBBLE_SOCKET` set), e.g.
    /// `pebble.pebble_command().args(["notify", "example.com/x"])`.
    pub fn pebble_command(&self) -> Command {
        let mut command = Command::new(&self.pebble_bin);
        command
            .env("PEBBLE", &self.pebble_dir)
            .env("PEBBLE_SOCKET", &self.socket);
        command
    }

    /// Everything the daemon has printed so far (its log and, with `--verbose`, its
    /// services' output).
    pub fn log(&self) -> String {
        std::fs::read(&self.log_path)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_else(|e| format!("(cannot read {}: {e})", self.log_path.display()))
    }
}

impl Drop for PebbleFixture {
    fn drop(&mut self) {
        // Killing `unshare` kills Pebble (--kill-child), and with PID 1 of its namespace
        // gone the kernel kills every service and exec'd process; the tmpfs mounts go
        // with the last process of the mount namespace.
        let _ = self.child.kill();
        let _ = self.child.wait();
        if self.pid != 0 {
            let deadline = Instant::now() + Duration::from_secs(2);
            while process_alive(self.pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if let Some(name) = self.netns.take() {
            delete_netns(&name);
        }
        // A shared containers dir outlives the fixture; its socket must not.
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// A network namespace that is deleted again if set-up fails half-way.
struct NetnsGuard {
    name: String,
}

impl NetnsGuard {
    fn create() -> Result<NetnsGuard, FixtureError> {
        let name = format!(
            "jrops-{}-{}",
            std::process::id(),
            NETNS_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        {
            let _lock = NETNS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
            run_checked(
                Command::new("ip").args(["netns", "add", &name]),
                "ip netns add",
            )?;
        }
        let guard = NetnsGuard { name };
        run_checked(
            Command::new("ip").args([
                "netns",
                "exec",
                &guard.name,
                "ip",
                "link",
                "set",
                "lo",
                "up",
            ]),
            "bringing up lo in the network namespace",
        )?;
        Ok(guard)
    }

    fn into_name(self) -> String {
        let name = self.name.clone();
        std::mem::forget(self);
        name
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        delete_netns(&self.name);
    }
}

fn delete_netns(name: &str) {
    let _lock = NETNS_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn run_checked(command: &mut Command, what: &str) -> Result<(), FixtureError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(io_error(format!("cannot run {what}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(FixtureError::Command {
            what: what.into(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

fn default_pebble_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("PEBBLE_BIN") {
        return PathBuf::from(path);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache/charm-kratos/bin/pebble")
}

fn validate_container_name(name: &str) -> Result<(), FixtureError> {
    let valid = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\0');
    if valid {
        Ok(())
    } else {
        Err(FixtureError::Invalid(format!(
            "container name {name:?} is not a single path component"
        )))
    }
}

/// Whether `pid` exists and is not a zombie.
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may contain spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}
