//! Pebble API replies: the body (the first line: the call, the HTTP status and the
//! content type) decoded as the client decodes it.

use crate::header;
use juju_rs_ops::fuzzing::{reply, Call};

/// The file path the files calls asked about (the corpus's replies name it).
const PATH: &str = "/etc/config/kratos/kratos.yaml";

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let (words, body) = header(data);
    let call = words.first().and_then(|name| {
        Call::ALL
            .iter()
            .find(|c| format!("{c:?}").eq_ignore_ascii_case(name))
    });
    let (Some(call), Some(status)) = (call, words.get(1).and_then(|s| s.parse::<u16>().ok()))
    else {
        return;
    };
    let content_type = words.get(2).copied().unwrap_or("application/json");
    if reply(*call, status, content_type, PATH, body).is_none() {
        panic!("decoding a whole {call:?} reply did not finish");
    }
}
