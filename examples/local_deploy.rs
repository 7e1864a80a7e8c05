//! The local deployment: the compiled charm under the Juju emulator, driving a real Pebble
//! that runs the real Kratos against a real PostgreSQL, all on this machine.
//!
//! `scripts/local-deploy.sh` installs the prerequisites and runs this. It deploys, relates
//! the database, prints each event with the resulting status, asks Kratos's admin API for
//! its health and identities, runs actions, and then tears everything down. With `--hold`
//! it stays up: Kratos answers on localhost:4433/4434 and actions typed at the prompt
//! (`get-identity email=admin@example.com`) run on the unit, until `quit` (or end of
//! input) tears it down. `--down` only cleans up what an interrupted run left behind.
// Test code: it may unwrap, index and panic like any test does (the charm's lints are
// for what runs in a hook).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::too_many_lines,
    clippy::too_many_arguments
)]

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use juju_rs_ops_testing::state::Relation;
use juju_rs_ops_testing::{Emulator, Outcomes, PebbleFixture};

const PG_PORT: &str = "55432";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hold = std::env::args().any(|a| a == "--hold");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = std::env::var_os("CHARM_KRATOS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/charm-kratos/bin"));
    let work = PathBuf::from("/tmp/charm-kratos-local");
    let pg_dir = work.join("pg");
    // Whatever an interrupted run left: its PostgreSQL outlives it (Pebble does not).
    let _ = Command::new(root.join("scripts/pg-test-server.sh"))
        .arg("stop")
        .arg(&pg_dir)
        .output();
    let _ = std::fs::remove_dir_all(&work);
    if std::env::args().any(|a| a == "--down") {
        println!("Nothing of the local deployment is running any more.");
        return Ok(());
    }
    std::fs::create_dir_all(&work)?;

    // PostgreSQL plays postgresql-k8s: a throwaway cluster on loopback.
    run(Command::new(root.join("scripts/pg-test-server.sh"))
        .args(["start"])
        .arg(&pg_dir)
        .arg(PG_PORT))?;
    let _pg = Cleanup(Box::new({
        let script = root.join("scripts/pg-test-server.sh");
        let dir = pg_dir.clone();
        move || {
            let _ = Command::new(&script).arg("stop").arg(&dir).status();
        }
    }));

    // The charm directory: metadata and the compiled charm as `dispatch`.
    let charm_dir = work.join("charm");
    std::fs::create_dir_all(&charm_dir)?;
    for file in ["metadata.yaml", "config.yaml", "actions.yaml"] {
        std::fs::copy(root.join(file), charm_dir.join(file))?;
    }
    let charm_bin = std::env::var_os("CHARM_DISPATCH")
        .map(PathBuf::from)
        .ok_or("CHARM_DISPATCH (the built charm binary) is not set")?;
    std::os::unix::fs::symlink(&charm_bin, charm_dir.join("dispatch"))?;

    // The kratos container: real Pebble with the real kratos on its PATH, files pushed to
    // /etc/config kept in a private mount namespace. Ports are this machine's.
    let pebble = PebbleFixture::builder()
        .container("kratos")
        .container_dir("/etc/config")
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", bin_dir.display()),
        )
        .env("SQA_OPT_OUT", "true")
        .start()?;

    let mut juju = Emulator::new(&charm_dir)?;
    juju.set_env(
        "JUJU_RS_OPS_CONTAINERS_DIR",
        &pebble.containers_dir().display().to_string(),
    );
    juju.update_state(|s| s.model_name = "local".into())?;
    let database = "local_kratos";
    run(Command::new("psql")
        .env("PGPASSWORD", "postgres")
        .args(["-h", "127.0.0.1", "-p", PG_PORT, "-U", "postgres", "-qc"])
        .arg(format!("CREATE DATABASE \"{database}\"")))?;

    println!("== juju deploy kratos");
    let outcomes = juju.deploy(1)?;
    report(&juju, outcomes)?;

    println!("\n== juju integrate kratos postgresql-k8s");
    let relation = Relation::new(0, "pg-database", "postgresql_client", "postgresql-k8s")
        .with_remote_unit("postgresql-k8s/0", Vec::<(String, String)>::new())
        .with_remote_app_data([
            ("endpoints", format!("127.0.0.1:{PG_PORT}")),
            ("username", "postgres".to_string()),
            ("password", "postgres".to_string()),
            ("database", database.to_string()),
        ]);
    let (_, outcomes) = juju.add_relation(relation)?;
    report(&juju, outcomes)?;

    println!("\n== waiting for Kratos to answer on localhost:4434");
    let ready = wait_ready(Duration::from_secs(60));
    println!(
        "admin /health/ready: {}",
        if ready { "ok" } else { "NOT READY" }
    );
    println!("\n== juju update-status");
    let outcomes = juju.update_status()?;
    report(&juju, outcomes)?;

    for command in [
        "create-admin-account username=admin email=admin@example.com",
        "get-identity email=admin@example.com",
    ] {
        run_action(&mut juju, command)?;
    }

    println!("\n== curl localhost:4434/admin/identities");
    let out = Command::new("curl")
        .args(["-s", "http://127.0.0.1:4434/admin/identities"])
        .output()?;
    println!("{}", String::from_utf8_lossy(&out.stdout));

    let status = juju.state()?.units["kratos/0"].status.clone();
    println!("\nkratos/0 is {}: {}", status.status, status.message);
    if status.status != "active" || !ready {
        return Err("the deployment did not reach active with Kratos ready".into());
    }
    if hold {
        println!(
            "\nKratos is up: try `curl localhost:4434/admin/identities` (admin API) or \
             `curl localhost:4433/health/ready` (public API) in another terminal.\n\
             Run actions on kratos/0 here, as with `juju run kratos/0 <action> key=value ...`, e.g.\n  \
             get-identity email=admin@example.com\n  \
             reset-password email=admin@example.com\n  \
             run-migration timeout=60\n\
             `quit` (or Ctrl-D) tears everything down."
        );
        let stdin = std::io::stdin();
        loop {
            print!("juju run kratos/0> ");
            std::io::stdout().flush()?;
            let mut line = String::new();
            if stdin.lock().read_line(&mut line)? == 0 {
                break;
            }
            match line.trim() {
                "" => continue,
                "quit" | "exit" => break,
                command => {
                    if let Err(e) = run_action(&mut juju, command) {
                        println!("{e}");
                    }
                }
            }
        }
    }
    println!("\n== tearing down: Kratos, Pebble, PostgreSQL");
    Ok(())
}

