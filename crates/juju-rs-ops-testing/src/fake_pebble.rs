//! An in-memory [`Pebble`] for in-process tests.
//!
//! [`FakePebble`] follows Pebble v1.32's contract where a charm can observe it (checked
//! against the real daemon in `tests/pebble_fake_fidelity.rs`):
//! - **layers** combine like Pebble's `plan.CombineLayers`: each service, check and log
//!   target needs `override: merge|replace`; `merge` overwrites the fields the new layer
//!   sets, appends `after`/`before`/`requires`/log-target `services` and merges maps;
//!   `combine` into an existing label merges into that layer, otherwise an existing
//!   label is an error; the combined plan must give every service a `command` and every
//!   check exactly one of `http`/`tcp`/`exec`; checks get Pebble's default
//!   `threshold: 3`.
//! - **services** start with their `requires`, stop with their dependants, and `replan`
//!   restarts every started service whose definition changed since it started and
//!   starts every `startup: enabled` service that is not running.
//! - **files** need existing parent directories unless `make_dirs`; errors carry
//!   Pebble's kinds (`not-found`, `generic-file-error`) and messages.
//! - **exec** runs handlers the test registers by command prefix; an unregistered
//!   command fails like Pebble's `cannot find executable "x"` (HTTP 400).
//!
//! Where it approximates: no real processes (services have a state, nothing runs),
//! checks report `up` (or `inactive` for `startup: disabled`) until a test sets another
//! status, file owners are whatever was pushed (`root` by default), and
//! `service-context`, user ids and log forwarding are not modelled.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use juju_rs_ops::context::PebbleConnector;
use juju_rs_ops::pebble::{
    Check, CheckInfo, CheckLevel, CheckStartup, ExecOutput, ExecRequest, FileInfo, Layer,
    LogTarget, Notice, NoticesQuery, Pebble, PebbleError, Plan, PushOptions, Service, ServiceInfo,
    ServiceStartup, SystemInfo,
};

/// Pebble's default check threshold, filled into the combined plan.
const DEFAULT_CHECK_THRESHOLD: u32 = 3;

/// A registered exec handler.
type ExecHandler = Rc<dyn Fn(&ExecRequest) -> Result<ExecOutput, PebbleError>>;

/// One call that reached the fake, for assertions on what the charm did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PebbleCall {
    /// `system_info()`.
    SystemInfo,
    /// `plan()`.
    Plan,
    /// `add_layer(label, _, combine)`.
    AddLayer { label: String, combine: bool },
    /// `services(names)`.
    Services(Vec<String>),
    /// `start(names)`.
    Start(Vec<String>),
    /// `stop(names)`.
    Stop(Vec<String>),
    /// `restart(names)`.
    Restart(Vec<String>),
    /// `replan()`.
    Replan,
    /// `push(path, ..)` (the content is in the fake's file system).
    Push { path: String },
    /// `pull(path)`.
    Pull { path: String },
    /// `list_files(path, ..)`.
    ListFiles { path: String },
    /// `make_dir(path, ..)`.
    MakeDir { path: String },
    /// `remove_path(path, recursive)`.
    RemovePath { path: String, recursive: bool },
    /// `checks(names)`.
    Checks(Vec<String>),
    /// `notices(..)`.
    Notices,
    /// `exec(..)` (the whole requests are in [`FakePebble::exec_requests`]).
    Exec { command: Vec<String> },
}

/// An in-memory Pebble. Cheap to create; share it with [`Rc`] (see
/// [`FakePebbleConnector`]) to inspect it after the charm ran.
///
/// ```
/// use juju_rs_ops::pebble::{ExecOutput, ExecRequest, Pebble, PushOptions};
/// use juju_rs_ops_testing::FakePebble;
///
/// let pebble = FakePebble::new();
/// pebble.on_exec(["kratos", "version"], |_| {
///     Ok(ExecOutput { stdout: b"Version: v1.1.0\n".to_vec(), ..ExecOutput::default() })
/// });
/// let output = pebble.exec(&ExecRequest::new(["kratos", "version"])).unwrap();
/// assert_eq!(output.stdout_text(), "Version: v1.1.0\n");
///
/// let dirs = PushOptions { make_dirs: true, ..PushOptions::default() };
/// pebble.push("/etc/config/kratos.yaml", b"dsn: x\n", &dirs).unwrap();
/// assert_eq!(pebble.file("/etc/config/kratos.yaml").unwrap(), b"dsn: x\n");
/// ```
pub struct FakePebble {
    state: RefCell<FakeState>,
}

struct FakeState {
    /// `Some(socket)` makes every call fail like a missing socket.
    cannot_connect: Option<String>,
    /// Pushes fail with Pebble's answer to a full disk (a fault in the middle of a hook).
    failing_pushes: bool,
    failing_changes: bool,
    version: String,
    layers: Vec<(String, Layer)>,
    plan: Plan,
    services: BTreeMap<String, FakeService>,
    check_overrides: BTreeMap<String, (String, u32)>,
    files: BTreeMap<String, Entry>,
    notices: Vec<Notice>,
    exec_handlers: Vec<(Vec<String>, ExecHandler)>,
    exec_requests: Vec<ExecRequest>,
    calls: Vec<PebbleCall>,
}

/// A service that has been started at least once (Pebble keeps those in its service
/// manager), with counters for assertions.
#[derive(Debug, Clone, Default)]
struct FakeService {
    current: String,
    /// The definition it was last started with, which `replan` compares with the plan.
    started_with: Option<Service>,
    starts: usize,
    stops: usize,
    restarts: usize,
}

#[derive(Debug, Clone)]
enum Entry {
    File {
        content: Vec<u8>,
        permissions: u32,
        user: Option<String>,
        group: Option<String>,
    },
    Dir {
        permissions: u32,
        user: Option<String>,
        group: Option<String>,
    },
}

impl Default for FakePebble {
    fn default() -> Self {
        FakePebble::new()
    }
}

impl std::fmt::Debug for FakePebble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("FakePebble")
            .field("layers", &state.layers.len())
            .field("services", &state.services)
            .field("files", &state.files.len())
            .finish_non_exhaustive()
    }
}

impl FakePebble {
    /// An empty container: no layers, and a file system holding only `/`.
    pub fn new() -> FakePebble {
        let mut files = BTreeMap::new();
        files.insert("/".to_owned(), dir_entry(0o755, &PushOptions::default()));
        FakePebble {
            state: RefCell::new(FakeState {
                cannot_connect: None,
                failing_pushes: false,
                failing_changes: false,
                version: "v1.32.1".into(),
                layers: Vec::new(),
                plan: Plan::default(),
                services: BTreeMap::new(),
                check_overrides: BTreeMap::new(),
                files,
                notices: Vec::new(),
                exec_handlers: Vec::new(),
                exec_requests: Vec::new(),
                calls: Vec::new(),
            }),
        }
    }

