//! `juju-emulator`: every Juju hook tool in one binary, for tests.
//!
//! The emulator ([`juju_rs_ops_testing::Emulator`]) links each hook tool name
//! (`relation-get`, `status-set`, ...) to this binary; the name it is called by selects
//! the tool (`juju-emulator <tool> args...` works too). The model state lives in the JSON
//! file named by `JUJU_EMULATOR_STATE`; the hook context comes from Juju's environment
//! variables (`JUJU_UNIT_NAME`, `JUJU_RELATION_ID`, `JUJU_REMOTE_UNIT`,
//! `JUJU_REMOTE_APP`, `JUJU_ACTION_NAME`, `JUJU_DISPATCH_PATH`). Each call locks the state,
//! runs the tool on it and writes it back atomically; stdout, stderr and the exit code are
//! the tool's, as Juju prints them.
//!
//! Build it with `cargo build -p juju-rs-ops-testing --bin juju-emulator`.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use juju_rs_ops_testing::jujuc::{run_tool, ToolContext};
use juju_rs_ops_testing::state::ModelState;

fn main() -> ExitCode {
    let mut argv = std::env::args_os().map(|a| a.to_string_lossy().into_owned());
    let argv0 = argv.next().unwrap_or_default();
    let mut args: Vec<String> = argv.collect();
    let called_as = Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tool = if called_as == "juju-emulator" {
        if args.is_empty() {
            return fail(
                "usage: juju-emulator <hook-tool> [args...] (or call it by a hook tool's name)",
            );
        }
        args.remove(0)
    } else {
        called_as
    };
    let Some(state_path) = std::env::var_os("JUJU_EMULATOR_STATE").map(PathBuf::from) else {
        return fail("JUJU_EMULATOR_STATE is not set: the emulator cannot find its model state");
    };
    let mut stdin = Vec::new();
    if reads_stdin(&args) {
        if let Err(e) = std::io::stdin().read_to_end(&mut stdin) {
            return fail(&format!("cannot read {tool}'s standard input: {e}"));
        }
    }
    let ctx = ToolContext::from_env();
    let outcome = ModelState::update_locked_appending_calls(&state_path, |state| {
        run_tool(state, &ctx, &tool, &args, &stdin)
    });
    match outcome {
        Ok(Ok(stdout)) => match std::io::stdout().write_all(&stdout) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("cannot write {tool}'s output: {e}")),
        },
        Ok(Err(failure)) => {
            // Nothing sensible is left to do if stderr itself is gone.
            let _ = std::io::stderr().write_all(failure.stderr.as_bytes());
            ExitCode::from(u8::try_from(failure.code).unwrap_or(1))
        }
        Err(e) => fail(&format!("emulator: {e}")),
    }
}

/// Whether the arguments ask for `--file -`, the only way a hook tool reads stdin. Other
/// calls leave stdin alone, so a tool run from a terminal never blocks.
fn reads_stdin(args: &[String]) -> bool {
    args.iter().enumerate().any(|(i, arg)| {
        arg == "--file=-" || (arg == "--file" && args.get(i + 1).is_some_and(|next| next == "-"))
    })
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "ERROR {message}");
    ExitCode::FAILURE
}
