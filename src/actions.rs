//! Juju actions. They talk to the Kratos admin API on 127.0.0.1:4434 (the charm and the
//! workload share the pod's network namespace).

use juju_rs_ops::Context;

use crate::charm::CharmError;

/// Runs the action named by the event.
pub fn run(ctx: &mut Context) -> Result<(), CharmError> {
    let name = ctx
        .event
        .action
        .as_ref()
        .map(|a| a.name.clone())
        .unwrap_or_default();
    ctx.model
        .action_fail(&format!("The {name} action is not implemented yet"))?;
    Ok(())
}
