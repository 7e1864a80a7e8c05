//! The identity actions against a real Kratos (v1.3.1, `$KRATOS_BIN` or
//! `~/.cache/charm-kratos/bin/kratos`, built by scripts/install-kratos.sh) on a real
//! PostgreSQL (scripts/pg-test-server.sh), through the production [`AdminClient`].
//!
//! One Kratos serves every sub-case (start-up and migration dominate the cost); the
//! sub-cases run in order in one test and each uses its own identities. Kratos, its
//! database and their files go away when the fixture drops, also on failure.
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

use std::collections::BTreeMap;
use std::fs;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod common;

use base64::Engine;
use serde_json::{json, Value};

use charm_kratos::action_logic::*;
use charm_kratos::kratos_api::{AdminClient, CredentialType, KratosAdmin, KratosApiError};
use charm_kratos::sensitive::Sensitive;
use common::{free_port, kratos_bin, Postgres};

const FIRST_PASSWORD: &str = "First-Pa55word-for-admin1";
const SECOND_PASSWORD: &str = "Second-Pa55word-for-admin1";
/// Where the login UI would show the recovery form.
const RECOVERY_UI: &str = "http://login-ui.test/ui/recovery";
const MISSING_ID: &str = "00000000-1111-4222-8333-444455556666";

/// Every password a sub-case hands to Kratos: none may show up in any output.
const PASSWORDS: [&str; 2] = [FIRST_PASSWORD, SECOND_PASSWORD];

/// The identity schema create-admin-account needs (traits username, email, name,
/// phone_number; username and email are password identifiers, email the recovery
/// address), as shipped by the reference charm.
fn admin_schema() -> Value {
    json!({
        "$id": "https://schemas.canonical.com/presets/kratos/admin_v0.json",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Admin Account",
        "type": "object",
        "properties": {
            "traits": {
                "type": "object",
                "properties": {
                    "username": {
                        "type": "string",
                        "title": "Username",
                        "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}
                    },
                    "email": {
                        "type": "string",
                        "format": "email",
                        "title": "E-Mail",
                        "minLength": 3,
                        "ory.sh/kratos": {
                            "credentials": {
                                "password": {"identifier": true},
                                "totp": {"account_name": true},
                                "webauthn": {"identifier": true}
                            },
                            "verification": {"via": "email"},
                            "recovery": {"via": "email"}
                        }
                    },
                    "name": {"type": "string", "title": "Name"},
                    "phone_number": {"type": "string", "title": "Phone Number"}
                }
            }
        }
    })
}

/// A child process killed (and reaped) on drop.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Kratos serving public and admin APIs on loopback ports, on its own database. Fields
/// drop in order: Kratos, then PostgreSQL, then the directory.
struct Fixture {
    _kratos: Process,
    _postgres: Postgres,
    dir: tempfile::TempDir,
    public_url: String,
    admin_url: String,
    admin: AdminClient,
}

