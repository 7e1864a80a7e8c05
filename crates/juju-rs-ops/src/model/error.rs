//! What can go wrong when reading or writing the model.

use crate::tools::ToolError;

/// Why a [`crate::Model`] call failed.
///
/// Messages name what was being done (the tool, the relation, the option or parameter)
/// but never the values involved, so they are safe to log or to show in a status.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A hook tool failed (or could not be started) while doing `action`.
    #[error("{action}: {source}")]
    Tool {
        /// What was being done, e.g. `reading config (config-get)`.
        action: String,
        /// The tool's failure (its exit code and stderr).
        #[source]
        source: ToolError,
    },
    /// Only the leader may do this (write the application databag, set the application
    /// status, ...), and this unit is not the leader.
    #[error("this unit is not the leader, so it cannot {what}")]
    NotLeader {
        /// What was refused, e.g. `write the application databag of relation db:3`.
        what: String,
    },
    /// A config option does not fit the charm's typed config.
    #[error("{}", field_message("config option", option, message))]
    Config {
        /// The option's name; empty when the problem is not about one option.
        option: String,
        /// What is wrong with it (never its value).
        message: String,
    },
    /// An action parameter does not fit the action's typed parameters.
    #[error("{}", field_message("action parameter", param, message))]
    Params {
        /// The parameter's name; empty when the problem is not about one parameter.
        param: String,
        /// What is wrong with it (never its value).
        message: String,
    },
    /// A databag does not fit the type it was read as.
    #[error(
        "relation {relation}, {bag} databag: {}",
        field_message("key", key, message)
    )]
    Databag {
        /// The relation, as `endpoint:id`.
        relation: String,
        /// Whose bag: a unit name, or an application name followed by ` (app)`.
        bag: String,
        /// The key; empty when the problem is not about one key.
        key: String,
        /// What is wrong with it (never its value).
        message: String,
    },
    /// The relation does not exist (any more).
    #[error("relation {relation} not found")]
    RelationNotFound {
        /// The relation, as `endpoint:id`.
        relation: String,
    },
    /// The secret does not exist, or this unit cannot see it.
    #[error("secret {secret} not found")]
    SecretNotFound {
        /// The secret's id, or `label <label>` when it was looked up by label.
        secret: String,
        /// The tool's failure, as Juju worded it.
        #[source]
        source: ToolError,
    },
    /// Local I/O around a hook tool failed (e.g. writing secret content to a private
    /// temporary file for `secret-add`).
    #[error("{action}: {source}")]
    Io {
        /// What was being done.
        action: String,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// A hook tool printed something this library cannot parse.
    #[error("cannot decode the output of {what}: {message}")]
    Decode {
        /// The tool (and flags) whose output this was.
        what: String,
        /// What did not parse.
        message: String,
    },
    /// The caller asked for something Juju would refuse (an invalid key, a status that
    /// cannot be set, a write to a remote databag, ...). Nothing was sent to Juju.
    #[error("invalid {what}: {message}")]
    Invalid {
        /// What was refused, e.g. `action results`.
        what: String,
        /// Why.
        message: String,
    },
}

fn field_message(kind: &str, name: &str, message: &str) -> String {
    if name.is_empty() {
        format!("{kind}s: {message}")
    } else {
        format!("{kind} {name:?}: {message}")
    }
}

impl ModelError {
    /// Whether this says the thing asked for does not exist (a secret, a relation).
    pub fn is_not_found(&self) -> bool {
        match self {
            ModelError::SecretNotFound { .. } | ModelError::RelationNotFound { .. } => true,
            ModelError::Tool { source, .. } => source.is_not_found(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_field() {
        let e = ModelError::Config {
            option: "log_level".into(),
            message: "unknown variant".into(),
        };
        assert_eq!(
            e.to_string(),
            "config option \"log_level\": unknown variant"
        );
        let e = ModelError::Params {
            param: String::new(),
            message: "expected a map".into(),
        };
        assert_eq!(e.to_string(), "action parameters: expected a map");
        let e = ModelError::Databag {
            relation: "db:3".into(),
            bag: "postgresql (app)".into(),
            key: "endpoints".into(),
            message: "missing".into(),
        };
        assert_eq!(
            e.to_string(),
            "relation db:3, postgresql (app) databag: key \"endpoints\": missing"
        );
    }
}