    /// A fake whose every call fails with [`PebbleError::CannotConnect`] naming
    /// `socket` (a container whose Pebble is not up yet).
    pub fn unreachable(socket: impl Into<String>) -> FakePebble {
        let fake = FakePebble::new();
        fake.state.borrow_mut().cannot_connect = Some(socket.into());
        fake
    }

    /// Switches the "cannot connect" mode on or off.
    pub fn set_cannot_connect(&self, cannot_connect: bool) {
        self.state.borrow_mut().cannot_connect =
            cannot_connect.then(|| "fake-pebble.socket".to_owned());
    }

    /// The version `system_info` reports (default `v1.32.1`).
    pub fn set_version(&self, version: impl Into<String>) {
        self.state.borrow_mut().version = version.into();
    }

    /// Creates a file (and its parent directories) with permissions 0644, as if the
    /// container image had it.
    pub fn add_file(&self, path: &str, content: impl Into<Vec<u8>>) {
        let options = PushOptions {
            make_dirs: true,
            ..PushOptions::default()
        };
        if let Err(e) = self
            .state
            .borrow_mut()
            .write_file(path, content.into(), &options)
        {
            panic!("FakePebble::add_file({path:?}): {e}");
        }
    }

    /// Creates a directory and its parents (0755), as if the container image had it.
    pub fn add_dir(&self, path: &str) {
        let options = PushOptions {
            make_dirs: true,
            ..PushOptions::default()
        };
        if let Err(e) = self.state.borrow_mut().make_dir(path, &options) {
            panic!("FakePebble::add_dir({path:?}): {e}");
        }
    }

    /// A regular file's content.
    pub fn file(&self, path: &str) -> Option<Vec<u8>> {
        match self.state.borrow().files.get(path) {
            Some(Entry::File { content, .. }) => Some(content.clone()),
            _ => None,
        }
    }

    /// A file's or directory's permission bits.
    pub fn permissions(&self, path: &str) -> Option<u32> {
        match self.state.borrow().files.get(path)? {
            Entry::File { permissions, .. } | Entry::Dir { permissions, .. } => Some(*permissions),
        }
    }

    /// The paths of all regular files, sorted.
    pub fn file_paths(&self) -> Vec<String> {
        let state = self.state.borrow();
        state
            .files
            .iter()
            .filter(|(_, entry)| matches!(entry, Entry::File { .. }))
            .map(|(path, _)| path.clone())
            .collect()
    }

    /// The layers as added (combined into by label), in order.
    pub fn layers(&self) -> Vec<(String, Layer)> {
        self.state.borrow().layers.clone()
    }

    /// The combined plan (what `plan()` returns), without logging a call.
    pub fn current_plan(&self) -> Plan {
        self.state.borrow().plan.clone()
    }

    /// A service's current state (`active`, `inactive`, ...), `None` if it is not in the
    /// plan.
    pub fn service_state(&self, name: &str) -> Option<String> {
        let state = self.state.borrow();
        state
            .plan
            .services
            .contains_key(name)
            .then(|| state.current(name))
    }

    /// Forces a service's state, e.g. `error` or `backoff` to model a crashing workload.
    pub fn set_service_state(&self, name: &str, current: &str) {
        let mut state = self.state.borrow_mut();
        state.services.entry(name.to_owned()).or_default().current = current.to_owned();
    }

    /// How often the service went from not running to running (any cause).
    pub fn service_starts(&self, name: &str) -> usize {
        self.counter(name, |s| s.starts)
    }

    /// How often the service went from running to stopped (any cause, restarts
    /// included).
    pub fn service_stops(&self, name: &str) -> usize {
        self.counter(name, |s| s.stops)
    }

    /// How often a running service was restarted, by `restart` or by `replan` after its
    /// definition changed.
    pub fn service_restarts(&self, name: &str) -> usize {
        self.counter(name, |s| s.restarts)
    }

    fn counter(&self, name: &str, get: impl Fn(&FakeService) -> usize) -> usize {
        self.state.borrow().services.get(name).map(get).unwrap_or(0)
    }

    /// Sets what `checks` reports for a check: `status` (`up`, `down`, `inactive`) and
    /// its failure count.
    pub fn set_check(&self, name: &str, status: &str, failures: u32) {
        self.state
            .borrow_mut()
            .check_overrides
            .insert(name.to_owned(), (status.to_owned(), failures));
    }

    /// Records a notice (a repeat of the same type and key counts another occurrence)
    /// and returns its id.
    pub fn add_notice(&self, r#type: &str, key: &str, data: BTreeMap<String, String>) -> String {
        let mut state = self.state.borrow_mut();
        let next_id = (state.notices.len() + 1).to_string();
        if let Some(notice) = state
            .notices
            .iter_mut()
            .find(|n| n.r#type == r#type && n.key == key)
        {
            notice.occurrences += 1;
            notice.last_data = data;
            return notice.id.clone();
        }
        state.notices.push(Notice {
            id: next_id.clone(),
            r#type: r#type.to_owned(),
            key: key.to_owned(),
            occurrences: 1,
            last_data: data,
        });
        next_id
    }

    /// Handles every exec whose command starts with `prefix` (the longest registered
    /// prefix wins). The handler's `command` field is filled in from the request.
    pub fn on_exec<S: Into<String>>(
        &self,
        prefix: impl IntoIterator<Item = S>,
        handler: impl Fn(&ExecRequest) -> Result<ExecOutput, PebbleError> + 'static,
    ) {
        let prefix: Vec<String> = prefix.into_iter().map(Into::into).collect();
        let mut state = self.state.borrow_mut();
        state.exec_handlers.retain(|(p, _)| *p != prefix);
        state.exec_handlers.push((prefix, Rc::new(handler)));
    }

    /// Every exec request received, in order.
    pub fn exec_requests(&self) -> Vec<ExecRequest> {
        self.state.borrow().exec_requests.clone()
    }

    /// Every call received, in order.
    pub fn calls(&self) -> Vec<PebbleCall> {
        self.state.borrow().calls.clone()
    }

    /// Forgets the calls received so far (e.g. between two events of a test).
    pub fn clear_calls(&self) {
        self.state.borrow_mut().calls.clear();
    }

    /// Makes every push fail as Pebble does when the disk is full (the call is logged),
    /// or succeed again.
    pub fn set_failing_pushes(&self, failing: bool) {
        self.state.borrow_mut().failing_pushes = failing;
    }

    /// Makes every service change (start, stop, restart, replan) fail as a Pebble change
    /// whose task failed does, leaving the services as they were (the call is logged), or
    /// succeed again.
    pub fn set_failing_changes(&self, failing: bool) {
        self.state.borrow_mut().failing_changes = failing;
    }

    /// Logs a service change, or fails it in cannot-connect or failing-changes mode.
    fn enter_change(
        &self,
        call: PebbleCall,
        what: &str,
    ) -> Result<std::cell::RefMut<'_, FakeState>, PebbleError> {
        let state = self.enter(call)?;
        if state.failing_changes {
            return Err(PebbleError::Api {
                status: 500,
                kind: String::new(),
                message: format!(
                    "cannot perform the following tasks:\n- {what} (FakePebble in failing-changes mode)"
                ),
            });
        }
        Ok(state)
    }

