//! The local deployment: the compiled charm under the Juju emulator, driving a real Pebble
//! that runs the real Kratos against a real PostgreSQL, all on this machine, then the
//! Identity Platform pieces that run here around it.
//!
//! `scripts/local-deploy.sh` installs the prerequisites and runs this. It deploys, relates
//! the database, prints each event with the resulting status, asks Kratos's admin API for
//! its health and identities and runs actions. Then it brings up Mailpit, Hydra and a
//! Traefik stand-in on this machine's loopback and integrates them as smtp-integrator,
//! hydra, traefik-k8s (public-route), kratos-external-idp-integrator (Hydra as an OIDC
//! provider) and a login UI, played by the emulator; and shows the result: a login
//! brokered by Hydra through the ingress, and a recovery e-mail read back from Mailpit.
//! Then it tears everything down. With `--hold` it stays up instead: Kratos answers on
//! 127.0.0.1:4433/4434 (and :80 through the ingress), and the prompt runs actions on the
//! unit (`get-identity email=admin@example.com`), `oidc-login <email>` and
//! `recover <email>`, until `quit` (or end of input). `--down` only cleans up what an
//! interrupted run left behind.
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

#[path = "local_deploy/browser.rs"]
mod browser;
#[path = "../tests/common/netns.rs"]
mod netns;
#[path = "local_deploy/platform.rs"]
mod platform;
#[path = "../tests/common/traefik.rs"]
#[allow(dead_code)]
mod traefik;

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use browser::{brief, call, form, query, Browser, R};
use juju_rs_ops_testing::state::{Relation, Secret, SecretOwner};
use juju_rs_ops_testing::{Emulator, Outcomes, PebbleFixture};
use platform::{Daemon, HYDRA_ADMIN, HYDRA_PUBLIC, MAILPIT_API, SMTP_PORT, SMTP_USER};
use serde_json::{json, Value};
use traefik::TraefikStandIn;

const PG_PORT: &str = "55432";
const APP: &str = "kratos";
const PUBLIC: &str = "http://127.0.0.1:4433";
const ADMIN: &str = "http://127.0.0.1:4434";
/// Kratos's public URL: the Traefik stand-in's `web` entrypoint.
const INGRESS: &str = "http://127.0.0.1";
/// Where the login UI's pages would be (nothing serves them: the scripted steps use the
/// APIs, as the login UI does).
const LOGIN_UI: &str = "http://127.0.0.1/ui";
const PROVIDER_ID: &str = "hydra";

/// Hydra's OAuth2 client for Kratos, registered with the redirect URI the charm answered.
struct OidcClient {
    id: String,
    redirect_uri: String,
}

fn main() -> std::process::ExitCode {
    match local_deploy() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nlocal-deploy failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The ports the local deployment listens on, all on 127.0.0.1.
const PORTS: [(u16, &str); 8] = [
    (55432, "PostgreSQL"),
    (4433, "Kratos public"),
    (4434, "Kratos admin"),
    (1025, "Mailpit SMTP"),
    (8025, "Mailpit API"),
    (4444, "Hydra public"),
    (4445, "Hydra admin"),
    (80, "the ingress"),
];

/// Fails, naming them, when any of [`PORTS`] is taken.
fn check_ports() -> R<()> {
    let taken: Vec<String> = PORTS
        .iter()
        .filter(|(port, _)| std::net::TcpListener::bind(("127.0.0.1", *port)).is_err())
        .map(|(port, what)| format!("{port} ({what})"))
        .collect();
    if taken.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "127.0.0.1 port(s) {} already in use (by another program, or a local deployment \
             still running elsewhere)",
            taken.join(", ")
        )
        .into())
    }
}

