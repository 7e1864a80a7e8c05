//! The Identity Platform pieces that run on this machine next to Kratos: Mailpit (the
//! SMTP server smtp-integrator points at) and Ory Hydra (the OAuth2 provider, and here also
//! the external IdP), as daemons on the host's loopback, stopped on drop. Their pid files
//! under the work directory let `--down` stop what an interrupted run left.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::browser::{call, R};

pub const SMTP_PORT: u16 = 1025;
pub const MAILPIT_API: &str = "http://127.0.0.1:8025";
pub const HYDRA_PUBLIC: &str = "http://127.0.0.1:4444";
pub const HYDRA_ADMIN: &str = "http://127.0.0.1:4445";
/// The SMTP AUTH user smtp-integrator publishes.
pub const SMTP_USER: &str = "kratos";

/// What an interrupted run may leave, by the name of its pid file (`<name>.pid`) and
/// executable: Pebble (PID 1 of its namespace: Kratos goes with it), Hydra and Mailpit.
const LEFTOVERS: [&str; 3] = ["pebble", "hydra", "mailpit"];

/// A background process with its log and pid file; stopped (SIGTERM, then SIGKILL) on drop.
pub struct Daemon {
    name: &'static str,
    child: Child,
    pid_file: PathBuf,
    pub log: PathBuf,
    /// Files it alone reads, removed with it (Mailpit's password file).
    private_files: Vec<PathBuf>,
}

impl Daemon {
    fn spawn(name: &'static str, work: &Path, command: &mut Command) -> R<Daemon> {
        let log = work.join(format!("{name}.log"));
        let out = std::fs::File::create(&log)?;
        let child = command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", command.get_program()))?;
        let pid_file = write_pid_file(work, name, child.id())?;
        Ok(Daemon {
            name,
            child,
            pid_file,
            log,
            private_files: Vec::new(),
        })
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Waits until `url` answers 200, or fails with the end of the log.
    fn wait_ready(&mut self, url: &str, timeout: Duration) -> R<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(format!(
                    "{} exited ({status}); its log:\n{}",
                    self.name,
                    self.log_tail()
                )
                .into());
            }
            if matches!(call("GET", url, None), Ok((200, _))) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{} did not answer {url} within {timeout:?}; its log:\n{}",
                    self.name,
                    self.log_tail()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        stop(self.child.id(), Some(&mut self.child));
        let _ = std::fs::remove_file(&self.pid_file);
        for file in &self.private_files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// SIGTERM, up to 5 s to exit, then SIGKILL.
fn stop(pid: u32, child: Option<&mut Child>) {
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
    let gone = |child: &mut Option<&mut Child>| match child {
        Some(c) => c.try_wait().map_or(true, |s| s.is_some()),
        None => !Path::new(&format!("/proc/{pid}")).exists(),
    };
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gone(&mut child) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    if !gone(&mut child) {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    }
    if let Some(c) = child {
        let _ = c.wait();
    }
}

/// Records `pid` as `<work>/<name>.pid`, for [`stop_leftovers`].
pub fn write_pid_file(work: &Path, name: &str, pid: u32) -> R<PathBuf> {
    let pid_file = work.join(format!("{name}.pid"));
    std::fs::write(&pid_file, pid.to_string())?;
    Ok(pid_file)
}

/// Stops the Pebble, Hydra and Mailpit an interrupted run left (by their pid files in
/// `work`, when the process is still that program); returns what it stopped.
pub fn stop_leftovers(work: &Path) -> Vec<String> {
    let mut stopped = Vec::new();
    for name in LEFTOVERS {
        let pid_file = work.join(format!("{name}.pid"));
        let Ok(pid) = std::fs::read_to_string(&pid_file) else {
            continue;
        };
        let Ok(pid) = pid.trim().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        // That program, started before its pid file was written (not a reused pid).
        let written = std::fs::metadata(&pid_file)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
        let started_first = match (started_at(pid), written) {
            (Some(started), Some(written)) => started <= written.as_secs() + 2,
            _ => false,
        };
        if comm.trim() == name && started_first {
            stop(pid, None);
            stopped.push(format!("{name} (pid {pid})"));
        }
    }
    stopped
}

/// When process `pid` started, in seconds since the epoch (`/proc/<pid>/stat`'s start
/// time in clock ticks, 100 a second on Linux, after `/proc/stat`'s boot time).
fn started_at(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command in parentheses: state is field 3, starttime field 22.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(19)?.parse().ok()?;
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(boot + ticks / 100)
}

/// Mailpit: SMTP on 127.0.0.1:1025 requiring AUTH as `kratos` with `password` (no TLS),
/// its API on 127.0.0.1:8025.
pub fn start_mailpit(bin_dir: &Path, work: &Path, password: &str) -> R<Daemon> {
    // htpasswd-style: the user, a colon, the password in plain text (split at the first
    // colon, so the password may hold colons).
    let auth_file = work.join("mailpit-auth");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&auth_file)?
        .write_all(format!("{SMTP_USER}:{password}\n").as_bytes())?;
    let mut mailpit = Daemon::spawn(
        "mailpit",
        work,
        Command::new(bin_dir.join("mailpit"))
            .arg("--smtp")
            .arg(format!("127.0.0.1:{SMTP_PORT}"))
            .args(["--listen", "127.0.0.1:8025", "--smtp-auth-file"])
            .arg(&auth_file)
            .args(["--smtp-auth-allow-insecure", "--disable-version-check"])
            .arg("--database")
            .arg(work.join("mailpit.db")),
    )?;
    mailpit.private_files.push(auth_file);
    mailpit.wait_ready(&format!("{MAILPIT_API}/readyz"), Duration::from_secs(30))?;
    Ok(mailpit)
}