    /// Logs the call, or fails it in cannot-connect mode.
    fn enter(&self, call: PebbleCall) -> Result<std::cell::RefMut<'_, FakeState>, PebbleError> {
        let mut state = self.state.borrow_mut();
        if let Some(socket) = &state.cannot_connect {
            return Err(PebbleError::CannotConnect {
                socket: socket.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no Pebble listening (FakePebble in cannot-connect mode)",
                ),
            });
        }
        state.calls.push(call);
        Ok(state)
    }
}

fn names_vec(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

impl Pebble for FakePebble {
    fn system_info(&self) -> Result<SystemInfo, PebbleError> {
        let state = self.enter(PebbleCall::SystemInfo)?;
        Ok(SystemInfo {
            version: state.version.clone(),
            boot_id: "fake-boot-id".into(),
        })
    }

    fn plan(&self) -> Result<Plan, PebbleError> {
        Ok(self.enter(PebbleCall::Plan)?.plan.clone())
    }

    fn add_layer(&self, label: &str, layer: &Layer, combine: bool) -> Result<(), PebbleError> {
        let mut state = self.enter(PebbleCall::AddLayer {
            label: label.to_owned(),
            combine,
        })?;
        if label.is_empty() {
            return Err(bad_request("label must be set"));
        }
        let layer = layer.clone();
        validate_layer(label, &layer)?;
        let mut layers = state.layers.clone();
        match layers.iter().position(|(l, _)| l == label) {
            Some(index) if combine => {
                let combined = combine_layers(&[layers[index].clone(), (label.to_owned(), layer)])?;
                layers[index].1 = combined;
            }
            Some(_) => return Err(bad_request(format!("layer {label:?} already exists"))),
            None => layers.push((label.to_owned(), layer)),
        }
        let mut plan = combine_layers(&layers)?;
        validate_plan(&plan)?;
        // The plan has no summary or description of its own.
        plan.summary.clear();
        plan.description.clear();
        state.layers = layers;
        state.plan = plan;
        Ok(())
    }

    fn services(&self, names: &[&str]) -> Result<Vec<ServiceInfo>, PebbleError> {
        let state = self.enter(PebbleCall::Services(names_vec(names)))?;
        Ok(state
            .plan
            .services
            .iter()
            .filter(|(name, _)| names.is_empty() || names.contains(&name.as_str()))
            .map(|(name, service)| ServiceInfo {
                name: name.clone(),
                startup: service.startup.clone().unwrap_or(ServiceStartup::Disabled),
                current: state.current(name).into(),
            })
            .collect())
    }

    fn start(&self, names: &[&str]) -> Result<(), PebbleError> {
        self.enter_change(PebbleCall::Start(names_vec(names)), "Start services")?
            .start_services("start", names)
    }

    fn stop(&self, names: &[&str]) -> Result<(), PebbleError> {
        self.enter_change(PebbleCall::Stop(names_vec(names)), "Stop services")?
            .stop_services("stop", names)
    }

    fn restart(&self, names: &[&str]) -> Result<(), PebbleError> {
        let mut state =
            self.enter_change(PebbleCall::Restart(names_vec(names)), "Restart services")?;
        // Like Pebble: stop the named services (only those), then start them with
        // their requirements.
        let stop = state.stop_order("restart", names)?;
        let start = state.start_order("restart", names)?;
        let mut restarted = BTreeSet::new();
        for name in stop.iter().filter(|n| names.contains(&n.as_str())) {
            if state.stop_service(name) {
                restarted.insert(name.clone());
            }
        }
        for name in start {
            state.start_service(&name);
        }
        for name in restarted {
            state.services.entry(name).or_default().restarts += 1;
        }
        Ok(())
    }

    fn replan(&self) -> Result<(), PebbleError> {
        let mut state = self.enter_change(PebbleCall::Replan, "Replan")?;
        let mut restart = Vec::new();
        for (name, service) in &state.services {
            let Some(started_with) = &service.started_with else {
                continue;
            };
            if state.plan.services.get(name) != Some(started_with) {
                restart.push(name.clone());
            }
        }
        let mut restarted = Vec::new();
        for name in &restart {
            if state.stop_service(name) {
                restarted.push(name.clone());
            }
        }
        let start: Vec<String> = state
            .plan
            .services
            .iter()
            .filter(|(name, s)| {
                s.startup == Some(ServiceStartup::Enabled) || restart.contains(name)
            })
            .map(|(name, _)| name.clone())
            .collect();
        let start_refs: Vec<&str> = start.iter().map(String::as_str).collect();
        if !start_refs.is_empty() {
            for name in state.start_order("replan", &start_refs)? {
                state.start_service(&name);
            }
        }
        for name in restarted {
            if state.current(&name) == "active" {
                state.services.entry(name).or_default().restarts += 1;
            }
        }
        Ok(())
    }

    fn push(&self, path: &str, content: &[u8], options: &PushOptions) -> Result<(), PebbleError> {
        let mut state = self.enter(PebbleCall::Push {
            path: path.to_owned(),
        })?;
        if state.failing_pushes {
            return Err(PebbleError::Api {
                status: 500,
                kind: String::new(),
                message: format!("write {path}: no space left on device"),
            });
        }
        state.write_file(path, content.to_vec(), options)
    }

    fn pull(&self, path: &str) -> Result<Vec<u8>, PebbleError> {
        let state = self.enter(PebbleCall::Pull {
            path: path.to_owned(),
        })?;
        require_absolute(path)?;
        match state.files.get(path) {
            Some(Entry::File { content, .. }) => Ok(content.clone()),
            Some(Entry::Dir { .. }) => Err(file_error(format!(
                "can only read a regular file: {path:?}"
            ))),
            None => Err(not_found(format!("stat {path}: no such file or directory"))),
        }
    }

    fn list_files(
        &self,
        path: &str,
        pattern: Option<&str>,
        itself: bool,
    ) -> Result<Vec<FileInfo>, PebbleError> {
        let state = self.enter(PebbleCall::ListFiles {
            path: path.to_owned(),
        })?;
        if !path.starts_with('/') {
            return Err(bad_request(format!("path must be absolute, got {path:?}")));
        }
        let path = normalize(path);
        let entry = state
            .files
            .get(&path)
            .ok_or_else(|| not_found(format!("stat {path}: no such file or directory")))?;
        let matches = |name: &str| pattern.is_none_or(|p| glob_match(p, name));
        let mut result = Vec::new();
        if itself || matches!(entry, Entry::File { .. }) {
            if matches(basename(&path)) {
                result.push(file_info(&path, entry));
            }
        } else {
            for (child, entry) in state.children(&path) {
                if matches(basename(child)) {
                    result.push(file_info(child, entry));
                }
            }
        }
        Ok(result)
    }

    fn make_dir(&self, path: &str, options: &PushOptions) -> Result<(), PebbleError> {
        let mut state = self.enter(PebbleCall::MakeDir {
            path: path.to_owned(),
        })?;
        state.make_dir(path, options)
    }

    fn remove_path(&self, path: &str, recursive: bool) -> Result<(), PebbleError> {
        let mut state = self.enter(PebbleCall::RemovePath {
            path: path.to_owned(),
            recursive,
        })?;
        require_absolute(path)?;
        let path = normalize(path);
        if !state.files.contains_key(&path) {
            return if recursive {
                Ok(())
            } else {
                Err(not_found(format!(
                    "remove {path}: no such file or directory"
                )))
            };
        }
        let descendants: Vec<String> = state
            .files
            .keys()
            .filter(|p| is_descendant(p, &path))
            .cloned()
            .collect();
        if !descendants.is_empty() && !recursive {
            return Err(file_error(format!("remove {path}: directory not empty")));
        }
        for p in descendants {
            state.files.remove(&p);
        }
        if path != "/" {
            state.files.remove(&path);
        }
        Ok(())
    }

    fn checks(&self, names: &[&str]) -> Result<Vec<CheckInfo>, PebbleError> {
        let state = self.enter(PebbleCall::Checks(names_vec(names)))?;
        Ok(state
            .plan
            .checks
            .iter()
            .filter(|(name, _)| names.is_empty() || names.contains(&name.as_str()))
            .map(|(name, check)| {
                let default_status = if check.startup == Some(CheckStartup::Disabled) {
                    "inactive"
                } else {
                    "up"
                };
                let (status, failures) = state
                    .check_overrides
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| (default_status.to_owned(), 0));
                CheckInfo {
                    name: name.clone(),
                    level: check.level.clone(),
                    status: status.into(),
                    failures,
                    threshold: check.threshold.unwrap_or(DEFAULT_CHECK_THRESHOLD),
                }
            })
            .collect())
    }

    fn notices(&self, query: &NoticesQuery) -> Result<Vec<Notice>, PebbleError> {
        let state = self.enter(PebbleCall::Notices)?;
        Ok(state
            .notices
            .iter()
            .filter(|n| query.types.is_empty() || query.types.contains(&n.r#type))
            .filter(|n| query.keys.is_empty() || query.keys.contains(&n.key))
            .cloned()
            .collect())
    }

    fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, PebbleError> {
        // The handler may call back into this fake, so release the state first.
        let handler = {
            let mut state = self.enter(PebbleCall::Exec {
                command: request.command.clone(),
            })?;
            let Some(program) = request.command.first() else {
                return Err(bad_request("must specify command"));
            };
            state.exec_requests.push(request.clone());
            let handler = state
                .exec_handlers
                .iter()
                .filter(|(prefix, _)| request.command.starts_with(prefix))
                .max_by_key(|(prefix, _)| prefix.len())
                .map(|(_, handler)| handler.clone());
            handler.ok_or_else(|| bad_request(format!("cannot find executable {program:?}")))?
        };
        let mut output = handler(request)?;
        output.command = request.command.clone();
        Ok(output)
    }
}

/// The connector hands out a shared fake, so the test sees what the charm did.
struct SharedFake(Rc<FakePebble>);

impl std::ops::Deref for SharedFake {
    type Target = FakePebble;
    fn deref(&self) -> &FakePebble {
        &self.0
    }
}

impl Pebble for SharedFake {
    fn system_info(&self) -> Result<SystemInfo, PebbleError> {
        (**self).system_info()
    }
    fn plan(&self) -> Result<Plan, PebbleError> {
        (**self).plan()
    }
    fn add_layer(&self, label: &str, layer: &Layer, combine: bool) -> Result<(), PebbleError> {
        (**self).add_layer(label, layer, combine)
    }
    fn services(&self, names: &[&str]) -> Result<Vec<ServiceInfo>, PebbleError> {
        (**self).services(names)
    }
    fn start(&self, names: &[&str]) -> Result<(), PebbleError> {
        (**self).start(names)
    }
    fn stop(&self, names: &[&str]) -> Result<(), PebbleError> {
        (**self).stop(names)
    }
    fn restart(&self, names: &[&str]) -> Result<(), PebbleError> {
        (**self).restart(names)
    }
    fn replan(&self) -> Result<(), PebbleError> {
        (**self).replan()
    }
    fn push(&self, path: &str, content: &[u8], options: &PushOptions) -> Result<(), PebbleError> {
        (**self).push(path, content, options)
    }
    fn pull(&self, path: &str) -> Result<Vec<u8>, PebbleError> {
        (**self).pull(path)
    }
    fn list_files(
        &self,
        path: &str,
        pattern: Option<&str>,
        itself: bool,
    ) -> Result<Vec<FileInfo>, PebbleError> {
        (**self).list_files(path, pattern, itself)
    }
    fn make_dir(&self, path: &str, options: &PushOptions) -> Result<(), PebbleError> {
        (**self).make_dir(path, options)
    }
    fn remove_path(&self, path: &str, recursive: bool) -> Result<(), PebbleError> {
        (**self).remove_path(path, recursive)
    }
    fn checks(&self, names: &[&str]) -> Result<Vec<CheckInfo>, PebbleError> {
        (**self).checks(names)
    }
    fn notices(&self, query: &NoticesQuery) -> Result<Vec<Notice>, PebbleError> {
        (**self).notices(query)
    }
    fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, PebbleError> {
        (**self).exec(request)
    }
}

/// A [`PebbleConnector`] over shared [`FakePebble`]s, one per container name. A
/// container without a fake behaves like one whose Pebble is not up (every call fails
/// with [`PebbleError::CannotConnect`]).
///
/// ```
/// use juju_rs_ops::context::PebbleConnector;
/// use juju_rs_ops_testing::FakePebbleConnector;
///
/// let connector = FakePebbleConnector::new();
/// let kratos = connector.add("kratos");
/// let pebble = connector.connect("kratos");
/// pebble.system_info().unwrap();
/// assert_eq!(kratos.calls().len(), 1);
/// assert!(connector.connect("other").system_info().is_err());
/// ```
#[derive(Debug, Clone, Default)]
pub struct FakePebbleConnector {
    containers: Rc<RefCell<BTreeMap<String, Rc<FakePebble>>>>,
}

impl FakePebbleConnector {
    /// A connector with no containers.
    pub fn new() -> FakePebbleConnector {
        FakePebbleConnector::default()
    }

    /// The fake for `container`, created empty if there is none yet.
    pub fn add(&self, container: &str) -> Rc<FakePebble> {
        self.containers
            .borrow_mut()
            .entry(container.to_owned())
            .or_insert_with(|| Rc::new(FakePebble::new()))
            .clone()
    }

    /// Uses `fake` for `container`.
    pub fn insert(&self, container: &str, fake: Rc<FakePebble>) {
        self.containers
            .borrow_mut()
            .insert(container.to_owned(), fake);
    }

    /// The fake for `container`, if any.
    pub fn get(&self, container: &str) -> Option<Rc<FakePebble>> {
        self.containers.borrow().get(container).cloned()
    }
}

impl PebbleConnector for FakePebbleConnector {
    fn connect(&self, container: &str) -> Box<dyn Pebble> {
        match self.get(container) {
            Some(fake) => Box::new(SharedFake(fake)),
            None => Box::new(FakePebble::unreachable(format!(
                "/charm/containers/{container}/pebble.socket"
            ))),
        }
    }
}

impl FakeState {
    fn current(&self, name: &str) -> String {
        self.services
            .get(name)
            .map(|s| s.current.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "inactive".into())
    }

    /// Marks a service running with its current definition; false if it already ran.
    fn start_service(&mut self, name: &str) -> bool {
        let config = self.plan.services.get(name).cloned();
        let service = self.services.entry(name.to_owned()).or_default();
        if service.current == "active" {
            return false;
        }
        service.current = "active".into();
        service.started_with = config;
        service.starts += 1;
        true
    }

    /// Marks a service stopped; false if it was not running.
    fn stop_service(&mut self, name: &str) -> bool {
        match self.services.get_mut(name) {
            Some(service) if service.current == "active" => {
                service.current = "inactive".into();
                service.stops += 1;
                true
            }
            _ => false,
        }
    }

    /// Starts `names` and what they require.
    fn start_services(&mut self, action: &str, names: &[&str]) -> Result<(), PebbleError> {
        for name in self.start_order(action, names)? {
            self.start_service(&name);
        }
        Ok(())
    }

    /// Stops `names` and what requires them.
    fn stop_services(&mut self, action: &str, names: &[&str]) -> Result<(), PebbleError> {
        for name in self.stop_order(action, names)? {
            self.stop_service(&name);
        }
        Ok(())
    }

    /// The services to start for `names`: the names and, transitively, what they
    /// `require`.
    fn start_order(&self, action: &str, names: &[&str]) -> Result<Vec<String>, PebbleError> {
        self.closure(action, names, |name| {
            self.plan.services[name].requires.clone()
        })
    }

    /// The services to stop for `names`: the names and, transitively, the services
    /// that require them.
    fn stop_order(&self, action: &str, names: &[&str]) -> Result<Vec<String>, PebbleError> {
        self.closure(action, names, |name| {
            self.plan
                .services
                .iter()
                .filter(|(_, service)| service.requires.iter().any(|r| r == name))
                .map(|(dependant, _)| dependant.clone())
                .collect()
        })
    }

    /// `names` and, transitively, the services `next` names for each; fails as Pebble
    /// does when `names` is empty or names a service the plan lacks.
    fn closure(
        &self,
        action: &str,
        names: &[&str],
        next: impl Fn(&str) -> Vec<String>,
    ) -> Result<Vec<String>, PebbleError> {
        if names.is_empty() {
            return Err(bad_request(format!(
                "must specify services for {action} action"
            )));
        }
        let mut order: Vec<String> = Vec::new();
        let mut pending: Vec<String> = names_vec(names);
        while let Some(name) = pending.pop() {
            if order.contains(&name) {
                continue;
            }
            if !self.plan.services.contains_key(&name) {
                return Err(bad_request(format!(
                    "cannot {action} services: service {name:?} does not exist"
                )));
            }
            pending.extend(next(&name));
            order.push(name);
        }
        Ok(order)
    }

    fn write_file(
        &mut self,
        path: &str,
        content: Vec<u8>,
        options: &PushOptions,
    ) -> Result<(), PebbleError> {
        require_absolute(path)?;
        let path = normalize(path);
        let parent = parent(&path);
        if options.make_dirs {
            // Parents get 0755 (and the file's owner), whatever the file's permissions.
            let parents = PushOptions {
                permissions: Some(0o755),
                ..options.clone()
            };
            self.make_dir_all(parent, &parents)
                .map_err(|e| prefix_message(e, "cannot create directory: "))?;
        }
        match self.files.get(parent) {
            Some(Entry::Dir { .. }) => {}
            Some(Entry::File { .. }) => {
                return Err(file_error(format!("open {path}: not a directory")))
            }
            None => return Err(not_found(format!("open {path}: no such file or directory"))),
        }
        if let Some(Entry::Dir { .. }) = self.files.get(&path) {
            return Err(file_error(format!("rename {path}: file exists")));
        }
        self.files.insert(
            path,
            Entry::File {
                content,
                permissions: options.permissions.unwrap_or(0o644),
                user: options.user.clone(),
                group: options.group.clone(),
            },
        );
        Ok(())
    }

    fn make_dir(&mut self, path: &str, options: &PushOptions) -> Result<(), PebbleError> {
        require_absolute(path)?;
        let path = normalize(path);
        if options.make_dirs {
            return self.make_dir_all(&path, options);
        }
        if self.files.contains_key(&path) {
            return Err(file_error(format!("mkdir {path}: file exists")));
        }
        // Pebble creates `<path>.mkdir-new` and renames it, and its errors say so.
        match self.files.get(parent(&path)) {
            Some(Entry::Dir { .. }) => {}
            Some(Entry::File { .. }) => {
                return Err(file_error(format!(
                    "mkdir {path}.mkdir-new: not a directory"
                )))
            }
            None => {
                return Err(not_found(format!(
                    "mkdir {path}.mkdir-new: no such file or directory"
                )))
            }
        }
        self.files.insert(
            path,
            dir_entry(options.permissions.unwrap_or(0o755), options),
        );
        Ok(())
    }

    /// `mkdir -p`: existing directories are fine, a file in the way is not.
    fn make_dir_all(&mut self, path: &str, options: &PushOptions) -> Result<(), PebbleError> {
        let mut current = String::new();
        for component in path.split('/').filter(|c| !c.is_empty()) {
            current.push('/');
            current.push_str(component);
            match self.files.get(&current) {
                Some(Entry::Dir { .. }) => {}
                Some(Entry::File { .. }) => {
                    return Err(file_error(format!("mkdir {current}: not a directory")))
                }
                None => {
                    self.files.insert(
                        current.clone(),
                        dir_entry(options.permissions.unwrap_or(0o755), options),
                    );
                }
            }
        }
        Ok(())
    }

    /// The direct children of a directory, sorted by path.
    fn children<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = (&'a String, &'a Entry)> {
        self.files
            .iter()
            .filter(move |(p, _)| p.as_str() != "/" && parent(p) == dir)
    }
}

fn dir_entry(permissions: u32, options: &PushOptions) -> Entry {
    Entry::Dir {
        permissions,
        user: options.user.clone(),
        group: options.group.clone(),
    }
}

fn file_info(path: &str, entry: &Entry) -> FileInfo {
    let (kind, size, permissions, user, group) = match entry {
        Entry::File {
            content,
            permissions,
            user,
            group,
        } => ("file", Some(content.len() as u64), permissions, user, group),
        Entry::Dir {
            permissions,
            user,
            group,
        } => ("directory", None, permissions, user, group),
    };
    FileInfo {
        path: path.to_owned(),
        name: basename(path).to_owned(),
        r#type: kind.to_owned(),
        size,
        permissions: format!("{permissions:03o}"),
        user: Some(user.clone().unwrap_or_else(|| "root".into())),
        group: Some(group.clone().unwrap_or_else(|| "root".into())),
    }
}

/// Drops a trailing slash (but keeps `/`).
fn normalize(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        trimmed.to_owned()
    }
}

fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(index) => &path[..index],
    }
}