fn local_deploy() -> R<()> {
    let started = Instant::now();
    let hold = std::env::args().any(|a| a == "--hold");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin_dir = std::env::var_os("CHARM_KRATOS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| home().join(".cache/charm-kratos/bin"));
    let work = PathBuf::from("/tmp/charm-kratos-local");
    let pg_dir = work.join("pg");
    // Whatever an interrupted run left: Pebble (with Kratos), Hydra and Mailpit outlive a
    // killed run (Ctrl-C stops them with it), PostgreSQL any interrupted one.
    for stopped in platform::stop_leftovers(&work) {
        println!("stopped a leftover {stopped}");
    }
    let _ = Command::new(root.join("scripts/pg-test-server.sh"))
        .arg("stop")
        .arg(&pg_dir)
        .output();
    let _ = std::fs::remove_dir_all(&work);
    if std::env::args().any(|a| a == "--down") {
        println!("Nothing of the local deployment is running any more.");
        return Ok(());
    }
    check_ports()?;
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
    let pebble_pid = platform::write_pid_file(&work, "pebble", pebble.pid())?;
    let _pebble_pid = Cleanup(Box::new(move || {
        let _ = std::fs::remove_file(&pebble_pid);
    }));

    let mut juju = Emulator::new(&charm_dir)?;
    juju.set_env(
        "JUJU_RS_OPS_CONTAINERS_DIR",
        &pebble.containers_dir().display().to_string(),
    );
    juju.update_state(|s| s.model_name = "local".into())?;
    deploy_kratos(&mut juju)?;

    // The Identity Platform pieces that run here, each integrated as Juju would.
    let mailpit = integrate_smtp(&mut juju, &bin_dir, &work)?;
    let hydra = integrate_hydra(&mut juju, &bin_dir, &work)?;
    integrate_login_ui(&mut juju)?;
    let ingress = integrate_public_route(&mut juju)?;
    let client = integrate_external_idp(&mut juju)?;
    println!("\n== juju update-status");
    let outcomes = juju.update_status()?;
    report(&juju, outcomes)?;
    expect_active(&juju, &pebble)?;

    if hold {
        prompt(&mut juju, &pebble, &hydra, &mailpit, &client)?;
    } else {
        println!("\n== a login brokered by Hydra (the external IdP), through the ingress");
        let session = oidc_login(&pebble, &hydra, &client, "alice@example.com")?;
        let identity = session["identity"]["id"].as_str().unwrap_or_default();
        run_action(
            &mut juju,
            &format!("list-oidc-accounts identity-id={identity}"),
        )?;
        println!("\n== a recovery e-mail, through smtp-integrator's Mailpit");
        let (subject, code) = recover(&mailpit, "admin@example.com")?;
        let status = juju.state()?.units["kratos/0"].status.clone();
        println!(
            "\n== result after {:.0?}: kratos/0 is {} with PostgreSQL, Mailpit, Hydra, the \
             ingress and the external IdP;\n   alice@example.com signed in through Hydra \
             (identity {identity});\n   admin@example.com was mailed {subject:?} with code \
             {code}.",
            started.elapsed(),
            status.status,
        );
    }
    println!("\n== tearing down: the ingress, Hydra, Mailpit, Kratos, Pebble, PostgreSQL");
    drop(ingress);
    drop(hydra);
    drop(mailpit);
    Ok(())
}

/// `juju deploy kratos`, `juju integrate kratos postgresql-k8s`, then the checks and the
/// actions of the first part: Kratos must end up active and ready.
fn deploy_kratos(juju: &mut Emulator) -> R<()> {
    let database = "local_kratos";
    run(Command::new("psql")
        .env("PGPASSWORD", "postgres")
        .args(["-h", "127.0.0.1", "-p", PG_PORT, "-U", "postgres", "-qc"])
        .arg(format!("CREATE DATABASE \"{database}\"")))?;

    println!("== juju deploy kratos");
    let outcomes = juju.deploy(1)?;
    report(juju, outcomes)?;

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
    report(juju, outcomes)?;

    println!("\n== waiting for Kratos to answer on localhost:4434");
    let ready = wait_ready(Duration::from_secs(60));
    println!(
        "admin /health/ready: {}",
        if ready { "ok" } else { "NOT READY" }
    );
    println!("\n== juju update-status");
    let outcomes = juju.update_status()?;
    report(juju, outcomes)?;

    for command in [
        "create-admin-account username=admin email=admin@example.com",
        "get-identity email=admin@example.com",
    ] {
        run_action(juju, command)?;
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
    Ok(())
}

/// Mailpit, and `juju integrate kratos smtp-integrator`: the server in the application
/// databag, the password in a Juju secret owned by smtp-integrator and granted to kratos.
fn integrate_smtp(juju: &mut Emulator, bin_dir: &Path, work: &Path) -> R<Daemon> {
    // A password that only survives URL-encoded in the courier's connection URI.
    let password = format!("p@ss:w/rd?#%{:016x}", rand::random::<u64>());
    let mailpit = platform::start_mailpit(bin_dir, work, &password)?;
    println!(
        "\n== Mailpit: SMTP 127.0.0.1:{SMTP_PORT} (AUTH as {SMTP_USER}, no TLS), API {MAILPIT_API}"
    );
    println!("== juju integrate kratos smtp-integrator");
    let relation = Relation::new(0, "smtp", "smtp", "smtp-integrator")
        .with_remote_unit("smtp-integrator/0", Vec::<(String, String)>::new());
    let (id, outcomes) = juju.add_relation(relation)?;
    report(juju, outcomes)?;
    let secret = Secret::new(
        SecretOwner::Application("smtp-integrator".into()),
        [("password", password.as_str())],
    )
    .with_grant(id, APP);
    let secret_id = secret.id.clone();
    juju.update_state(|s| s.secrets.push(secret))?;
    println!(
        "smtp-integrator publishes host 127.0.0.1 port {SMTP_PORT} user {SMTP_USER} \
         auth_type plain transport_security none, password_id {secret_id} (granted to kratos)"
    );
    let outcomes = juju.set_remote_app_data(
        id,
        [
            ("host", "127.0.0.1".to_string()),
            ("port", SMTP_PORT.to_string()),
            ("user", SMTP_USER.to_string()),
            ("password_id", secret_id),
            ("auth_type", "plain".to_string()),
            ("transport_security", "none".to_string()),
        ],
    )?;
    report(juju, outcomes)?;
    ensure_ready()?;
    Ok(mailpit)
}

/// Hydra on its own database, and `juju integrate kratos hydra` (hydra-endpoint-info).
fn integrate_hydra(juju: &mut Emulator, bin_dir: &Path, work: &Path) -> R<Daemon> {
    let hydra = platform::start_hydra(bin_dir, work, PG_PORT)?;
    println!("\n== Hydra v2: public {HYDRA_PUBLIC} (the issuer), admin {HYDRA_ADMIN}");
    println!("== juju integrate kratos hydra");
    let relation = Relation::new(0, "hydra-endpoint-info", "hydra_endpoints", "hydra")
        .with_remote_unit("hydra/0", Vec::<(String, String)>::new())
        .with_remote_app_data([
            ("admin_endpoint", HYDRA_ADMIN),
            ("public_endpoint", HYDRA_PUBLIC),
        ]);
    let (_, outcomes) = juju.add_relation(relation)?;
    report(juju, outcomes)?;
    ensure_ready()?;
    Ok(hydra)
}

/// `juju integrate kratos identity-platform-login-ui`: the charm renders the recovery flow
/// (and the browser flows' redirects) only with the login UI's pages. Nothing serves them
/// here: the scripted steps call Kratos's APIs, as the login UI would.
fn integrate_login_ui(juju: &mut Emulator) -> R<()> {
    println!("\n== juju integrate kratos identity-platform-login-ui");
    println!(
        "(its pages are {LOGIN_UI}/<page>, which nothing serves: the recovery flow needs \
         them in Kratos's configuration; the scripted steps use Kratos's APIs instead)"
    );
    let pages = [
        "login",
        "error",
        "settings",
        "recovery",
        "verification",
        "registration",
        "webauthn_settings",
        "account_linking_settings",
    ];
    let relation = Relation::new(
        0,
        "ui-endpoint-info",
        "login_ui_endpoints",
        "identity-platform-login-ui",
    )
    .with_remote_unit(
        "identity-platform-login-ui/0",
        Vec::<(String, String)>::new(),
    )
    .with_remote_app_data(pages.map(|p| {
        (
            format!("{p}_url"),
            format!("{LOGIN_UI}/{}", p.replace('_', "-")),
        )
    }));
    let (_, outcomes) = juju.add_relation(relation)?;
    report(juju, outcomes)?;
    ensure_ready()
}

/// `juju integrate kratos:public-route traefik-public`: the leader publishes its routes,
/// traefik-k8s answers with its host, and the stand-in serves 127.0.0.1:80 by the routes.
fn integrate_public_route(juju: &mut Emulator) -> R<TraefikStandIn> {
    println!("\n== juju integrate kratos:public-route traefik-public");
    let relation = Relation::new(0, "public-route", "traefik_route", "traefik-public")
        .with_remote_unit("traefik-public/0", Vec::<(String, String)>::new());
    let (id, outcomes) = juju.add_relation(relation)?;
    report(juju, outcomes)?;
    if published(juju, id, "config")?.is_none() {
        return Err("the leader published no traefik_route config on public-route".into());
    }
    println!("traefik-public answers external_host 127.0.0.1, scheme http");
    let outcomes =
        juju.set_remote_app_data(id, [("external_host", "127.0.0.1"), ("scheme", "http")])?;
    report(juju, outcomes)?;
    ensure_ready()?;
    let config = published(juju, id, "config")?.ok_or("the public-route config went away")?;
    let ingress = std::panic::catch_unwind(|| TraefikStandIn::start(None, &config))
        .map_err(|_| "the Traefik stand-in could not start (is port 80 free?)")?;
    println!("the Traefik stand-in serves 127.0.0.1:80 by the published config:");
    for route in &ingress.routes.0 {
        println!("  {:<60} -> {}", route.rule, route.service_url);
    }
    Ok(ingress)
}

/// `juju integrate kratos kratos-external-idp-integrator` offering Hydra as a generic OIDC
/// provider; the redirect URI the leader answers becomes the OAuth2 client's in Hydra.
fn integrate_external_idp(juju: &mut Emulator) -> R<OidcClient> {
    println!("\n== juju integrate kratos kratos-external-idp-integrator");
    let client_id = format!("kratos-local-{:08x}", rand::random::<u32>());
    let client_secret = format!("local-secret-{:016x}", rand::random::<u64>());
    let providers = json!([{
        "provider": "generic",
        "client_id": client_id,
        "client_secret": client_secret,
        "issuer_url": format!("{HYDRA_PUBLIC}/"),
        "scope": "openid email",
        "id": PROVIDER_ID,
        "label": "Hydra",
        "jsonnet_mapper": null,
        "mapper_url": null,
    }]);
    println!(
        "kratos-external-idp-integrator offers provider {PROVIDER_ID} (generic, issuer \
         {HYDRA_PUBLIC}/, client {client_id})"
    );
    let relation = Relation::new(
        0,
        "kratos-external-idp",
        "external_provider",
        "kratos-external-idp-integrator",
    )
    .with_remote_unit(
        "kratos-external-idp-integrator/0",
        Vec::<(String, String)>::new(),
    )
    .with_remote_app_data([("providers", providers.to_string())]);
    let (id, outcomes) = juju.add_relation(relation)?;
    report(juju, outcomes)?;
    ensure_ready()?;
    let answer = published(juju, id, "providers")?
        .ok_or("the leader answered no providers on kratos-external-idp")?;
    let answer: Value = serde_json::from_str(&answer)?;
    let redirect_uri = answer
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["provider_id"] == PROVIDER_ID)
        .and_then(|p| p["redirect_uri"].as_str())
        .ok_or_else(|| format!("no redirect_uri for {PROVIDER_ID} in {answer}"))?
        .to_string();
    println!("the leader answers redirect_uri {redirect_uri}");
    let (status, client) = call(
        "POST",
        &format!("{HYDRA_ADMIN}/admin/clients"),
        Some(&json!({
            "client_id": client_id,
            "client_secret": client_secret,
            "client_name": "kratos",
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "scope": "openid email offline_access",
            "token_endpoint_auth_method": "client_secret_basic",
        })),
    )?;
    if status != 201 {
        return Err(format!("registering the OAuth2 client in Hydra: {status} {client}").into());
    }
    println!("registered OAuth2 client {client_id} in Hydra with that redirect URI");
    Ok(OidcClient {
        id: client_id,
        redirect_uri,
    })
}

/// What the leader wrote under `key` in its application databag on relation `id`.
fn published(juju: &Emulator, id: u32, key: &str) -> R<Option<String>> {
    let state = juju.state()?;
    let relation = state
        .relation(id)
        .ok_or_else(|| format!("no relation {id}"))?;
    Ok(relation.app_bag(APP).get(key).cloned())
}

/// Fails unless kratos/0 is active and Kratos answers ready.
fn expect_active(juju: &Emulator, pebble: &PebbleFixture) -> R<()> {
    let status = juju.state()?.units["kratos/0"].status.clone();
    if status.status != "active" || !wait_ready(Duration::from_secs(30)) {
        return Err(format!(
            "kratos/0 is {}: {} (Kratos ready: {}); the end of Pebble's log:\n{}",
            status.status,
            status.message,
            wait_ready(Duration::ZERO),
            tail(&pebble.log())
        )
        .into());
    }
    Ok(())
}

/// The prompt of `--hold`: actions, `oidc-login <email>`, `recover <email>`, `quit`.
fn prompt(
    juju: &mut Emulator,
    pebble: &PebbleFixture,
    hydra: &Daemon,
    mailpit: &Daemon,
    client: &OidcClient,
) -> R<()> {
    println!(
        "\nThe Identity Platform pieces are up on this machine:\n  \
         Kratos public  {PUBLIC}   (curl {PUBLIC}/health/ready)\n  \
         Kratos admin   {ADMIN}   (curl {ADMIN}/admin/identities)\n  \
         ingress        {INGRESS}/ (Kratos's public URL: the Traefik stand-in's routes)\n  \
         Hydra          {HYDRA_PUBLIC} (public, the external IdP), {HYDRA_ADMIN} (admin)\n  \
         Mailpit        {MAILPIT_API}/api/v1/messages (SMTP 127.0.0.1:{SMTP_PORT})\n\
         Run actions on kratos/0 here, as with `juju run kratos/0 <action> key=value ...`, \
         or the scripted browser, e.g.\n  \
         get-identity email=admin@example.com\n  \
         reset-password email=admin@example.com\n  \
         oidc-login bob@example.com       (a login brokered by Hydra, as that user)\n  \
         recover admin@example.com        (a recovery e-mail, read back from Mailpit)\n  \
         list-oidc-accounts email=bob@example.com\n\
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
        let line = line.trim();
        let result = match line.split_once(' ').unwrap_or((line, "")) {
            ("", _) => continue,
            ("quit" | "exit", _) => break,
            ("oidc-login", email) if !email.trim().is_empty() => {
                println!("\n== a login brokered by Hydra as {}", email.trim());
                oidc_login(pebble, hydra, client, email.trim()).map(|_| ())
            }
            ("recover", email) if !email.trim().is_empty() => {
                println!("\n== a recovery e-mail to {}", email.trim());
                recover(mailpit, email.trim()).map(|_| ())
            }
            ("oidc-login" | "recover", _) => {
                Err("usage: oidc-login <email>, recover <email>".into())
            }
            _ => run_action(juju, line),
        };
        if let Err(e) = result {
            println!("{e}");
        }
    }
    Ok(())
}

/// A login brokered by Hydra as the browser, the login UI and Hydra's login and consent
/// app play it, printing each hop: the browser opens Kratos's login through the ingress,
/// the login UI submits the OIDC method, Hydra's login and consent are accepted (subject
/// and verified e-mail `email`), and the callback through the ingress signs the user in.
/// Returns the session (whoami).
fn oidc_login(
    pebble: &PebbleFixture,
    hydra: &Daemon,
    client: &OidcClient,
    email: &str,
) -> R<Value> {
    let mut browser = Browser::new();
    let hop = |from: &str, what: &str| println!("  {from:<9} {what}");
    let start = format!("{INGRESS}/self-service/login/browser");
    let page = browser.get(&start)?;
    let to_ui = page.redirect("Kratos's login/browser")?;
    hop(
        "browser",
        &format!("GET {start} -> {} {to_ui}", page.status),
    );
    let flow_id = query(&to_ui, "flow")?;
    let page = browser.api(
        "GET",
        &format!("{PUBLIC}/self-service/login/flows?id={flow_id}"),
        None,
    )?;
    let flow = page.json();
    if page.status != 200 {
        return Err(format!("reading login flow {flow_id}: {} {flow}", page.status).into());
    }
    let nodes = flow["ui"]["nodes"].as_array().cloned().unwrap_or_default();
    let csrf = nodes
        .iter()
        .find(|n| n["attributes"]["name"] == "csrf_token")
        .and_then(|n| n["attributes"]["value"].as_str())
        .ok_or("the login flow has no csrf_token")?
        .to_string();
    if !nodes
        .iter()
        .any(|n| n["group"] == "oidc" && n["attributes"]["value"] == PROVIDER_ID)
    {
        return Err(format!(
            "the login flow does not offer {PROVIDER_ID}: {}",
            flow["ui"]
        )
        .into());
    }
    // The login UI submits the flow to Kratos's public API (the ingress routes only what
    // a browser must reach: the flow's start, the callback, the schemas, webauthn.js).
    let action = flow["ui"]["action"]
        .as_str()
        .ok_or("the login flow has no action")?
        .replacen(INGRESS, PUBLIC, 1);
    hop(
        "login UI",
        &format!("reads flow {flow_id} (offers {PROVIDER_ID}); submits method=oidc provider={PROVIDER_ID} to Kratos"),
    );
    let page = browser.request(
        "POST",
        &action,
        Some(form(&[
            ("csrf_token", &csrf),
            ("method", "oidc"),
            ("provider", PROVIDER_ID),
        ])),
        "text/html",
    )?;
    let authorize = page.redirect("submitting the OIDC method")?;
    hop(
        "login UI",
        &format!(
            "POST {} -> {} {}",
            brief(&action, 70),
            page.status,
            brief(&authorize, 90)
        ),
    );
    if query(&authorize, "client_id")? != client.id {
        return Err(format!("Kratos sent the browser to another client: {authorize}").into());
    }
    let page = browser.get(&authorize)?;
    let login = page.redirect("Hydra's authorize")?;
    hop(
        "Hydra",
        &format!(
            "/oauth2/auth -> {} login app with login_challenge",
            page.status
        ),
    );
    let challenge = query(&login, "login_challenge")?;
    let accepted = accept(
        &format!("login/accept?login_challenge={challenge}"),
        &json!({"subject": email}),
    )?;
    hop("login app", &format!("accepts the login: subject {email}"));
    let page = browser.get(&accepted)?;
    let consent = page.redirect("Hydra after login")?;
    let challenge = query(&consent, "consent_challenge")?;
    let accepted = accept(
        &format!("consent/accept?consent_challenge={challenge}"),
        &json!({
            "grant_scope": ["openid", "email"],
            "session": {"id_token": {"email": email, "email_verified": true}},
        }),
    )?;
    hop("consent", "grants openid email (email verified)");
    let page = browser.get(&accepted)?;
    let callback = page.redirect("Hydra after consent")?;
    if !callback.starts_with(&format!("{}?", client.redirect_uri)) {
        return Err(format!("Hydra sent the browser elsewhere: {callback}").into());
    }
    hop(
        "Hydra",
        &format!("-> {} {}?code=…", page.status, client.redirect_uri),
    );
    let page = browser.get(&callback)?;
    let landed = page.redirect("Kratos's callback")?;
    hop(
        "browser",
        &format!("GET the callback (through :80) -> {} {landed}", page.status),
    );
    if landed != format!("{LOGIN_UI}/settings") || !browser.jar.contains_key("ory_kratos_session") {
        return Err(format!(
            "Kratos did not sign {email} in (it sent the browser to {landed});\n\
             the end of Pebble's log:\n{}\nthe end of Hydra's log:\n{}",
            tail(&pebble.log()),
            hydra.log_tail()
        )
        .into());
    }
    let page = browser.api("GET", &format!("{PUBLIC}/sessions/whoami"), None)?;
    let session = page.json();
    if page.status != 200 {
        return Err(format!("whoami: {} {session}", page.status).into());
    }
    let method = &session["authentication_methods"][0];
    println!(
        "  session   active={} identity {} ({}, schema {}), signed in by {} via {}",
        session["active"],
        session["identity"]["id"].as_str().unwrap_or("?"),
        session["identity"]["traits"]["email"]
            .as_str()
            .unwrap_or("?"),
        session["identity"]["schema_id"].as_str().unwrap_or("?"),
        method["method"].as_str().unwrap_or("?"),
        method["provider"].as_str().unwrap_or("?"),
    );
    Ok(session)
}

/// Accepts a login or consent request through Hydra's admin API (as Hydra's login and
/// consent app does); where Hydra sends the browser next.
fn accept(request: &str, body: &Value) -> R<String> {
    let url = format!("{HYDRA_ADMIN}/admin/oauth2/auth/requests/{request}");
    let (status, accepted) = call("PUT", &url, Some(body))?;
    match accepted["redirect_to"].as_str() {
        Some(to) if status == 200 => Ok(to.to_string()),
        _ => Err(format!("PUT {url}: {status} {accepted}").into()),
    }
}

/// Sends a recovery code to `email` (a recovery flow through Kratos's public API, as the
/// login UI does) and reads the e-mail back from Mailpit: its subject and the code.
fn recover(mailpit: &Daemon, email: &str) -> R<(String, String)> {
    let seen = mail_ids(email)?;
    let (status, flow) = call("GET", &format!("{PUBLIC}/self-service/recovery/api"), None)?;
    let flow_id = flow["id"]
        .as_str()
        .ok_or_else(|| format!("starting a recovery flow: {status} {flow}"))?;
    println!("  Kratos    recovery flow {flow_id}: method=code email={email}");
    let (status, sent) = call(
        "POST",
        &format!("{PUBLIC}/self-service/recovery?flow={flow_id}"),
        Some(&json!({"method": "code", "email": email})),
    )?;
    if status != 200 || sent["state"] != "sent_email" {
        return Err(format!("submitting the recovery flow: {status} {sent}").into());
    }
    println!(
        "  Kratos    flow state sent_email: the courier mails it through smtp-integrator's server"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let id = loop {
        if let Some(id) = mail_ids(email)?.into_iter().find(|id| !seen.contains(id)) {
            break id;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no e-mail to {email} reached Mailpit within 30 s; the end of its log:\n{}",
                mailpit.log_tail()
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let (_, message) = call("GET", &format!("{MAILPIT_API}/api/v1/message/{id}"), None)?;
    let subject = message["Subject"].as_str().unwrap_or_default().to_string();
    let text = message["Text"].as_str().unwrap_or_default();
    let code = six_digits(text).ok_or_else(|| format!("no code in the e-mail: {text}"))?;
    println!(
        "  Mailpit   from {} to {email} (SMTP AUTH user {}): {subject:?}, code {code}",
        message["From"]["Address"].as_str().unwrap_or("?"),
        message["Username"].as_str().unwrap_or("?"),
    );
    Ok((subject, code))
}

/// The ids of the messages to `email` in Mailpit.
fn mail_ids(email: &str) -> R<Vec<String>> {
    let (status, list) = call("GET", &format!("{MAILPIT_API}/api/v1/messages"), None)?;
    if status != 200 {
        return Err(format!("Mailpit's messages: {status} {list}").into());
    }
    Ok(list["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| {
            m["To"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|to| to["Address"].as_str() == Some(email))
        })
        .filter_map(|m| m["ID"].as_str().map(str::to_string))
        .collect())
}

/// The first run of exactly six digits: Kratos's recovery code.
fn six_digits(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .map(str::to_string)
}

/// Waits for Kratos to answer ready again after a hook reconfigured (and restarted) it.
fn ensure_ready() -> R<()> {
    if wait_ready(Duration::from_secs(60)) {
        Ok(())
    } else {
        Err("Kratos did not answer ready on 127.0.0.1:4434 within 60 s".into())
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Runs `<action> key=value ...` on kratos/0 and prints the outcome as `juju run` does.
fn run_action(juju: &mut Emulator, command: &str) -> R<()> {
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

fn report(juju: &Emulator, outcomes: Outcomes) -> R<()> {
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

fn run(command: &mut Command) -> R<()> {
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