impl Fixture {
    fn start() -> Fixture {
        let kratos = kratos_bin();
        let dir = tempfile::Builder::new()
            .prefix("kratos-api-")
            .tempdir()
            .unwrap();
        let postgres = Postgres::start();

        let (public_port, admin_port, smtp_port) = (free_port(), free_port(), free_port());
        let public_url = format!("http://127.0.0.1:{public_port}");
        let schema_url = format!(
            "base64://{}",
            base64::engine::general_purpose::STANDARD.encode(admin_schema().to_string())
        );
        let config = json!({
            "serve": {
                "public": {"base_url": format!("{public_url}/"), "host": "127.0.0.1", "port": public_port},
                "admin": {"base_url": format!("http://127.0.0.1:{admin_port}/"), "host": "127.0.0.1", "port": admin_port}
            },
            "identity": {
                "default_schema_id": ADMIN_SCHEMA_ID,
                "schemas": [{"id": ADMIN_SCHEMA_ID, "url": schema_url}]
            },
            "selfservice": {
                "default_browser_return_url": format!("{public_url}/"),
                "flows": {"recovery": {"enabled": true, "use": "code", "ui_url": RECOVERY_UI}},
                "methods": {
                    "password": {"enabled": true},
                    "code": {"enabled": true},
                    "lookup_secret": {"enabled": true}
                }
            },
            "secrets": {"cookie": ["a-cookie-secret-for-tests-only-0123456789"]},
            "courier": {"smtp": {"connection_uri": format!("smtp://127.0.0.1:{smtp_port}/?disable_starttls=true")}},
            "log": {"level": "warning"}
        });
        // JSON is YAML: Kratos reads either.
        let config_path = dir.path().join("kratos.yaml");
        fs::write(&config_path, config.to_string()).unwrap();

        let migrate = Command::new(&kratos)
            .args(["migrate", "sql", "-e", "--yes", "--config"])
            .arg(&config_path)
            .env("DSN", postgres.dsn("postgres"))
            .output()
            .unwrap();
        assert!(
            migrate.status.success(),
            "kratos migrate failed: {}",
            String::from_utf8_lossy(&migrate.stderr)
        );

        let log_path = dir.path().join("kratos.log");
        let log = fs::File::create(&log_path).unwrap();
        let child = Command::new(&kratos)
            .args(["serve", "all", "--sqa-opt-out", "--config"])
            .arg(&config_path)
            .env("DSN", postgres.dsn("postgres"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let kratos_process = Process(child);

        let admin_url = format!("http://127.0.0.1:{admin_port}");
        let admin = AdminClient::new(admin_url.clone());
        let deadline = Instant::now() + Duration::from_secs(90);
        while let Err(e) = admin.health_ready() {
            assert!(
                Instant::now() < deadline,
                "Kratos did not become ready: {e}\n{}",
                fs::read_to_string(&log_path).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Fixture {
            _kratos: kratos_process,
            _postgres: postgres,
            dir,
            public_url,
            admin_url,
            admin,
        }
    }

    /// An HTTP agent for the public API (self-service flows), statuses as answers.
    fn http() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(20)))
            .build()
            .into()
    }

    /// Logs in through the public API's password method: the session token, or the
    /// HTTP status of the refusal.
    fn login(&self, identifier: &str, password: &str) -> Result<String, u16> {
        let http = Fixture::http();
        let flow: Value = http
            .get(format!("{}/self-service/login/api", self.public_url))
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        let flow_id = flow["id"].as_str().unwrap();
        let mut answer = http
            .post(format!("{}/self-service/login", self.public_url))
            .query("flow", flow_id)
            .send_json(
                json!({"method": "password", "identifier": identifier, "password": password}),
            )
            .unwrap();
        if answer.status() != 200 {
            return Err(answer.status().as_u16());
        }
        let body: Value = answer.body_mut().read_json().unwrap();
        Ok(body["session_token"].as_str().unwrap().to_string())
    }

    /// Sets up backup codes (lookup_secret) for the session's identity through the
    /// settings flow, as a user would.
    fn set_up_backup_codes(&self, session_token: &str) {
        let http = Fixture::http();
        let flow: Value = http
            .get(format!("{}/self-service/settings/api", self.public_url))
            .header("X-Session-Token", session_token)
            .call()
            .unwrap()
            .body_mut()
            .read_json()
            .unwrap();
        let flow_id = flow["id"].as_str().unwrap();
        for step in ["lookup_secret_regenerate", "lookup_secret_confirm"] {
            let mut answer = http
                .post(format!("{}/self-service/settings", self.public_url))
                .query("flow", flow_id)
                .header("X-Session-Token", session_token)
                .send_json(json!({"method": "lookup_secret", step: true}))
                .unwrap();
            let status = answer.status();
            let body = answer.body_mut().read_to_string().unwrap();
            assert_eq!(status, 200, "settings {step}: {body}");
        }
    }

    /// The admin API's list of an identity's sessions.
    fn sessions(&self, identity_id: &str) -> Vec<Value> {
        let mut answer = Fixture::http()
            .get(format!(
                "{}/admin/identities/{identity_id}/sessions",
                self.admin_url
            ))
            .call()
            .unwrap();
        assert_eq!(answer.status(), 200);
        answer.body_mut().read_json().unwrap()
    }

    /// Creates an identity with imported OIDC links (as if it had signed in with these
    /// providers), straight through the admin API.
    fn create_oidc_identity(&self, email: &str, links: &[(&str, &str)]) -> String {
        let providers: Vec<Value> = links
            .iter()
            .map(|(provider, subject)| json!({"provider": provider, "subject": subject}))
            .collect();
        let mut answer = Fixture::http()
            .post(format!("{}/admin/identities", self.admin_url))
            .send_json(json!({
                "schema_id": ADMIN_SCHEMA_ID,
                "traits": {"email": email},
                "credentials": {"oidc": {"config": {"providers": providers}}}
            }))
            .unwrap();
        let status = answer.status();
        let body: Value = answer.body_mut().read_json().unwrap();
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_string()
    }
}

/// Collects everything the actions hand back, to check that no password leaks.
#[derive(Default)]
struct Transcript(Vec<String>);

impl Transcript {
    fn ok(&mut self, result: Result<ActionOutput, ActionFailure>) -> ActionOutput {
        match result {
            Ok(output) => {
                self.0.push(format!("{output:?}"));
                output
            }
            Err(failure) => panic!("the action failed: {failure}"),
        }
    }