fn basename(path: &str) -> &str {
    if path == "/" {
        return "/";
    }
    path.rsplit('/').next().unwrap_or(path)
}

fn is_descendant(path: &str, dir: &str) -> bool {
    if dir == "/" {
        return path != "/";
    }
    path.len() > dir.len() && path.starts_with(dir) && path.as_bytes()[dir.len()] == b'/'
}

fn require_absolute(path: &str) -> Result<(), PebbleError> {
    if path.starts_with('/') {
        Ok(())
    } else {
        Err(file_error(format!("paths must be absolute, got {path:?}")))
    }
}

/// Pebble's `BadRequest` (HTTP 400, no kind).
fn bad_request(message: impl Into<String>) -> PebbleError {
    PebbleError::Api {
        status: 400,
        kind: String::new(),
        message: message.into(),
    }
}

fn not_found(message: String) -> PebbleError {
    PebbleError::Api {
        status: 404,
        kind: "not-found".into(),
        message,
    }
}

fn file_error(message: String) -> PebbleError {
    PebbleError::Api {
        status: 400,
        kind: "generic-file-error".into(),
        message,
    }
}

fn prefix_message(error: PebbleError, prefix: &str) -> PebbleError {
    match error {
        PebbleError::Api {
            status,
            kind,
            message,
        } => PebbleError::Api {
            status,
            kind,
            message: format!("{prefix}{message}"),
        },
        other => other,
    }
}

