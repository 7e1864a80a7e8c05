//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the parsers of what
//! Pebble sends, which are private to the client, reached without a socket. Everything
//! else the fuzz targets drive is public API (`Event::from_vars`, `Model` over a
//! `ToolRunner` that answers with the fuzzer's bytes). Not part of the API.

pub use crate::pebble::fuzzing::{exec_output, reply, Call, Frame};
