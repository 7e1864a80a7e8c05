//! From relation web-hooks to Kratos hook lists.
//!
//! Kratos has fallback semantics for after-hooks: a per-method list replaces the flow-wide
//! `after.hooks` instead of adding to it. So a web-hook meant for "all methods" is written
//! into every per-method list the charm renders, next to that method's own web-hooks and
//! built-in hooks (`session`, `show_verification_ui`).
//!
//! Order within a list is by weight (lower first), all-method and method-specific web-hooks
//! interleaved; equal weights keep relation order. (The reference charm puts all-method hooks
//! before method-specific ones whatever their weight; the webhook interfaces document weight
//! as the order within a phase, which is what this does.)
//!
//! No web-hook a relation offers is dropped (the reference silently drops before-hooks with
//! methods, every `passkey` hook, and login hooks for inactive methods):
//! - before-hooks go to the flow-wide `before.hooks` whatever their methods (see
//!   [`WebhookPlan::before`]);
//! - a method a web-hook names explicitly gets its after-section even when the charm's
//!   config leaves that method off (`passkey` always is): Kratos's schema has a section for
//!   every method a provider may name, and a section for an inactive method is never run, so
//!   it is harmless until the method is switched on, and the file shows what was asked for.
//!   Web-hooks for "all methods" only join the sections of active methods.

use super::inputs::{AuthMethod, HookMode, MethodSelection, ResponseHandling, Webhook};
use super::model::{Hook, HookList, WebHookConfig, WebHookResponse};

/// The web-hooks of one relation kind (registration or login), sorted by weight.
pub(super) struct WebhookPlan<'a> {
    sorted: Vec<&'a Webhook>,
    emit_analytics_event: bool,
}

impl<'a> WebhookPlan<'a> {
    pub(super) fn new(webhooks: &'a [Webhook], emit_analytics_event: bool) -> Self {
        let mut sorted: Vec<&Webhook> = webhooks.iter().collect();
        // Stable: equal weights keep relation order.
        sorted.sort_by_key(|hook| hook.weight);
        Self {
            sorted,
            emit_analytics_event,
        }
    }

    /// Whether the relation kind has any web-hook at all.
    pub(super) fn any(&self) -> bool {
        !self.sorted.is_empty()
    }

    /// The `before.hooks` list, `None` when empty.
    ///
    /// Kratos's before phase has no per-method lists (`before` holds only `hooks`, in every
    /// flow): before-hooks run when the flow starts, before the user has picked a method, so
    /// Kratos cannot tell which method they are for. A before-hook restricted to methods is
    /// therefore rendered into the flow-wide list and runs for every method: the provider
    /// asked for it to run, and running it more widely is better than never running it
    /// without a word (which is what the reference's `before[<method>]` lists amount to,
    /// as its template never renders them).
    pub(super) fn before(&self) -> Option<HookList> {
        let hooks = self.collect(|hook| hook.mode == HookMode::Before, &[]);
        (!hooks.is_empty()).then_some(HookList { hooks })
    }

    /// Whether any after-hook targets `method` (directly or as "all methods").
    pub(super) fn has_after_for(&self, method: AuthMethod) -> bool {
        self.sorted
            .iter()
            .any(|hook| hook.mode == HookMode::After && hook.methods.includes(method))
    }

    /// Whether an after-hook names `method` explicitly (not as "all methods"): the method
    /// then gets its section even when it is not active.
    pub(super) fn names(&self, method: AuthMethod) -> bool {
        self.sorted.iter().any(|hook| {
            hook.mode == HookMode::After
                && matches!(&hook.methods, MethodSelection::Only(methods) if methods.contains(&method))
        })
    }

    /// The after-hooks for `method` followed by the given built-in hooks.
    pub(super) fn after_for(&self, method: AuthMethod, built_in: &[Hook]) -> HookList {
        HookList {
            hooks: self.collect(
                |hook| hook.mode == HookMode::After && hook.methods.includes(method),
                built_in,
            ),
        }
    }

    fn collect(&self, wanted: impl Fn(&Webhook) -> bool, built_in: &[Hook]) -> Vec<Hook> {
        let mut hooks: Vec<Hook> = Vec::new();
        let rendered = self
            .sorted
            .iter()
            .filter(|hook| wanted(hook))
            .map(|hook| self.render(hook))
            .chain(built_in.iter().cloned());
        for hook in rendered {
            // Kratos requires unique items in hook lists; two relations offering the very
            // same web-hook would otherwise make the whole configuration invalid.
            if !hooks.contains(&hook) {
                hooks.push(hook);
            }
        }
        hooks
    }

    fn render(&self, hook: &Webhook) -> Hook {
        let (ignore, parse) = match hook.response {
            ResponseHandling::Wait => (false, false),
            ResponseHandling::Ignore => (true, false),
            ResponseHandling::Parse => (false, true),
        };
        Hook::Web(WebHookConfig {
            url: hook.url.to_string(),
            method: hook.method.clone(),
            body: hook.body.clone(),
            emit_analytics_event: self.emit_analytics_event,
            response: WebHookResponse { ignore, parse },
            auth: hook.auth.clone(),
        })
    }
}
