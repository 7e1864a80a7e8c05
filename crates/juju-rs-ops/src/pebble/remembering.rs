//! A [`Pebble`] that remembers what it read of the plan and of the services until it
//! changes them itself.

use std::cell::RefCell;

use super::{
    CheckInfo, ExecOutput, ExecRequest, FileInfo, Layer, Notice, NoticesQuery, Pebble, PebbleError,
    Plan, PushOptions, ServiceInfo, SystemInfo,
};

/// Wraps a [`Pebble`] for the length of one dispatch: the plan and the service states it
/// read are answered again from memory until a call through it changes them (a layer, a
/// replan, starting, stopping or restarting services). Everything else goes straight
/// through, and no read is remembered across an error.
///
/// Within one hook only the charm changes its container's plan, so a remembered plan is
/// exact. A service can still exit on its own between two reads; a hook is a few
/// milliseconds and the next one reads afresh, so the charm sees it at worst one hook
/// later, as it would have had it read once.
///
/// ```
/// # use juju_rs_ops::pebble::{Pebble, Remembering};
/// # fn show(client: Box<dyn Pebble>) -> Result<(), juju_rs_ops::pebble::PebbleError> {
/// let pebble = Remembering::new(client.as_ref());
/// let plan = pebble.plan()?; // asks Pebble
/// let again = pebble.plan()?; // remembered
/// pebble.replan()?; // forgets the service states and the plan
/// # Ok(()) }
/// ```
pub struct Remembering<'a> {
    inner: &'a dyn Pebble,
    plan: RefCell<Option<Plan>>,
    services: RefCell<Option<(Vec<String>, Vec<ServiceInfo>)>>,
}

impl<'a> Remembering<'a> {
    /// Remembers reads of `inner`.
    pub fn new(inner: &'a dyn Pebble) -> Remembering<'a> {
        Remembering {
            inner,
            plan: RefCell::new(None),
            services: RefCell::new(None),
        }
    }

    /// Forgets everything remembered (the container may have changed under it).
    pub fn forget(&self) {
        self.plan.replace(None);
        self.services.replace(None);
    }

    /// Runs a call that changes the plan or the services, forgetting what it changes
    /// whether it succeeded or not (a failed change may have done part of its work).
    fn changing<T>(
        &self,
        plan_too: bool,
        call: impl FnOnce() -> Result<T, PebbleError>,
    ) -> Result<T, PebbleError> {
        if plan_too {
            self.plan.replace(None);
        }
        self.services.replace(None);
        call()
    }
}

impl Pebble for Remembering<'_> {
    fn system_info(&self) -> Result<SystemInfo, PebbleError> {
        self.inner.system_info()
    }

    fn plan(&self) -> Result<Plan, PebbleError> {
        if let Some(plan) = self.plan.borrow().as_ref() {
            return Ok(plan.clone());
        }
        let plan = self.inner.plan()?;
        self.plan.replace(Some(plan.clone()));
        Ok(plan)
    }

    fn add_layer(&self, label: &str, layer: &Layer, combine: bool) -> Result<(), PebbleError> {
        self.changing(true, || self.inner.add_layer(label, layer, combine))
    }

    fn services(&self, names: &[&str]) -> Result<Vec<ServiceInfo>, PebbleError> {
        if let Some((asked, services)) = self.services.borrow().as_ref() {
            if asked.iter().map(String::as_str).eq(names.iter().copied()) {
                return Ok(services.clone());
            }
        }
        let services = self.inner.services(names)?;
        let asked = names.iter().map(|n| (*n).to_string()).collect();
        self.services.replace(Some((asked, services.clone())));
        Ok(services)
    }

    fn start(&self, names: &[&str]) -> Result<(), PebbleError> {
        self.changing(false, || self.inner.start(names))
    }

    fn stop(&self, names: &[&str]) -> Result<(), PebbleError> {
        self.changing(false, || self.inner.stop(names))
    }

    fn restart(&self, names: &[&str]) -> Result<(), PebbleError> {
        self.changing(false, || self.inner.restart(names))
    }

    fn replan(&self) -> Result<(), PebbleError> {
        self.changing(false, || self.inner.replan())
    }

    fn push(&self, path: &str, content: &[u8], options: &PushOptions) -> Result<(), PebbleError> {
        self.inner.push(path, content, options)
    }

    fn pull(&self, path: &str) -> Result<Vec<u8>, PebbleError> {
        self.inner.pull(path)
    }

    fn list_files(
        &self,
        path: &str,
        pattern: Option<&str>,
        itself: bool,
    ) -> Result<Vec<FileInfo>, PebbleError> {
        self.inner.list_files(path, pattern, itself)
    }

    fn make_dir(&self, path: &str, options: &PushOptions) -> Result<(), PebbleError> {
        self.inner.make_dir(path, options)
    }

    fn remove_path(&self, path: &str, recursive: bool) -> Result<(), PebbleError> {
        self.inner.remove_path(path, recursive)
    }

    fn checks(&self, names: &[&str]) -> Result<Vec<CheckInfo>, PebbleError> {
        self.inner.checks(names)
    }

    fn notices(&self, query: &NoticesQuery) -> Result<Vec<Notice>, PebbleError> {
        self.inner.notices(query)
    }

    fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, PebbleError> {
        self.inner.exec(request)
    }
}
