//! What the `kratos` CLI prints in the container: the version (`kratos version`) and the
//! failure summary of a failed command (stdout, a NUL, stderr).
#![no_main]

use charm_kratos::workload::{failure_summary, parse_version};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(version) = parse_version(&text) {
        assert!(version.starts_with('v') && !version.contains(char::is_whitespace));
    }
    let (stdout, stderr) = text.split_once('\0').unwrap_or((&text, ""));
    let summary = failure_summary(stdout, stderr);
    assert!(summary.chars().count() <= 400);
});
