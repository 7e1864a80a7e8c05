//! What the `kratos` CLI prints in the container: the version (`kratos version`) and the
//! failure summary of a failed command (stdout, a NUL, stderr).

use charm_kratos::workload::{failure_summary, parse_version};

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Some(version) = parse_version(&text) {
        assert!(version.starts_with('v') && !version.contains(char::is_whitespace));
    }
    let (stdout, stderr) = text.split_once('\0').unwrap_or((&text, ""));
    let summary = failure_summary(stdout, stderr);
    assert!(summary.chars().count() <= 400);
}