    fn fail(&mut self, result: Result<ActionOutput, ActionFailure>) -> String {
        match result {
            Ok(output) => panic!("the action succeeded: {output:?}"),
            Err(failure) => {
                self.0.push(format!("{failure:?} {failure}"));
                failure.message
            }
        }
    }
}

/// An action that only picks an identity.
type IdentityAction = fn(&AdminClient, &IdentityParams) -> Result<ActionOutput, ActionFailure>;

fn by_id(id: &str) -> IdentityParams {
    IdentityParams {
        identity_id: Some(id.to_string()),
        email: None,
    }
}

fn by_email(email: &str) -> IdentityParams {
    IdentityParams {
        identity_id: None,
        email: Some(email.to_string()),
    }
}

fn text<'a>(output: &'a ActionOutput, key: &str) -> &'a str {
    output.results[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string result {key} in {:?}", output.results))
}

fn admin_params(username: &str, email: &str) -> CreateAdminAccountParams {
    CreateAdminAccountParams {
        username: username.to_string(),
        email: email.to_string(),
        ..CreateAdminAccountParams::default()
    }
}

/// Checks the recovery results and uses the code as the user would: Kratos accepts it.
fn assert_recovery_results(output: &ActionOutput, public_url: &str) {
    let link = text(output, "recovery-link");
    let flow = link
        .strip_prefix(&format!("{RECOVERY_UI}?flow="))
        .unwrap_or_else(|| panic!("{link}"));
    let code = text(output, "recovery-code");
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    assert!(text(output, "expires-at").contains('T'));
    let mut answer = Fixture::http()
        .post(format!("{public_url}/self-service/recovery"))
        .query("flow", flow)
        .header("Accept", "application/json")
        .send_json(json!({"method": "code", "code": code}))
        .unwrap();
    // Kratos takes the code and sends the browser on to the settings flow (for a wrong
    // code it shows the form again with an error).
    let status = answer.status();
    let body: Value = answer.body_mut().read_json().unwrap();
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["id"], "browser_location_change_required",
        "{body}"
    );
    assert!(body["redirect_browser_to"]
        .as_str()
        .unwrap()
        .contains("settings?flow="));
}