/// Pebble's `Layer.Validate`, for what a charm can get wrong.
fn validate_layer(label: &str, layer: &Layer) -> Result<(), PebbleError> {
    let format_error = |m: String| bad_request(format!("cannot parse layer YAML: {m}"));
    if label.starts_with("pebble-") {
        return Err(format_error(
            r#"cannot use reserved label prefix "pebble-""#.into(),
        ));
    }
    for (name, service) in &layer.services {
        if name.is_empty() {
            return Err(format_error(
                "cannot use empty string as service name".into(),
            ));
        }
        if name == "pebble" {
            return Err(format_error(format!(
                "cannot use reserved service name {name:?}"
            )));
        }
        if name.starts_with('-') {
            return Err(format_error(format!(
                r#"cannot use service name {name:?}: starting with "-" not allowed"#
            )));
        }
        // on-success may also be failure-shutdown, on-failure also success-shutdown.
        for (field, action, extra) in [
            ("on-success", &service.on_success, "failure-shutdown"),
            ("on-failure", &service.on_failure, "success-shutdown"),
        ] {
            if !matches!(action.as_str(), "" | "restart" | "shutdown" | "ignore") && action != extra
            {
                return Err(format_error(format!(
                    "plan service {name:?} {field} action {action:?} invalid"
                )));
            }
        }
    }
    for (name, check) in &layer.checks {
        if name.is_empty() {
            return Err(format_error("cannot use empty string as check name".into()));
        }
        if matches!(&check.level, Some(CheckLevel::Unknown(l)) if !l.is_empty()) {
            return Err(format_error(format!(
                r#"plan check {name:?} level must be "alive" or "ready""#
            )));
        }
        if matches!(&check.startup, Some(CheckStartup::Unknown(s)) if !s.is_empty()) {
            return Err(format_error(format!(
                r#"plan check {name:?} startup must be "enabled" or "disabled""#
            )));
        }
    }
    for (name, target) in &layer.log_targets {
        if !matches!(
            target.r#type.as_str(),
            "" | "loki" | "opentelemetry" | "syslog"
        ) {
            return Err(format_error(format!(
                r#"log target {name:?} has unsupported type {:?}, must be "loki", "opentelemetry" or "syslog""#,
                target.r#type
            )));
        }
    }
    Ok(())
}

