//! The lowest layer of the Juju contract: running one hook tool.
//!
//! [`ToolRunner`] is the seam between the typed [`crate::Model`] and Juju. Production
//! uses [`ProcessRunner`] (spawns the tool found on `PATH`, as the unit agent provides
//! it); tests use the emulator's tools, in-process or as processes.

use std::io;

/// Runs one hook tool.
pub trait ToolRunner {
    /// Runs `tool` with `args`, feeding `stdin` when given, and returns its stdout.
    /// A non-zero exit is [`ToolError::Failed`] with the tool's stderr.
    fn run(&self, tool: &str, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<u8>, ToolError>;
}

/// Why a hook tool call failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The tool could not be started (not on `PATH`, not executable, ...).
    #[error("cannot run hook tool {tool}: {source}")]
    Spawn {
        /// The tool's name.
        tool: String,
        /// Why it could not start.
        #[source]
        source: io::Error,
    },
    /// The tool ran and exited non-zero.
    #[error("hook tool {tool} failed with exit code {code}: {stderr}")]
    Failed {
        /// The tool's name.
        tool: String,
        /// Its exit code (`-1` if a signal killed it).
        code: i32,
        /// What it printed on stderr.
        stderr: String,
    },
}

impl ToolError {
    /// Whether the tool said the thing asked for does not exist (Juju words this
    /// "not found" for secrets, relations and resources alike).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ToolError::Failed { stderr, .. } if stderr.contains("not found"))
    }
}

/// Runs hook tools as processes, as the Juju unit agent provides them on `PATH`.
#[derive(Debug, Clone, Default)]
pub struct ProcessRunner {
    /// Where the tools live; `None` searches `PATH`.
    pub tools_dir: Option<std::path::PathBuf>,
}

impl ToolRunner for ProcessRunner {
    fn run(&self, tool: &str, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<u8>, ToolError> {
        use std::io::Write;
        use std::process::{Command, Stdio};

        let program = match &self.tools_dir {
            Some(dir) => dir.join(tool),
            None => std::path::PathBuf::from(tool),
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawn_error = |source| ToolError::Spawn {
            tool: tool.to_string(),
            source,
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A tool that exits without reading its stdin closes the pipe: its exit
            // status below says what went wrong, so a write error here is not the story.
            let _ = pipe.write_all(input);
        }
        let output = child.wait_with_output().map_err(spawn_error)?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(ToolError::Failed {
                tool: tool.to_string(),
                code: output.status.code().unwrap_or(-1),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            })
        }
    }
}