#[test]
fn actions_against_a_real_kratos() {
    let fx = Fixture::start();
    let admin = &fx.admin;
    let mut t = Transcript::default();

    // create-admin-account with a password: the account can log in with it.
    let first = Sensitive::new(FIRST_PASSWORD);
    let params = CreateAdminAccountParams {
        name: Some("Ada Admin".into()),
        phone_number: Some("+44 20 7946 0000".into()),
        password_secret_id: Some("secret:irrelevant-here".into()),
        ..admin_params("admin1", "admin1@example.com")
    };
    let created = t.ok(create_admin_account(admin, &params, Some(&first)));
    let admin1 = text(&created, "identity-id").to_string();
    assert!(!created.results.contains_key("recovery-link"));
    let fetched = admin.get_identity(&admin1, &[]).unwrap();
    assert_eq!(fetched.schema_id, ADMIN_SCHEMA_ID);
    assert_eq!(
        fetched.traits,
        json!({"username": "admin1", "email": "admin1@example.com", "name": "Ada Admin", "phone_number": "+44 20 7946 0000"})
    );
    let session = fx
        .login("admin1", FIRST_PASSWORD)
        .expect("login with the set password");

    // The same username or email again: a clear failure.
    let dup = t.fail(create_admin_account(
        admin,
        &admin_params("admin1", "other@example.com"),
        Some(&first),
    ));
    assert!(dup.starts_with("The account already exists"), "{dup}");
    let dup = t.fail(create_admin_account(
        admin,
        &admin_params("other", "ADMIN1@example.com"),
        None,
    ));
    assert!(dup.starts_with("The account already exists"), "{dup}");

    // create-admin-account without a password: a working recovery code and link.
    let created = t.ok(create_admin_account(
        admin,
        &admin_params("admin2", "admin2@example.com"),
        None,
    ));
    let admin2 = text(&created, "identity-id").to_string();
    assert_recovery_results(&created, &fx.public_url);
    assert_eq!(fx.login("admin2", FIRST_PASSWORD), Err(400));

    // get-identity by id and by email: the same identity, Juju-style keys.
    let got = t.ok(get_identity(admin, &by_id(&admin1)));
    assert_eq!(text(&got, "id"), admin1);
    assert_eq!(text(&got, "schema-id"), ADMIN_SCHEMA_ID);
    assert_eq!(
        got.results["traits"]["phone-number"],
        json!("+44 20 7946 0000")
    );
    assert_eq!(
        got.results["recovery-addresses"]["0"]["value"],
        json!("admin1@example.com")
    );
    let by_mail = t.ok(get_identity(admin, &by_email("Admin1@Example.com")));
    assert_eq!(by_mail.results, got.results);

    // Not found, both, neither, malformed.
    let missing = t.fail(get_identity(admin, &by_id(MISSING_ID)));
    assert_eq!(missing, format!("Identity {MISSING_ID} does not exist"));
    let missing = t.fail(get_identity(admin, &by_email("nobody@example.com")));
    assert_eq!(missing, "Identity not found for email 'nobody@example.com'");
    let both = IdentityParams {
        identity_id: Some(admin1.clone()),
        email: Some("admin1@example.com".into()),
    };
    assert!(t.fail(get_identity(admin, &both)).contains("not both"));
    assert!(t
        .fail(delete_identity(admin, &IdentityParams::default()))
        .contains("either 'identity-id' or 'email'"));
    assert!(t
        .fail(get_identity(admin, &by_id("42")))
        .contains("valid UUID"));

    // reset-password with a password: the new one works, the old one no longer does.
    let second = Sensitive::new(SECOND_PASSWORD);
    let reset = t.ok(reset_password(
        admin,
        &ResetPasswordParams {
            identity: IdentityParams {
                identity_id: None,
                email: Some("admin1@example.com".into()),
            },
            password_secret_id: Some("secret:x".into()),
        },
        Some(&second),
    ));
    assert_eq!(text(&reset, "id"), admin1);
    assert_eq!(fx.login("admin1", FIRST_PASSWORD), Err(400));
    fx.login("admin1@example.com", SECOND_PASSWORD)
        .expect("login with the new password");
    let after = admin.get_identity(&admin1, &[]).unwrap();
    assert_eq!(
        after.traits, fetched.traits,
        "a password reset keeps the traits"
    );
    assert_eq!(after.state.as_deref(), Some("active"));

    // reset-password without a password: a recovery code and link.
    let reset = t.ok(reset_password(
        admin,
        &ResetPasswordParams {
            identity: IdentityParams {
                identity_id: Some(admin2.clone()),
                email: None,
            },
            password_secret_id: None,
        },
        None,
    ));
    assert_eq!(text(&reset, "identity-id"), admin2);
    assert_recovery_results(&reset, &fx.public_url);
    let missing = t.fail(reset_password(
        admin,
        &ResetPasswordParams {
            identity: by_id(MISSING_ID),
            ..ResetPasswordParams::default()
        },
        Some(&second),
    ));
    assert_eq!(missing, format!("Identity {MISSING_ID} does not exist"));

    // reset-identity-mfa: nothing to reset is a failure; a bad type is refused; backup
    // codes set up through the settings flow are removed.
    let mfa_params = |mfa: &str| ResetIdentityMfaParams {
        identity: IdentityParams {
            identity_id: Some(admin1.clone()),
            email: None,
        },
        mfa_type: mfa.into(),
    };
    // The schema makes the email a WebAuthn identifier, so Kratos keeps a WebAuthn
    // credential without keys, which the action must not mistake for a second factor.
    assert!(admin
        .get_identity(&admin1, &[])
        .unwrap()
        .credentials
        .contains_key("webauthn"));
    for mfa in ["totp", "lookup_secret", "webauthn"] {
        let none = t.fail(reset_identity_mfa(admin, &mfa_params(mfa)));
        assert_eq!(none, format!("Identity {admin1} has no {mfa} credentials"));
    }
    let bad = t.fail(reset_identity_mfa(
        admin,
        &ResetIdentityMfaParams {
            identity: IdentityParams {
                identity_id: Some(admin1.clone()),
                email: None,
            },
            mfa_type: "password".into(),
        },
    ));
    assert!(
        bad.starts_with("Unsupported MFA credential type 'password'"),
        "{bad}"
    );
    let fresh = fx.login("admin1", SECOND_PASSWORD).unwrap();
    fx.set_up_backup_codes(&fresh);
    assert!(admin
        .get_identity(&admin1, &[])
        .unwrap()
        .credentials
        .contains_key("lookup_secret"));
    let mfa = t.ok(reset_identity_mfa(
        admin,
        &ResetIdentityMfaParams {
            identity: IdentityParams {
                identity_id: None,
                email: Some("admin1@example.com".into()),
            },
            mfa_type: "lookup_secret".into(),
        },
    ));
    assert_eq!(text(&mfa, "mfa-type"), "lookup_secret");
    assert!(!admin
        .get_identity(&admin1, &[])
        .unwrap()
        .credentials
        .contains_key("lookup_secret"));

    // invalidate-identity-sessions: the logins above made sessions; then there are none.
    assert!(!fx.sessions(&admin1).is_empty());
    let done = t.ok(invalidate_identity_sessions(admin, &by_id(&admin1)));
    assert_eq!(done.results["sessions-invalidated"], json!(true));
    assert!(fx.sessions(&admin1).is_empty());
    let whoami = Fixture::http()
        .get(format!("{}/sessions/whoami", fx.public_url))
        .header("X-Session-Token", &session)
        .call()
        .unwrap();
    assert_eq!(whoami.status(), 401, "the old session no longer works");
    let again = t.ok(invalidate_identity_sessions(
        admin,
        &by_email("admin1@example.com"),
    ));
    assert_eq!(again.results["sessions-invalidated"], json!(false));
    assert_eq!(again.log, [format!("Identity {admin1} has no sessions")]);

    // list-oidc-accounts / unlink-oidc-account.
    let none = t.ok(list_oidc_accounts(admin, &by_id(&admin1)));
    assert_eq!(text(&none, "identifiers"), "");
    let unlink = |id: &str, credential: &str| UnlinkOidcAccountParams {
        identity: IdentityParams {
            identity_id: Some(id.to_string()),
            email: None,
        },
        credential_id: credential.to_string(),
    };
    let nothing = t.fail(unlink_oidc_account(admin, &unlink(&admin1, "github:1234")));
    assert!(nothing.starts_with(&format!(
        "Identity {admin1} has no linked OIDC account 'github:1234'"
    )));
    let social = fx.create_oidc_identity(
        "social@example.com",
        &[("github", "1234"), ("google", "abcd")],
    );
    let listed = t.ok(list_oidc_accounts(admin, &by_email("social@example.com")));
    assert_eq!(text(&listed, "identity-id"), social);
    let mut ids: Vec<&str> = text(&listed, "identifiers").lines().collect();
    ids.sort();
    assert_eq!(ids, ["github:1234", "google:abcd"]);
    let unlinked = t.ok(unlink_oidc_account(admin, &unlink(&social, "github:1234")));
    assert_eq!(text(&unlinked, "credential-id"), "github:1234");
    let listed = t.ok(list_oidc_accounts(admin, &by_id(&social)));
    assert_eq!(text(&listed, "identifiers"), "google:abcd");
    let gone = t.fail(unlink_oidc_account(admin, &unlink(&social, "github:1234")));
    assert!(
        gone.contains("has no linked OIDC account 'github:1234'"),
        "{gone}"
    );
    assert_eq!(
        admin
            .get_identity(&social, &[])
            .unwrap()
            .identifiers(CredentialType::Oidc),
        ["google:abcd"]
    );

    // An "email" that is one identity's username and another's OIDC identifier matches
    // both: the actions refuse to guess.
    t.ok(create_admin_account(
        admin,
        &admin_params("dup:x@example.com", "dup-a@example.com"),
        None,
    ));
    fx.create_oidc_identity("dup-b@example.com", &[("dup", "x@example.com")]);
    let many = t.fail(delete_identity(admin, &by_email("dup:x@example.com")));
    assert_eq!(
        many,
        "Multiple identities found for email 'dup:x@example.com'. Please provide an identity-id instead"
    );

    // delete-identity, by email and by id; then they are gone.
    let deleted = t.ok(delete_identity(admin, &by_email("admin2@example.com")));
    assert_eq!(text(&deleted, "id"), admin2);
    assert!(matches!(
        admin.get_identity(&admin2, &[]),
        Err(KratosApiError::NotFound { .. })
    ));
    t.ok(delete_identity(admin, &by_id(&social)));
    let gone = t.fail(delete_identity(admin, &by_id(&social)));
    assert_eq!(gone, format!("Identity {social} does not exist"));
    let by_id_actions: [IdentityAction; 2] = [invalidate_identity_sessions, list_oidc_accounts];
    for action in by_id_actions {
        let gone = t.fail(action(admin, &by_id(&admin2)));
        assert_eq!(gone, format!("Identity {admin2} does not exist"));
    }

    // No password reached any result, log or failure.
    let transcript = t.0.join("\n");
    for password in PASSWORDS {
        assert!(!transcript.contains(password), "a password leaked");
    }
    assert!(fx.dir.path().exists());
}