/// Pebble's `Plan.Validate`, for what a charm can get wrong.
fn validate_plan(plan: &Plan) -> Result<(), PebbleError> {
    for (name, service) in &plan.services {
        if service.command.is_empty() {
            return Err(bad_request(format!(
                r#"plan must define "command" for service {name:?}"#
            )));
        }
        // Pebble's cycle check walks `requires` and fails on a missing service;
        // `after`/`before` may name services that do not exist.
        for other in &service.requires {
            if !plan.services.contains_key(other) {
                return Err(bad_request(format!("service {other:?} does not exist")));
            }
        }
    }
    for (name, check) in &plan.checks {
        let kinds = usize::from(check.http.is_some())
            + usize::from(check.tcp.is_some())
            + usize::from(check.exec.is_some());
        if kinds != 1 {
            return Err(bad_request(format!(
                r#"plan must specify one of "http", "tcp", or "exec" for check {name:?}"#
            )));
        }
        if check.http.as_ref().is_some_and(|h| h.url.is_empty()) {
            return Err(bad_request(format!(
                r#"plan must set "url" for http check {name:?}"#
            )));
        }
        if check.tcp.as_ref().is_some_and(|t| t.port == 0) {
            return Err(bad_request(format!(
                r#"plan must set "port" for tcp check {name:?}"#
            )));
        }
        if check.exec.as_ref().is_some_and(|e| e.command.is_empty()) {
            return Err(bad_request(format!(
                r#"plan must set "command" for exec check {name:?}"#
            )));
        }
    }
    for (name, target) in &plan.log_targets {
        if target.r#type.is_empty() {
            return Err(bad_request(format!(
                r#"plan must define "type" ("loki", "opentelemetry" or "syslog") for log target {name:?}"#
            )));
        }
        if target.location.is_empty() {
            return Err(bad_request(format!(
                r#"plan must define "location" for log target {name:?}"#
            )));
        }
    }
    Ok(())
}