/// Runs `<action> key=value ...` on kratos/0 and prints the outcome as `juju run` does.
fn run_action(juju: &mut Emulator, command: &str) -> Result<(), Box<dyn std::error::Error>> {
    let mut words = command.split_whitespace();
    let name = words.next().ok_or("no action named")?;
    let mut params = serde_json::Map::new();
    for word in words {
        let (key, value) = word
            .split_once('=')
            .ok_or_else(|| format!("parameters are key=value, not {word:?}"))?;
        // As `juju run` reads values: numbers and booleans as such, the rest as text.
        let value = match serde_json::from_str::<serde_json::Value>(value) {
            Ok(v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => v,
            _ => serde_json::Value::String(value.to_string()),
        };
        params.insert(key.to_string(), value);
    }
    println!("\n== juju run kratos/0 {command}");
    let action = juju.run_action("kratos/0", name, params)?;
    for log in &action.logs {
        println!("{log}");
    }
    match &action.message {
        Some(message) => println!("{:?}: {message}", action.status),
        None => {
            println!("{:?}", action.status);
            let results = serde_json::Value::Object(action.results.clone());
            println!("{}", serde_json::to_string_pretty(&results)?);
        }
    }
    Ok(())
}

fn report(juju: &Emulator, outcomes: Outcomes) -> Result<(), Box<dyn std::error::Error>> {
    for d in &outcomes.0 {
        println!(
            "{:<40} {:>5} ms  {:>2} tool calls  exit {}",
            format!("{} {}", d.unit, d.event),
            d.duration.as_millis(),
            d.tool_calls.len(),
            d.exit_code
                .map_or_else(|| "none (killed)".to_string(), |code| code.to_string())
        );
        if !d.succeeded() {
            eprintln!("{}", d.stderr);
        }
    }
    let state = juju.state()?;
    let status = &state.units["kratos/0"].status;
    println!("-> kratos/0 {}: {}", status.status, status.message);
    Ok(())
}

fn wait_ready(timeout: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < timeout {
        let ok = Command::new("curl")
            .args(["-sf", "http://127.0.0.1:4434/admin/health/ready"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return true;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    false
}

fn run(command: &mut Command) -> Result<(), Box<dyn std::error::Error>> {
    let status = command.status()?;
    if !status.success() {
        return Err(format!("{command:?} failed: {status}").into());
    }
    Ok(())
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

struct Cleanup(Box<dyn FnMut()>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        (self.0)()
    }
}