#[test]
fn every_action_refuses_when_kratos_is_not_there() {
    // A port nothing listens on: connection refused, as while the workload starts.
    let admin = AdminClient::new(format!("http://127.0.0.1:{}", free_port()));
    assert!(matches!(
        admin.health_ready(),
        Err(KratosApiError::NotReady { .. })
    ));
    let id = by_id(MISSING_ID);
    let password = Sensitive::new(FIRST_PASSWORD);
    let failures = [
        get_identity(&admin, &id),
        delete_identity(&admin, &id),
        invalidate_identity_sessions(&admin, &id),
        list_oidc_accounts(&admin, &id),
        create_admin_account(&admin, &admin_params("a", "a@example.com"), Some(&password)),
        reset_password(
            &admin,
            &ResetPasswordParams {
                identity: by_id(MISSING_ID),
                ..ResetPasswordParams::default()
            },
            Some(&password),
        ),
        reset_identity_mfa(
            &admin,
            &ResetIdentityMfaParams {
                identity: IdentityParams {
                    identity_id: Some(MISSING_ID.into()),
                    email: None,
                },
                mfa_type: "totp".into(),
            },
        ),
        unlink_oidc_account(
            &admin,
            &UnlinkOidcAccountParams {
                identity: IdentityParams {
                    identity_id: Some(MISSING_ID.into()),
                    email: None,
                },
                credential_id: "github:1".into(),
            },
        ),
    ];
    for failure in failures {
        let message = failure.unwrap_err().message;
        assert!(message.starts_with(SERVICE_NOT_READY), "{message}");
        assert!(!message.contains(FIRST_PASSWORD));
    }
    // The parameters are checked first: a bad one is reported even so.
    let both = IdentityParams {
        identity_id: Some(MISSING_ID.into()),
        email: Some("a@example.com".into()),
    };
    assert!(get_identity(&admin, &both)
        .unwrap_err()
        .message
        .contains("not both"));
    let unused: BTreeMap<String, String> = BTreeMap::new();
    assert!(password_from_secret("secret:1", Some(&unused)).is_err());
}