/// Combines layers, later ones overriding earlier ones, like Pebble's
/// `plan.CombineLayers` (including its defaults: checks get `threshold: 3`).
///
/// ```
/// use juju_rs_ops::pebble::{Layer, Service, ServiceStartup};
/// use juju_rs_ops_testing::combine_layers;
///
/// let service = |command: &str, over: &str| Service {
///     command: command.into(),
///     r#override: over.into(),
///     ..Service::default()
/// };
/// let mut base = Layer::default();
/// base.services.insert("web".into(), Service { startup: Some(ServiceStartup::Enabled), ..service("web --port 80", "replace") });
/// let mut patch = Layer::default();
/// patch.services.insert("web".into(), service("web --port 8080", "merge"));
/// let plan = combine_layers(&[("base".into(), base), ("patch".into(), patch)]).unwrap();
/// assert_eq!(plan.services["web"].command, "web --port 8080");
/// assert_eq!(plan.services["web"].startup, Some(ServiceStartup::Enabled));
/// ```
pub fn combine_layers(layers: &[(String, Layer)]) -> Result<Layer, PebbleError> {
    let mut combined = Layer::default();
    if let Some((_, last)) = layers.last() {
        combined.summary = last.summary.clone();
        combined.description = last.description.clone();
    }
    for (label, layer) in layers {
        for (name, service) in &layer.services {
            combine_entry(
                &mut combined.services,
                name,
                service,
                &service.r#override,
                label,
                "service",
                merge_service,
            )?;
        }
        for (name, check) in &layer.checks {
            combine_entry(
                &mut combined.checks,
                name,
                check,
                &check.r#override,
                label,
                "check",
                merge_check,
            )?;
        }
        for (name, target) in &layer.log_targets {
            combine_entry(
                &mut combined.log_targets,
                name,
                target,
                &target.r#override,
                label,
                "log target",
                merge_log_target,
            )?;
        }
    }
    for check in combined.checks.values_mut() {
        if check.threshold.unwrap_or(0) == 0 {
            check.threshold = Some(DEFAULT_CHECK_THRESHOLD);
        }
    }
    Ok(combined)
}

fn combine_entry<T: Clone>(
    combined: &mut BTreeMap<String, T>,
    name: &str,
    entry: &T,
    override_: &str,
    label: &str,
    what: &str,
    merge: fn(&mut T, &T),
) -> Result<(), PebbleError> {
    match override_ {
        "merge" => match combined.get_mut(name) {
            Some(old) => merge(old, entry),
            None => {
                combined.insert(name.to_owned(), entry.clone());
            }
        },
        "replace" => {
            combined.insert(name.to_owned(), entry.clone());
        }
        "" => {
            return Err(bad_request(format!(
                r#"layer {label:?} must define "override" for {what} {name:?}"#
            )))
        }
        _ => {
            return Err(bad_request(format!(
                r#"layer {label:?} has invalid "override" value for {what} {name:?}"#
            )))
        }
    }
    Ok(())
}

fn set_if_given(target: &mut String, value: &str) {
    if !value.is_empty() {
        value.clone_into(target);
    }
}

fn set_option_if_given<T: Clone>(target: &mut Option<T>, value: &Option<T>) {
    if value.is_some() {
        target.clone_from(value);
    }
}

