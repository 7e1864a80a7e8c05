//! The charm's entry point: an action runs its action, any other event converges the
//! unit and sets its status.

use juju_rs_ops::Context;

use crate::actions;
use crate::charm;
use crate::error::CharmError;

/// Runs the charm for one event.
pub fn dispatch(ctx: &mut Context) -> Result<(), CharmError> {
    if ctx.event.is_action() {
        return actions::run(ctx);
    }
    let status = charm::reconcile(ctx)?;
    ctx.model.set_status(&status)?;
    Ok(())
}
