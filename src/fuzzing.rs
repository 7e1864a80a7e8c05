//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the parsers of
//! outside input that are private to their modules (the Kratos admin API's answers,
//! `run-migration`'s parameters), reached without HTTP or a hook. Every other parser the
//! fuzz targets drive is public already (config, integrations' `parse`, ConfigMaps). Not
//! part of the API.

pub use crate::actions::fuzzing::run_migration_params;
pub use crate::kratos_api::fuzzing::{kratos_answer, KratosAnswer, KratosCall};