/// Hydra v2 on database `hydra` of the PostgreSQL at `pg_port` (created and migrated here),
/// `serve all --dev`: public 127.0.0.1:4444 (the issuer), admin 127.0.0.1:4445. Its login
/// and consent apps are nowhere: the scripted login accepts the challenges through the
/// admin API.
pub fn start_hydra(bin_dir: &Path, work: &Path, pg_port: &str) -> R<Daemon> {
    let bin = bin_dir.join("hydra");
    let sql = Command::new("psql")
        .env("PGPASSWORD", "postgres")
        .args(["-h", "127.0.0.1", "-p", pg_port, "-U", "postgres", "-qc"])
        .arg("CREATE DATABASE hydra")
        .output()?;
    if !sql.status.success() {
        return Err(format!(
            "creating Hydra's database failed: {}",
            String::from_utf8_lossy(&sql.stderr)
        )
        .into());
    }
    let dsn = format!("postgres://postgres:postgres@127.0.0.1:{pg_port}/hydra?sslmode=disable");
    let migrate = Command::new(&bin)
        .args(["migrate", "sql", "up", "-e", "--yes"])
        .env("DSN", &dsn)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !migrate.status.success() {
        return Err(format!(
            "hydra migrate failed: {}{}",
            String::from_utf8_lossy(&migrate.stdout),
            String::from_utf8_lossy(&migrate.stderr)
        )
        .into());
    }
    let mut hydra = Daemon::spawn(
        "hydra",
        work,
        Command::new(&bin)
            .args(["serve", "all", "--dev", "--sqa-opt-out"])
            .env("DSN", &dsn)
            .env("SERVE_PUBLIC_HOST", "127.0.0.1")
            .env("SERVE_PUBLIC_PORT", "4444")
            .env("SERVE_ADMIN_HOST", "127.0.0.1")
            .env("SERVE_ADMIN_PORT", "4445")
            .env("URLS_SELF_ISSUER", format!("{HYDRA_PUBLIC}/"))
            .env("URLS_LOGIN", "http://127.0.0.1/hydra/login")
            .env("URLS_CONSENT", "http://127.0.0.1/hydra/consent")
            .env(
                "SECRETS_SYSTEM",
                format!("local-system-secret-{:016x}", rand::random::<u64>()),
            ),
    )?;
    hydra.wait_ready(
        &format!("{HYDRA_ADMIN}/health/ready"),
        Duration::from_secs(60),
    )?;
    Ok(hydra)
}
