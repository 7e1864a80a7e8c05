//! Pebble's HTTP API over its unix socket. (Being written.)
use std::path::PathBuf;

/// A Pebble client for one socket.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
}

impl Client {
    pub fn new(socket: impl Into<PathBuf>) -> Client {
        Client { socket: socket.into() }
    }
}

// Placeholder so the skeleton compiles; replaced by the real client.
use super::*;
fn unimplemented_yet<T>() -> Result<T, PebbleError> {
    Err(PebbleError::Protocol("client not written yet".into()))
}
impl Pebble for Client {
    fn system_info(&self) -> Result<SystemInfo, PebbleError> { unimplemented_yet() }
    fn plan(&self) -> Result<Plan, PebbleError> { unimplemented_yet() }
    fn add_layer(&self, _: &str, _: &Layer, _: bool) -> Result<(), PebbleError> { unimplemented_yet() }
    fn services(&self, _: &[&str]) -> Result<Vec<ServiceInfo>, PebbleError> { unimplemented_yet() }
    fn start(&self, _: &[&str]) -> Result<(), PebbleError> { unimplemented_yet() }
    fn stop(&self, _: &[&str]) -> Result<(), PebbleError> { unimplemented_yet() }
    fn restart(&self, _: &[&str]) -> Result<(), PebbleError> { unimplemented_yet() }
    fn replan(&self) -> Result<(), PebbleError> { unimplemented_yet() }
    fn push(&self, _: &str, _: &[u8], _: &PushOptions) -> Result<(), PebbleError> { unimplemented_yet() }
    fn pull(&self, _: &str) -> Result<Vec<u8>, PebbleError> { unimplemented_yet() }
    fn list_files(&self, _: &str, _: Option<&str>, _: bool) -> Result<Vec<FileInfo>, PebbleError> { unimplemented_yet() }
    fn make_dir(&self, _: &str, _: &PushOptions) -> Result<(), PebbleError> { unimplemented_yet() }
    fn remove_path(&self, _: &str, _: bool) -> Result<(), PebbleError> { unimplemented_yet() }
    fn checks(&self, _: &[&str]) -> Result<Vec<CheckInfo>, PebbleError> { unimplemented_yet() }
    fn notices(&self, _: &NoticesQuery) -> Result<Vec<Notice>, PebbleError> { unimplemented_yet() }
    fn exec(&self, _: &ExecRequest) -> Result<ExecOutput, PebbleError> { unimplemented_yet() }
}