/// Pebble's `Service.Merge`.
fn merge_service(s: &mut Service, other: &Service) {
    set_if_given(&mut s.summary, &other.summary);
    set_if_given(&mut s.description, &other.description);
    set_option_if_given(&mut s.startup, &other.startup);
    set_if_given(&mut s.command, &other.command);
    set_if_given(&mut s.kill_delay, &other.kill_delay);
    set_if_given(&mut s.user, &other.user);
    set_if_given(&mut s.group, &other.group);
    set_if_given(&mut s.working_dir, &other.working_dir);
    s.after.extend(other.after.iter().cloned());
    s.before.extend(other.before.iter().cloned());
    s.requires.extend(other.requires.iter().cloned());
    s.environment.extend(
        other
            .environment
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    set_if_given(&mut s.on_success, &other.on_success);
    set_if_given(&mut s.on_failure, &other.on_failure);
    s.on_check_failure.extend(
        other
            .on_check_failure
            .iter()
            .map(|(k, v)| (k.clone(), v.clone())),
    );
    set_if_given(&mut s.backoff_delay, &other.backoff_delay);
}

/// Pebble's `Check.Merge`.
fn merge_check(c: &mut Check, other: &Check) {
    set_option_if_given(&mut c.level, &other.level);
    set_option_if_given(&mut c.startup, &other.startup);
    set_if_given(&mut c.period, &other.period);
    set_if_given(&mut c.timeout, &other.timeout);
    if other.threshold.unwrap_or(0) != 0 {
        c.threshold = other.threshold;
    }
    if let Some(http) = &other.http {
        let mine = c.http.get_or_insert_with(Default::default);
        set_if_given(&mut mine.url, &http.url);
        mine.headers
            .extend(http.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(tcp) = &other.tcp {
        let mine = c.tcp.get_or_insert_with(Default::default);
        if tcp.port != 0 {
            mine.port = tcp.port;
        }
        set_if_given(&mut mine.host, &tcp.host);
    }
    if let Some(exec) = &other.exec {
        let mine = c.exec.get_or_insert_with(Default::default);
        set_if_given(&mut mine.command, &exec.command);
        mine.environment
            .extend(exec.environment.iter().map(|(k, v)| (k.clone(), v.clone())));
        set_if_given(&mut mine.working_dir, &exec.working_dir);
    }
}

/// Pebble's `LogTarget.Merge`.
fn merge_log_target(t: &mut LogTarget, other: &LogTarget) {
    set_if_given(&mut t.r#type, &other.r#type);
    set_if_given(&mut t.location, &other.location);
    t.services.extend(other.services.iter().cloned());
    t.labels
        .extend(other.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
}

/// Go's `path.Match` for one path element: `*`, `?`, `[...]` classes (with ranges and
/// `^` negation) and `\` escapes. A malformed pattern matches nothing.
fn glob_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    glob_at(&pattern, &name)
}

fn glob_at(pattern: &[char], name: &[char]) -> bool {
    let Some((&first, rest)) = pattern.split_first() else {
        return name.is_empty();
    };
    match first {
        '*' => (0..=name.len())
            .take_while(|&i| i == 0 || name[i - 1] != '/')
            .any(|i| glob_at(rest, &name[i..])),
        '?' => matches!(name.split_first(), Some((&c, tail)) if c != '/' && glob_at(rest, tail)),
        '[' => {
            let Some((&c, tail)) = name.split_first() else {
                return false;
            };
            match class_match(rest, c) {
                Some((matched, after)) => matched && glob_at(after, tail),
                None => false,
            }
        }
        '\\' => match (rest.split_first(), name.split_first()) {
            (Some((&p, prest)), Some((&c, tail))) => p == c && glob_at(prest, tail),
            _ => false,
        },
        literal => {
            matches!(name.split_first(), Some((&c, tail)) if c == literal && glob_at(rest, tail))
        }
    }
}

/// Matches `c` against a class starting just after `[`; returns whether it matched
/// and the pattern after `]`, or `None` if the class is malformed.
fn class_match(pattern: &[char], c: char) -> Option<(bool, &[char])> {
    let (negated, mut rest) = match pattern.split_first() {
        Some(('^', tail)) => (true, tail),
        _ => (false, pattern),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        let (&start, tail) = rest.split_first()?;
        if start == ']' && !first {
            return Some((matched != negated, tail));
        }
        first = false;
        let (start, tail) = if start == '\\' {
            let (&escaped, tail) = tail.split_first()?;
            (escaped, tail)
        } else {
            (start, tail)
        };
        rest = tail;
        let mut end = start;
        if let Some(('-', tail)) = rest.split_first() {
            if let Some((&e, tail2)) = tail.split_first() {
                if e != ']' {
                    end = e;
                    rest = tail2;
                }
            }
        }
        if start <= c && c <= end {
            matched = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use juju_rs_ops::pebble::{ExecCheck, HttpCheck};

    fn service(over: &str, command: &str) -> Service {
        Service {
            r#override: over.into(),
            command: command.into(),
            ..Service::default()
        }
    }

    fn layer_with(name: &str, service: Service) -> Layer {
        let mut layer = Layer::default();
        layer.services.insert(name.into(), service);
        layer
    }

    fn labelled(layers: Vec<Layer>) -> Vec<(String, Layer)> {
        layers
            .into_iter()
            .enumerate()
            .map(|(i, l)| (format!("l{i}"), l))
            .collect()
    }

    #[test]
    fn merge_overwrites_set_fields_appends_lists_and_merges_maps() {
        let mut base = service("replace", "kratos serve");
        base.startup = Some(ServiceStartup::Enabled);
        base.after = vec!["db".into()];
        base.environment.insert("A".into(), "1".into());
        base.environment.insert("B".into(), "1".into());
        let mut patch = service("merge", "");
        patch.after = vec!["cache".into()];
        patch.environment.insert("B".into(), "2".into());
        patch.summary = "patched".into();

        let plan = combine_layers(&labelled(vec![
            layer_with("kratos", base),
            layer_with("kratos", patch),
        ]))
        .unwrap();
        let kratos = &plan.services["kratos"];
        assert_eq!(
            kratos.command, "kratos serve",
            "an unset command keeps the old one"
        );
        assert_eq!(kratos.startup, Some(ServiceStartup::Enabled));
        assert_eq!(kratos.summary, "patched");
        assert_eq!(kratos.after, vec!["db".to_string(), "cache".to_string()]);
        assert_eq!(kratos.environment["A"], "1");
        assert_eq!(kratos.environment["B"], "2");
        assert_eq!(
            kratos.r#override, "replace",
            "merge keeps the first override"
        );
    }

    #[test]
    fn replace_drops_everything_the_earlier_layer_said() {
        let mut base = service("replace", "old");
        base.environment.insert("A".into(), "1".into());
        base.startup = Some(ServiceStartup::Enabled);
        let plan = combine_layers(&labelled(vec![
            layer_with("s", base),
            layer_with("s", service("replace", "new")),
        ]))
        .unwrap();
        assert_eq!(plan.services["s"], service("replace", "new"));
    }

    #[test]
    fn merge_of_a_new_service_adds_it() {
        let plan = combine_layers(&labelled(vec![layer_with("s", service("merge", "x"))])).unwrap();
        assert_eq!(plan.services["s"].command, "x");
    }

    #[test]
    fn missing_or_bad_override_is_a_400_naming_layer_and_service() {
        let error = combine_layers(&labelled(vec![layer_with("s", service("", "x"))])).unwrap_err();
        match error {
            PebbleError::Api {
                status, message, ..
            } => {
                assert_eq!(status, 400);
                assert_eq!(
                    message,
                    r#"layer "l0" must define "override" for service "s""#
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let error =
            combine_layers(&labelled(vec![layer_with("s", service("sideways", "x"))])).unwrap_err();
        assert!(error
            .to_string()
            .contains(r#"invalid "override" value for service "s""#));
    }

    #[test]
    fn checks_merge_per_kind_and_get_the_default_threshold() {
        let mut base = Layer::default();
        base.checks.insert(
            "ready".into(),
            Check {
                r#override: "replace".into(),
                level: Some(CheckLevel::Ready),
                http: Some(HttpCheck {
                    url: "http://localhost:4434/health/ready".into(),
                    ..HttpCheck::default()
                }),
                ..Check::default()
            },
        );
        let mut patch = Layer::default();
        patch.checks.insert(
            "ready".into(),
            Check {
                r#override: "merge".into(),
                period: "5s".into(),
                http: Some(HttpCheck {
                    url: "http://localhost:4434/health/alive".into(),
                    ..HttpCheck::default()
                }),
                ..Check::default()
            },
        );
        let plan = combine_layers(&labelled(vec![base, patch])).unwrap();
        let ready = &plan.checks["ready"];
        assert_eq!(ready.level, Some(CheckLevel::Ready));
        assert_eq!(ready.period, "5s");
        assert_eq!(ready.threshold, Some(3));
        assert_eq!(
            ready.http.as_ref().unwrap().url,
            "http://localhost:4434/health/alive"
        );
    }

    #[test]
    fn combine_into_an_existing_label_merges_into_that_layer() {
        let fake = FakePebble::new();
        let mut base = service("replace", "a");
        base.environment.insert("X".into(), "1".into());
        fake.add_layer("base", &layer_with("s", base), false)
            .unwrap();
        let mut other = layer_with("t", service("replace", "t"));
        other.checks.insert(
            "c".into(),
            Check {
                r#override: "replace".into(),
                exec: Some(ExecCheck {
                    command: "true".into(),
                    ..ExecCheck::default()
                }),
                ..Check::default()
            },
        );
        fake.add_layer("other", &other, false).unwrap();
        let mut patch = service("merge", "");
        patch.environment.insert("Y".into(), "2".into());
        fake.add_layer("base", &layer_with("s", patch), true)
            .unwrap();

        let layers = fake.layers();
        assert_eq!(
            layers.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(),
            ["base", "other"],
            "combining keeps the layer's place"
        );
        let s = &fake.current_plan().services["s"];
        assert_eq!(s.environment.len(), 2);

        let again = fake.add_layer("base", &layer_with("s", service("replace", "b")), false);
        assert!(again
            .unwrap_err()
            .to_string()
            .contains(r#"layer "base" already exists"#));
    }

    #[test]
    fn a_layer_that_breaks_the_plan_is_rejected_and_leaves_it_unchanged() {
        let fake = FakePebble::new();
        fake.add_layer("a", &layer_with("s", service("replace", "x")), false)
            .unwrap();
        let error = fake
            .add_layer("b", &layer_with("t", service("replace", "")), false)
            .unwrap_err();
        assert!(error
            .to_string()
            .contains(r#"plan must define "command" for service "t""#));
        assert_eq!(fake.layers().len(), 1);
        assert!(!fake.current_plan().services.contains_key("t"));
    }

    #[test]
    fn glob_matches_like_go_path_match() {
        assert!(glob_match("*.yaml", "kratos.yaml"));
        assert!(!glob_match("*.yaml", "kratos.yml"));
        assert!(glob_match("k?atos", "kratos"));
        assert!(glob_match("[a-c]*", "bar"));
        assert!(!glob_match("[^a-c]*", "bar"));
        assert!(glob_match("\\*", "*"));
        assert!(!glob_match("[", "x"));
        assert!(glob_match("*", ""));
    }
}
