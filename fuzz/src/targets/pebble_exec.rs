//! Pebble exec output websockets: a stream of frames (binary output, text control
//! messages such as `{"command":"end"}`, pings, close, a broken connection) read as the
//! client reads stdout and stderr.

use crate::input;
use arbitrary::Arbitrary;
use juju_rs_ops::fuzzing::{exec_output, Frame};
use serde::Deserialize;

#[derive(Debug, Deserialize, Arbitrary)]
#[serde(rename_all = "lowercase")]
enum Message {
    Binary(Vec<u8>),
    Text(String),
    Ping(Vec<u8>),
    Close,
    Error,
}

/// One fuzz input: parse, then feed what the parse gave on.
pub fn fuzz(data: &[u8]) {
    let Some(messages) = input::<Vec<Message>>(data) else {
        return;
    };
    // What comes before the end marker (or close, or a broken connection) is the output.
    let mut expected = Vec::new();
    for message in &messages {
        match message {
            Message::Binary(bytes) => expected.extend_from_slice(bytes),
            Message::Text(text)
                if serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| {
                        v.get("command")
                            .and_then(|c| c.as_str())
                            .map(|c| c == "end")
                    })
                    == Some(true) =>
            {
                break
            }
            Message::Close | Message::Error => break,
            Message::Text(_) | Message::Ping(_) => {}
        }
    }
    let frames = messages
        .into_iter()
        .map(|message| match message {
            Message::Binary(bytes) => Frame::Binary(bytes),
            Message::Text(text) => Frame::Text(text),
            Message::Ping(bytes) => Frame::Ping(bytes),
            Message::Close => Frame::Close,
            Message::Error => Frame::Error,
        })
        .collect();
    let output = exec_output(frames).expect("reading a finished stream finishes");
    assert_eq!(output, expected);
}
