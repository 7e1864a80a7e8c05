//! `juju refresh` from Canonical's Python charm (`kratos-operator`) to this one: what the
//! reference leaves in the kratos container that this charm does not use.
//!
//! Everything else it leaves is this charm's own shape already, or is brought to it where
//! it is read: the cookie secret (same label, key and owner, [`crate::secrets`]), the
//! migration record ([`crate::integrations::peers`]), each integration's databags (every
//! hook republishes them; [`crate::integrations::database`] removes the library's private
//! copy), the ConfigMaps (read, created only when missing, never written:
//! [`crate::cluster`]), `/etc/config/kratos/kratos.yaml` (the same path: pushed when it
//! differs) and its Pebble layers (the same labels, `kratos` and `kratos-log-forwarding`,
//! the same service and check names, combined over with `override: replace`).
//!
//! On Kubernetes a refresh replaces the pod, so the container starts empty and there is
//! nothing to tidy; when the container survives (the emulator, or a refresh Juju did not
//! roll), the reference's e-mail templates are left in `/etc/config/templates`, the
//! directory its `COURIER_TEMPLATE_OVERRIDE_PATH` pointed Kratos at. This charm renders its
//! templates into `kratos.yaml` and sets no such path, so they would only be stale copies
//! of an old config value: the directory is removed on `upgrade-charm`.

use juju_rs_ops::pebble::Pebble;

use crate::error::CharmError;

/// Where the reference pushes its courier templates (`COURIER_TEMPLATE_OVERRIDE_PATH`:
/// `recovery-body.html.gotmpl` and `verification_code/valid/email.body.gotmpl`).
pub const REFERENCE_TEMPLATES_DIR: &str = "/etc/config/templates";

/// Removes what the reference charm left in the container that this charm does not use
/// (nothing to do when it is not there).
pub fn tidy_container(pebble: &dyn Pebble) -> Result<(), CharmError> {
    match pebble.list_files(REFERENCE_TEMPLATES_DIR, None, true) {
        Ok(_) => {}
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    pebble.remove_path(REFERENCE_TEMPLATES_DIR, true)?;
    tracing::info!("removed the Python charm's e-mail templates ({REFERENCE_TEMPLATES_DIR})");
    Ok(())
}
