//! Pebble's HTTP API over its unix socket.
//!
//! The charm is synchronous code, so the public API is too: the client blocks on a
//! [`SharedRuntime`] (the dispatch's one runtime, or its own) for each request. Every
//! request opens its own connection, like Pebble's own clients do; a hook makes only a
//! handful of calls and a unix-socket connect costs microseconds.
//!
//! The wire protocol followed here is Pebble v1.32's (`internals/daemon/api_*.go`):
//! JSON envelopes `{"type":"sync"|"async"|"error","status-code":..,"change":..,"result":..}`,
//! changes waited on with `GET /v1/changes/{id}/wait`, files written as
//! `multipart/form-data` and read back as a multipart response, and exec streamed over
//! three websockets (`control`, `stdio`, `stderr`).

use std::fmt::Display;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::runtime::SharedRuntime;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::UnixStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::*;

/// The end-of-stream marker of Pebble's exec I/O websockets, sent as a text frame.
const END_OF_STREAM: &str = r#"{"command":"end"}"#;
/// How much stdin goes into one websocket frame.
const STDIN_CHUNK: usize = 64 * 1024;
/// How long after an exec's own timeout the client keeps waiting for Pebble to report
/// the (killed) command's end.
const EXEC_WAIT_GRACE: Duration = Duration::from_secs(5);

/// A Pebble client for one socket.
///
/// ```no_run
/// use juju_rs_ops::pebble::{Client, ExecRequest, Pebble};
///
/// let pebble = Client::new("/charm/containers/kratos/pebble.socket");
/// let version = pebble.exec(&ExecRequest::new(["kratos", "version"]))?.success()?;
/// println!("{}", version.stdout_text());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Calls must not be made from inside another tokio runtime (the client blocks on the
/// shared one).
pub struct Client {
    socket: PathBuf,
    request_timeout: Duration,
    change_timeout: Duration,
    runtime: SharedRuntime,
}

impl Client {
    /// The default limit for one HTTP request (connect, send, read the reply).
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    /// The default limit for waiting on a change (service start/stop/restart/replan,
    /// and an exec without its own timeout).
    pub const DEFAULT_CHANGE_TIMEOUT: Duration = Duration::from_secs(60);

    /// A client for the Pebble listening on `socket`. Nothing is connected until the
    /// first call.
    pub fn new(socket: impl Into<PathBuf>) -> Client {
        Client {
            socket: socket.into(),
            request_timeout: Client::DEFAULT_REQUEST_TIMEOUT,
            change_timeout: Client::DEFAULT_CHANGE_TIMEOUT,
            runtime: SharedRuntime::new(),
        }
    }

    /// Blocks on `runtime` (the dispatch's shared one) instead of a runtime of its own.
    pub fn with_runtime(mut self, runtime: SharedRuntime) -> Client {
        self.runtime = runtime;
        self
    }

    /// Sets the limit for one HTTP request.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Client {
        self.request_timeout = timeout;
        self
    }

    /// Sets the limit for waiting on a change, and on an exec that has no timeout of
    /// its own (an exec with [`ExecRequest::timeout`] waits that long plus 5 s).
    pub fn with_change_timeout(mut self, timeout: Duration) -> Client {
        self.change_timeout = timeout;
        self
    }

    /// The socket this client talks to.
    pub fn socket_path(&self) -> &Path {
        &self.socket
    }

    fn socket_display(&self) -> String {
        self.socket.display().to_string()
    }

    /// Runs `future` to completion on the client's runtime.
    fn block_on<T>(
        &self,
        future: impl Future<Output = Result<T, PebbleError>>,
    ) -> Result<T, PebbleError> {
        self.runtime
            .block_on(future)
            .map_err(|e| io_context(e.kind(), "cannot start the Pebble client's runtime", e))?
    }

    /// Sends one request and reads the whole reply, within `timeout`.
    async fn send(
        &self,
        method: http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<RawReply, PebbleError> {
        let what = format!("{method} {path}");
        match tokio::time::timeout(
            timeout,
            self.send_untimed(&what, method, path, headers, body),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(PebbleError::Timeout(timeout)),
        }
    }

    async fn send_untimed(
        &self,
        what: &str,
        method: http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<RawReply, PebbleError> {
        let stream = self.connect().await?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| self.io_error(what, e))?;
        // The connection future drives the socket; it ends when `sender` is dropped.
        let driver = tokio::spawn(connection);

        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(http::header::HOST, "localhost");
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| PebbleError::Protocol(format!("cannot build request {what}: {e}")))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| self.io_error(what, e))?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| self.io_error(what, e))?
            .to_bytes();
        drop(sender);
        driver.abort();
        Ok(RawReply {
            what: what.to_owned(),
            status,
            content_type,
            body,
        })
    }

    async fn connect(&self) -> Result<UnixStream, PebbleError> {
        UnixStream::connect(&self.socket)
            .await
            .map_err(|source| PebbleError::CannotConnect {
                socket: self.socket_display(),
                source,
            })
    }

    fn io_error(&self, what: &str, error: impl Display) -> PebbleError {
        io_context(
            std::io::ErrorKind::Other,
            &format!("{what} on {}", self.socket.display()),
            error,
        )
    }

    /// A JSON request whose reply is a JSON envelope; error envelopes become
    /// [`PebbleError::Api`].
    async fn call(
        &self,
        method: http::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Envelope, PebbleError> {
        let (headers, bytes): (&[(&str, &str)], Bytes) = match body {
            Some(body) => (
                &[
                    ("Accept", "application/json"),
                    ("Content-Type", "application/json"),
                ],
                Bytes::from(body.to_string()),
            ),
            None => (&[("Accept", "application/json")], Bytes::new()),
        };
        let reply = self
            .send(method, path, headers, bytes, self.request_timeout)
            .await?;
        reply.envelope()
    }

    /// Starts an async operation and waits for its change; a change that ended in error
    /// becomes [`PebbleError::ChangeFailed`].
    async fn call_and_wait(&self, path: &str, body: &Value) -> Result<Change, PebbleError> {
        let envelope = self.call(http::Method::POST, path, Some(body)).await?;
        let id = envelope.change_id(path)?;
        let change = self.wait_change(&id, self.change_timeout).await?;
        change.into_result()
    }

    /// Waits until the change is ready, polling Pebble's wait endpoint in slices short
    /// enough for each to fit in one request.
    async fn wait_change(&self, id: &str, limit: Duration) -> Result<Change, PebbleError> {
        let deadline = Deadline::after(limit);
        let slice_limit = self
            .request_timeout
            .saturating_sub(Duration::from_secs(1))
            .max(Duration::from_secs(1));
        loop {
            let remaining = deadline.remaining();
            if remaining.is_zero() {
                return Err(PebbleError::Timeout(limit));
            }
            let slice = remaining.min(slice_limit);
            let path = format!(
                "/v1/changes/{}/wait?timeout={}",
                encode(id),
                go_duration(slice)
            );
            let reply = self
                .send(
                    http::Method::GET,
                    &path,
                    &[("Accept", "application/json")],
                    Bytes::new(),
                    slice.saturating_add(Duration::from_secs(1)),
                )
                .await?;
            // 504: Pebble's own wait timed out; try again until our deadline.
            if reply.status == 504 {
                continue;
            }
            let change: Change = reply.envelope()?.result_as(&path)?;
            if change.ready {
                return Ok(change);
            }
        }
    }

    async fn services_action(&self, action: &str, names: &[&str]) -> Result<(), PebbleError> {
        let body = json!({ "action": action, "services": names });
        self.call_and_wait("/v1/services", &body).await.map(drop)
    }

    /// A `POST /v1/files` JSON action (`make-dirs`, `remove`), checking the per-path
    /// result.
    async fn files_action(&self, body: &Value, path: &str) -> Result<(), PebbleError> {
        let envelope = self
            .call(http::Method::POST, "/v1/files", Some(body))
            .await?;
        check_path_result(envelope.result, path)
    }

    async fn push_async(
        &self,
        path: &str,
        content: &[u8],
        options: &PushOptions,
    ) -> Result<(), PebbleError> {
        let mut item = auth_fields(options);
        item.insert("path".into(), json!(path));
        if options.make_dirs {
            item.insert("make-dirs".into(), json!(true));
        }
        let metadata = json!({ "action": "write", "files": [item] });
        let boundary = unique_boundary(content);
        let body = encode_push_body(&boundary, &metadata, path, content);
        let content_type = format!("multipart/form-data; boundary=\"{boundary}\"");
        let reply = self
            .send(
                http::Method::POST,
                "/v1/files",
                &[
                    ("Accept", "application/json"),
                    ("Content-Type", &content_type),
                ],
                body,
                self.request_timeout,
            )
            .await?;
        check_path_result(reply.envelope()?.result, path)
    }

    async fn pull_async(&self, path: &str) -> Result<Vec<u8>, PebbleError> {
        let request_path = format!("/v1/files?action=read&path={}", encode(path));
        let reply = self
            .send(
                http::Method::GET,
                &request_path,
                &[("Accept", "multipart/form-data")],
                Bytes::new(),
                self.request_timeout,
            )
            .await?;
        read_file_reply(reply, path, &request_path).await
    }

    async fn exec_async(&self, request: &ExecRequest) -> Result<ExecOutput, PebbleError> {
        let program = request.command.first().map(String::as_str).unwrap_or("");
        tracing::debug!(program, "pebble exec");
        let body = json!({
            "command": request.command,
            "environment": request.environment,
            "working-dir": request.working_dir,
            "timeout": request.timeout.map(go_duration),
            "user": request.user,
            "group": request.group,
            "split-stderr": true,
        });
        let envelope = self
            .call(http::Method::POST, "/v1/exec", Some(&body))
            .await?;
        let (change_id, task_id) = exec_ids(&envelope)?;

        // Without a reply by then, give up; dropping the websockets makes Pebble kill
        // the command (an abnormal close of the control websocket sends it SIGKILL).
        let limit = exec_wait_limit(request.timeout, self.change_timeout);
        let stdin = request.stdin.as_deref().unwrap_or_default();
        let (change, stdout, stderr) = match tokio::time::timeout(
            limit,
            self.exec_streams(&change_id, &task_id, stdin, limit),
        )
        .await
        {
            Ok(result) => result?,
            Err(_) => return Err(PebbleError::Timeout(limit)),
        };

        if !change.err.is_empty() {
            // Pebble kills a command that outlives its timeout and fails the change
            // with "timed out after <timeout>: context deadline exceeded".
            if let Some(timeout) = request.timeout {
                if change.err.contains("timed out after") {
                    return Err(PebbleError::Timeout(timeout));
                }
            }
            return Err(PebbleError::ChangeFailed {
                id: change.id,
                kind: change.kind,
                message: change.err,
            });
        }
        Ok(ExecOutput {
            command: request.command.clone(),
            exit_code: exit_code(&change),
            stdout,
            stderr,
        })
    }

    /// Connects the exec websockets, feeds stdin, collects stdout and stderr and waits
    /// for the exec change.
    async fn exec_streams(
        &self,
        change_id: &str,
        task_id: &str,
        stdin: &[u8],
        limit: Duration,
    ) -> Result<(Change, Vec<u8>, Vec<u8>), PebbleError> {
        let sockets = async {
            let control = self.websocket(task_id, "control").await?;
            let stdio = self.websocket(task_id, "stdio").await?;
            let stderr = self.websocket(task_id, "stderr").await?;
            Ok::<_, PebbleError>((control, stdio, stderr))
        };
        let (control, stdio, stderr) = match sockets.await {
            Ok(sockets) => sockets,
            Err(error) => {
                // The change usually says why (e.g. the command could not start).
                let change = self.wait_change(change_id, limit).await?;
                change.into_result()?;
                return Err(error);
            }
        };

        let (mut stdio_tx, mut stdio_rx) = stdio.split();
        let mut stderr = stderr;
        let feed_stdin = async {
            for chunk in stdin.chunks(STDIN_CHUNK) {
                stdio_tx
                    .send(Message::Binary(Bytes::copy_from_slice(chunk)))
                    .await?;
            }
            stdio_tx.send(Message::text(END_OF_STREAM)).await
        };
        let (stdin_result, stdout, stderr_bytes) = tokio::join!(
            feed_stdin,
            read_stream(&mut stdio_rx),
            read_stream(&mut stderr),
        );
        if let Err(e) = stdin_result {
            // The command may exit without reading its input; that is its business.
            tracing::debug!("exec stdin not fully delivered: {e}");
        }
        let change = self.wait_change(change_id, limit).await?;
        drop(control);
        Ok((change, stdout, stderr_bytes))
    }

    async fn websocket(
        &self,
        task_id: &str,
        name: &str,
    ) -> Result<WebSocketStream<UnixStream>, PebbleError> {
        let stream = self.connect().await?;
        let url = format!(
            "ws://localhost/v1/tasks/{}/websocket/{name}",
            encode(task_id)
        );
        let handshake = tokio_tungstenite::client_async(url.as_str(), stream);
        match tokio::time::timeout(self.request_timeout, handshake).await {
            Ok(Ok((socket, _response))) => Ok(socket),
            Ok(Err(e)) => Err(self.io_error(&format!("websocket {url}"), e)),
            Err(_) => Err(PebbleError::Timeout(self.request_timeout)),
        }
    }
}

impl Clone for Client {
    /// A client for the same socket with the same timeouts and runtime.
    fn clone(&self) -> Client {
        Client {
            socket: self.socket.clone(),
            request_timeout: self.request_timeout,
            change_timeout: self.change_timeout,
            runtime: self.runtime.clone(),
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("socket", &self.socket)
            .field("request_timeout", &self.request_timeout)
            .field("change_timeout", &self.change_timeout)
            .finish_non_exhaustive()
    }
}

impl Pebble for Client {
    fn system_info(&self) -> Result<SystemInfo, PebbleError> {
        self.block_on(async {
            let path = "/v1/system-info";
            self.call(http::Method::GET, path, None)
                .await?
                .result_as(path)
        })
    }

    fn plan(&self) -> Result<Plan, PebbleError> {
        self.block_on(async {
            let path = "/v1/plan?format=yaml";
            decode_plan(self.call(http::Method::GET, path, None).await?, path)
        })
    }

    fn add_layer(&self, label: &str, layer: &Layer, combine: bool) -> Result<(), PebbleError> {
        let yaml = serde_yaml_ng::to_string(layer)
            .map_err(|e| PebbleError::Protocol(format!("cannot render layer {label:?}: {e}")))?;
        let body = json!({
            "action": "add",
            "combine": combine,
            "label": label,
            "format": "yaml",
            "layer": yaml,
        });
        self.block_on(async {
            self.call(http::Method::POST, "/v1/layers", Some(&body))
                .await
                .map(drop)
        })
    }

    fn services(&self, names: &[&str]) -> Result<Vec<ServiceInfo>, PebbleError> {
        let path = with_query("/v1/services", &[("names", &names.join(","))]);
        self.block_on(async {
            self.call(http::Method::GET, &path, None)
                .await?
                .result_as(&path)
        })
    }

    fn start(&self, names: &[&str]) -> Result<(), PebbleError> {
        self.block_on(self.services_action("start", names))
    }

    fn stop(&self, names: &[&str]) -> Result<(), PebbleError> {
        self.block_on(self.services_action("stop", names))
    }

    fn restart(&self, names: &[&str]) -> Result<(), PebbleError> {
        self.block_on(self.services_action("restart", names))
    }

    fn replan(&self) -> Result<(), PebbleError> {
        self.block_on(self.services_action("replan", &[]))
    }

    fn push(&self, path: &str, content: &[u8], options: &PushOptions) -> Result<(), PebbleError> {
        self.block_on(self.push_async(path, content, options))
    }

    fn pull(&self, path: &str) -> Result<Vec<u8>, PebbleError> {
        self.block_on(self.pull_async(path))
    }

    fn list_files(
        &self,
        path: &str,
        pattern: Option<&str>,
        itself: bool,
    ) -> Result<Vec<FileInfo>, PebbleError> {
        let request_path = with_query(
            "/v1/files",
            &[
                ("action", "list"),
                ("path", path),
                ("pattern", pattern.unwrap_or_default()),
                ("itself", if itself { "true" } else { "" }),
            ],
        );
        self.block_on(async {
            let result: Option<Vec<FileInfo>> = self
                .call(http::Method::GET, &request_path, None)
                .await?
                .result_as(&request_path)?;
            Ok(result.unwrap_or_default())
        })
    }

    fn make_dir(&self, path: &str, options: &PushOptions) -> Result<(), PebbleError> {
        let mut item = auth_fields(options);
        item.insert("path".into(), json!(path));
        if options.make_dirs {
            item.insert("make-parents".into(), json!(true));
        }
        let body = json!({ "action": "make-dirs", "dirs": [item] });
        self.block_on(self.files_action(&body, path))
    }

    fn remove_path(&self, path: &str, recursive: bool) -> Result<(), PebbleError> {
        let body = json!({
            "action": "remove",
            "paths": [{ "path": path, "recursive": recursive }],
        });
        self.block_on(self.files_action(&body, path))
    }

    fn checks(&self, names: &[&str]) -> Result<Vec<CheckInfo>, PebbleError> {
        let path = with_query("/v1/checks", &[("names", &names.join(","))]);
        self.block_on(async {
            let result: Option<Vec<CheckInfo>> = self
                .call(http::Method::GET, &path, None)
                .await?
                .result_as(&path)?;
            Ok(result.unwrap_or_default())
        })
    }

    fn notices(&self, query: &NoticesQuery) -> Result<Vec<Notice>, PebbleError> {
        let path = with_query(
            "/v1/notices",
            &[
                ("types", &query.types.join(",")),
                ("keys", &query.keys.join(",")),
            ],
        );
        self.block_on(async {
            let result: Option<Vec<Notice>> = self
                .call(http::Method::GET, &path, None)
                .await?
                .result_as(&path)?;
            Ok(result.unwrap_or_default())
        })
    }

    fn exec(&self, request: &ExecRequest) -> Result<ExecOutput, PebbleError> {
        self.block_on(self.exec_async(request))
    }
}

/// A reply as read off the socket.
struct RawReply {
    /// `METHOD /path`, for error messages.
    what: String,
    status: u16,
    content_type: String,
    body: Bytes,
}

impl RawReply {
    /// Decodes the JSON envelope; error envelopes and HTTP errors become
    /// [`PebbleError::Api`].
    fn envelope(&self) -> Result<Envelope, PebbleError> {
        let envelope: Envelope = serde_json::from_slice(&self.body).map_err(|e| {
            PebbleError::Protocol(format!(
                "{}: HTTP {} with a body that is not Pebble's JSON ({e}): {}",
                self.what,
                self.status,
                snippet(&self.body)
            ))
        })?;
        if envelope.r#type == "error" || self.status >= 400 {
            let error: ErrorResult = serde_json::from_value(envelope.result).unwrap_or_default();
            return Err(PebbleError::Api {
                status: envelope.status_code.unwrap_or(self.status),
                kind: error.kind,
                message: error.message,
            });
        }
        Ok(envelope)
    }
}

/// Pebble's response envelope.
#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    r#type: String,
    #[serde(default, rename = "status-code")]
    status_code: Option<u16>,
    #[serde(default)]
    change: Option<String>,
    #[serde(default)]
    result: Value,
}

impl Envelope {
    fn result_as<T: serde::de::DeserializeOwned>(self, what: &str) -> Result<T, PebbleError> {
        serde_json::from_value(self.result)
            .map_err(|e| PebbleError::Protocol(format!("{what}: unexpected result: {e}")))
    }

    fn change_id(&self, what: &str) -> Result<String, PebbleError> {
        self.change
            .clone()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                PebbleError::Protocol(format!("{what}: expected an async reply with a change id"))
            })
    }
}

/// The `result` of an error envelope, and the `error` of a per-path file result.
#[derive(Debug, Default, Deserialize)]
struct ErrorResult {
    #[serde(default)]
    message: String,
    #[serde(default)]
    kind: String,
}

/// A change as `GET /v1/changes/{id}/wait` reports it.
#[derive(Debug, Deserialize)]
struct Change {
    id: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    ready: bool,
    #[serde(default)]
    err: String,
    #[serde(default)]
    tasks: Vec<Task>,
}

impl Change {
    fn into_result(self) -> Result<Change, PebbleError> {
        if self.err.is_empty() {
            Ok(self)
        } else {
            Err(PebbleError::ChangeFailed {
                id: self.id,
                kind: self.kind,
                message: self.err,
            })
        }
    }
}

#[derive(Debug, Deserialize)]
struct Task {
    #[serde(default)]
    data: serde_json::Map<String, Value>,
}

/// One entry of the per-path results of the files API.
#[derive(Debug, Deserialize)]
struct FileResult {
    path: String,
    #[serde(default)]
    error: Option<ErrorResult>,
}

/// Turns the per-path result of a files call into an error when Pebble reported one.
/// Pebble answers these with HTTP 200 and the error inside; it is mapped to
/// [`PebbleError::Api`] with the status Pebble itself uses for the same error kind
/// elsewhere (404 `not-found`, 403 `permission-denied`, 400 otherwise), so
/// [`PebbleError::is_not_found`] works the same for every call.
fn check_path_result(result: Value, path: &str) -> Result<(), PebbleError> {
    let results: Vec<FileResult> = serde_json::from_value::<Option<Vec<FileResult>>>(result)
        .map_err(|e| PebbleError::Protocol(format!("files result for {path}: {e}")))?
        .unwrap_or_default();
    let entry = results
        .into_iter()
        .find(|entry| entry.path == path)
        .ok_or_else(|| PebbleError::Protocol(format!("no result for {path} in the reply")))?;
    match entry.error {
        None => Ok(()),
        Some(error) => Err(PebbleError::Api {
            status: match error.kind.as_str() {
                "not-found" => 404,
                "permission-denied" => 403,
                _ => 400,
            },
            kind: error.kind,
            message: error.message,
        }),
    }
}

/// The plan in the reply of `GET /v1/plan?format=yaml` (a YAML string as the result).
fn decode_plan(envelope: Envelope, path: &str) -> Result<Plan, PebbleError> {
    let yaml: String = envelope.result_as(path)?;
    serde_yaml_ng::from_str(&yaml)
        .map_err(|e| PebbleError::Protocol(format!("{path}: cannot parse the plan: {e}")))
}

/// The file content in the reply of `GET /v1/files?action=read` (`request_path`, for
/// messages): a multipart body with the content and a JSON `response` part, or a JSON
/// error envelope.
async fn read_file_reply(
    reply: RawReply,
    path: &str,
    request_path: &str,
) -> Result<Vec<u8>, PebbleError> {
    if reply.status >= 400 || !reply.content_type.starts_with("multipart/") {
        // Requests Pebble rejects outright come back as a JSON error envelope.
        reply.envelope()?;
        return Err(PebbleError::Protocol(format!(
            "{}: expected a multipart reply, got {:?}",
            reply.what, reply.content_type
        )));
    }
    let (content, response) = parse_read_reply(&reply.content_type, reply.body).await?;
    let response = response.ok_or_else(|| {
        PebbleError::Protocol(format!("{request_path}: no \"response\" part in the reply"))
    })?;
    let envelope: Envelope = serde_json::from_slice(&response).map_err(|e| {
        PebbleError::Protocol(format!("{request_path}: bad \"response\" part: {e}"))
    })?;
    check_path_result(envelope.result, path)?;
    content.ok_or_else(|| {
        PebbleError::Protocol(format!("{request_path}: no file content in the reply"))
    })
}

/// The change and task ids in the reply of `POST /v1/exec`.
fn exec_ids(envelope: &Envelope) -> Result<(String, String), PebbleError> {
    let change_id = envelope.change_id("/v1/exec")?;
    let task_id = envelope
        .result
        .get("task-id")
        .and_then(Value::as_str)
        .ok_or_else(|| PebbleError::Protocol("POST /v1/exec: no task-id in the reply".into()))?
        .to_owned();
    Ok((change_id, task_id))
}

/// The exit code an exec change reports (`-1` when it reports none).
fn exit_code(change: &Change) -> i32 {
    change
        .tasks
        .first()
        .and_then(|task| task.data.get("exit-code"))
        .and_then(Value::as_i64)
        .and_then(|code| i32::try_from(code).ok())
        .unwrap_or(-1)
}

/// Pebble's permission/ownership fields for writes and directory creation.
fn auth_fields(options: &PushOptions) -> serde_json::Map<String, Value> {
    let mut fields = serde_json::Map::new();
    if let Some(permissions) = options.permissions {
        fields.insert("permissions".into(), json!(format!("{permissions:03o}")));
    }
    if let Some(user) = &options.user {
        fields.insert("user".into(), json!(user));
    }
    if let Some(group) = &options.group {
        fields.insert("group".into(), json!(group));
    }
    fields
}

/// A multipart boundary (32 hex digits, Pebble wants at least 32 characters) that does
/// not occur in `content`.
fn unique_boundary(content: &[u8]) -> String {
    loop {
        // RandomState is seeded randomly per process and varies per instance.
        let state = std::collections::hash_map::RandomState::new();
        let mut first = state.build_hasher();
        first.write_u64(0x7065_6262_6c65);
        let mut second = state.build_hasher();
        second.write_u64(first.finish());
        let boundary = format!("{:016x}{:016x}", first.finish(), second.finish());
        if !contains(content, boundary.as_bytes()) {
            return boundary;
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The `multipart/form-data` body of `POST /v1/files` (action `write`): a `request`
/// JSON part followed by one `files` part named by the target path.
fn encode_push_body(boundary: &str, metadata: &Value, path: &str, content: &[u8]) -> Bytes {
    let filename = path.replace('\\', "\\\\").replace('"', "\\\"");
    let metadata = metadata.to_string();
    let mut body = Vec::with_capacity(content.len() + metadata.len() + 400);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\n\
             Content-Type: application/json\r\n\
             Content-Disposition: form-data; name=\"request\"\r\n\
             \r\n\
             {metadata}\r\n\
             --{boundary}\r\n\
             Content-Type: application/octet-stream\r\n\
             Content-Disposition: form-data; name=\"files\"; filename=\"{filename}\"\r\n\
             \r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Bytes::from(body)
}

/// Splits the multipart reply of `GET /v1/files?action=read` into the file's content
/// (the `files` part) and the JSON `response` part.
async fn parse_read_reply(
    content_type: &str,
    body: Bytes,
) -> Result<(Option<Vec<u8>>, Option<Bytes>), PebbleError> {
    let protocol = |e: multer::Error| PebbleError::Protocol(format!("bad multipart reply: {e}"));
    let boundary = multer::parse_boundary(content_type).map_err(protocol)?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut content = None;
    let mut response = None;
    while let Some(field) = multipart.next_field().await.map_err(protocol)? {
        match field.name() {
            Some("files") => content = Some(field.bytes().await.map_err(protocol)?.to_vec()),
            Some("response") => response = Some(field.bytes().await.map_err(protocol)?),
            _ => {}
        }
    }
    Ok((content, response))
}

/// Reads an exec output websocket until Pebble's end-of-stream marker (or until the
/// connection ends, which Pebble's own clients also treat as the end).
async fn read_stream<S>(socket: &mut S) -> Vec<u8>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let mut output = Vec::new();
    while let Some(message) = socket.next().await {
        match message {
            Ok(Message::Binary(data)) => output.extend_from_slice(&data),
            Ok(Message::Text(text)) => {
                let command: Option<String> = serde_json::from_str::<Value>(text.as_str())
                    .ok()
                    .and_then(|v| v.get("command").and_then(Value::as_str).map(str::to_owned));
                if command.as_deref() == Some("end") {
                    break;
                }
                tracing::debug!("ignoring unknown exec I/O command");
            }
            Ok(Message::Close(_)) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::debug!("exec output stream ended: {e}");
                break;
            }
        }
    }
    output
}

/// `base?k=v&...`, leaving out empty values.
fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    let mut path = base.to_owned();
    let mut separator = '?';
    for (key, value) in params {
        if value.is_empty() {
            continue;
        }
        path.push(separator);
        path.push_str(key);
        path.push('=');
        path.push_str(&encode(value));
        separator = '&';
    }
    path
}

fn encode(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

/// How long the client waits for an exec: its own timeout plus a grace period for
/// Pebble to report it, or the change timeout. Saturates: a huge timeout never panics.
fn exec_wait_limit(timeout: Option<Duration>, change_timeout: Duration) -> Duration {
    match timeout {
        Some(timeout) => timeout.saturating_add(EXEC_WAIT_GRACE),
        None => change_timeout,
    }
}

/// A point in time `limit` from now, or never when that is past what an [`Instant`]
/// can hold (a huge limit means "wait as long as it takes", not a panic).
#[derive(Debug, Clone, Copy)]
struct Deadline(Option<Instant>);

impl Deadline {
    fn after(limit: Duration) -> Deadline {
        Deadline(Instant::now().checked_add(limit))
    }

    /// The time left, zero once passed; `Duration::MAX` for a deadline that never comes.
    fn remaining(self) -> Duration {
        self.0.map_or(Duration::MAX, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        })
    }
}

/// The longest duration Go's `time.Duration` (int64 nanoseconds) holds, in milliseconds.
const GO_MAX_DURATION_MILLIS: u128 = (i64::MAX as u128) / 1_000_000;

/// A duration as Go's `time.ParseDuration` reads it, to the millisecond: rounded up (so
/// a sub-millisecond timeout stays a timeout) and capped at Go's largest duration (about
/// 292 years) so Pebble never rejects it as out of range.
fn go_duration(duration: Duration) -> String {
    let millis = duration
        .as_nanos()
        .div_ceil(1_000_000)
        .min(GO_MAX_DURATION_MILLIS);
    format!("{}.{:03}s", millis / 1000, millis % 1000)
}

fn io_context(kind: std::io::ErrorKind, what: &str, error: impl Display) -> PebbleError {
    PebbleError::Io(std::io::Error::new(kind, format!("{what}: {error}")))
}

/// The start of a body, for error messages.
fn snippet(body: &[u8]) -> String {
    let start = body.get(..200).unwrap_or(body);
    String::from_utf8_lossy(start).into_owned()
}

/// Entry points for the fuzz targets (feature `fuzzing`, `fuzz/`): each decodes a reply
/// exactly as the client's call of the same name does, without a socket. Not an API.
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing {
    use futures_util::FutureExt;

    use super::*;

    /// Which call's reply to decode (a call of [`Pebble`], or a step of one).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Call {
        /// [`Pebble::system_info`].
        SystemInfo,
        /// [`Pebble::plan`].
        Plan,
        /// [`Pebble::add_layer`].
        AddLayer,
        /// [`Pebble::services`].
        Services,
        /// The reply starting a change ([`Pebble::start`], `stop`, `restart`, `replan`).
        ServicesAction,
        /// `GET /v1/changes/{id}/wait`, which every change is waited on with.
        WaitChange,
        /// [`Pebble::push`].
        Push,
        /// [`Pebble::pull`] (a multipart reply).
        Pull,
        /// [`Pebble::list_files`].
        ListFiles,
        /// [`Pebble::make_dir`] and [`Pebble::remove_path`].
        FilesAction,
        /// [`Pebble::checks`].
        Checks,
        /// [`Pebble::notices`].
        Notices,
        /// The reply of `POST /v1/exec` ([`Pebble::exec`]).
        Exec,
        /// The finished exec change ([`Pebble::exec`]): its exit code.
        ExecChange,
    }

    impl Call {
        /// Every call, in declaration order.
        pub const ALL: [Call; 14] = [
            Call::SystemInfo,
            Call::Plan,
            Call::AddLayer,
            Call::Services,
            Call::ServicesAction,
            Call::WaitChange,
            Call::Push,
            Call::Pull,
            Call::ListFiles,
            Call::FilesAction,
            Call::Checks,
            Call::Notices,
            Call::Exec,
            Call::ExecChange,
        ];
    }

    /// One frame read off an exec output websocket.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum Frame {
        /// Output bytes.
        Binary(Vec<u8>),
        /// A control message (`{"command":"end"}` ends the stream).
        Text(String),
        /// A ping.
        Ping(Vec<u8>),
        /// A close frame.
        Close,
        /// The connection broke.
        Error,
    }

    /// Decodes `body` as the reply to `call` with this HTTP status and content type;
    /// `path` is the file path asked about (files calls). `None` if decoding did not
    /// finish on a body that is all there (it must: that would be a hang).
    pub fn reply(
        call: Call,
        status: u16,
        content_type: &str,
        path: &str,
        body: &[u8],
    ) -> Option<Result<(), PebbleError>> {
        let reply = RawReply {
            what: format!("{call:?}"),
            status,
            content_type: content_type.to_owned(),
            body: Bytes::copy_from_slice(body),
        };
        let what = "/v1/fuzz";
        let done = |result: Result<(), PebbleError>| Some(result);
        match call {
            Call::SystemInfo => done(envelope_as::<SystemInfo>(&reply, what)),
            Call::Plan => done(
                reply
                    .envelope()
                    .and_then(|e| decode_plan(e, what))
                    .map(drop),
            ),
            Call::AddLayer => done(reply.envelope().map(drop)),
            Call::Services => done(envelope_as::<Vec<ServiceInfo>>(&reply, what)),
            Call::ServicesAction => {
                done(reply.envelope().and_then(|e| e.change_id(what)).map(drop))
            }
            Call::WaitChange => done(if reply.status == 504 {
                Ok(())
            } else {
                reply
                    .envelope()
                    .and_then(|e| e.result_as::<Change>(what))
                    .and_then(|change| match change.ready {
                        true => change.into_result().map(drop),
                        false => Ok(()),
                    })
            }),
            Call::Push | Call::FilesAction => done(
                reply
                    .envelope()
                    .and_then(|e| check_path_result(e.result, path)),
            ),
            Call::Pull => read_file_reply(reply, path, what)
                .now_or_never()
                .map(|result| result.map(drop)),
            Call::ListFiles => done(envelope_as::<Option<Vec<FileInfo>>>(&reply, what)),
            Call::Checks => done(envelope_as::<Option<Vec<CheckInfo>>>(&reply, what)),
            Call::Notices => done(envelope_as::<Option<Vec<Notice>>>(&reply, what)),
            Call::Exec => done(reply.envelope().and_then(|e| exec_ids(&e)).map(drop)),
            Call::ExecChange => done(
                reply
                    .envelope()
                    .and_then(|e| e.result_as::<Change>(what))
                    .map(|change| {
                        std::hint::black_box(exit_code(&change));
                    }),
            ),
        }
    }

    fn envelope_as<T: serde::de::DeserializeOwned>(
        reply: &RawReply,
        what: &str,
    ) -> Result<(), PebbleError> {
        reply.envelope()?.result_as::<T>(what).map(drop)
    }

    /// Reads an exec output stream made of `frames` as the client does; `None` if the
    /// reading did not finish once the frames ran out (it must: that would be a hang).
    pub fn exec_output(frames: Vec<Frame>) -> Option<Vec<u8>> {
        use tokio_tungstenite::tungstenite::Error;
        let messages = frames.into_iter().map(|frame| match frame {
            Frame::Binary(data) => Ok(Message::Binary(Bytes::from(data))),
            Frame::Text(text) => Ok(Message::text(text)),
            Frame::Ping(data) => Ok(Message::Ping(Bytes::from(data))),
            Frame::Close => Ok(Message::Close(None)),
            Frame::Error => Err(Error::ConnectionClosed),
        });
        let mut stream = futures_util::stream::iter(messages);
        read_stream(&mut stream).now_or_never()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_leaves_out_empty_values_and_encodes_the_rest() {
        assert_eq!(
            with_query(
                "/v1/files",
                &[("action", "list"), ("path", "/a b"), ("pattern", "")]
            ),
            "/v1/files?action=list&path=%2Fa%20b"
        );
        assert_eq!(with_query("/v1/services", &[("names", "")]), "/v1/services");
    }

    #[test]
    fn durations_are_go_durations() {
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.500s");
        assert_eq!(go_duration(Duration::from_secs(30)), "30.000s");
        assert_eq!(go_duration(Duration::ZERO), "0.000s");
        assert_eq!(go_duration(Duration::from_micros(1)), "0.001s");
        assert_eq!(go_duration(Duration::from_micros(2_500)), "0.003s");
        // Go's largest duration is 9223372036.854775807s.
        assert_eq!(go_duration(Duration::MAX), "9223372036.854s");
        assert_eq!(
            go_duration(Duration::from_secs(9_223_372_037)),
            "9223372036.854s"
        );
    }

    #[test]
    fn huge_timeouts_saturate_instead_of_panicking() {
        assert_eq!(
            exec_wait_limit(Some(Duration::MAX), Client::DEFAULT_CHANGE_TIMEOUT),
            Duration::MAX
        );
        assert_eq!(
            exec_wait_limit(Some(Duration::from_secs(10)), Duration::MAX),
            Duration::from_secs(15)
        );
        assert_eq!(exec_wait_limit(None, Duration::MAX), Duration::MAX);
        // A deadline past what an Instant holds never comes.
        assert_eq!(Deadline::after(Duration::MAX).remaining(), Duration::MAX);
        assert!(Deadline::after(Duration::from_secs(60)).remaining() <= Duration::from_secs(60));
        assert!(Deadline::after(Duration::ZERO).remaining().is_zero());
    }

    #[test]
    fn boundary_is_long_enough_and_absent_from_content() {
        let boundary = unique_boundary(b"");
        assert_eq!(boundary.len(), 32);
        let content = format!("x--{boundary}--y");
        let other = unique_boundary(content.as_bytes());
        assert_ne!(other, boundary);
        assert!(!content.contains(&other));
    }

    #[test]
    fn path_errors_map_to_api_errors_by_kind() {
        let result = json!([{"path": "/a", "error": {"kind": "not-found", "message": "stat /a: no such file"}}]);
        let error = check_path_result(result, "/a").unwrap_err();
        assert!(error.is_not_found(), "{error:?}");
        let result =
            json!([{"path": "/a", "error": {"kind": "generic-file-error", "message": "boom"}}]);
        assert!(matches!(
            check_path_result(result, "/a"),
            Err(PebbleError::Api { status: 400, .. })
        ));
        assert!(check_path_result(json!([{"path": "/a"}]), "/a").is_ok());
        assert!(matches!(
            check_path_result(json!([{"path": "/b"}]), "/a"),
            Err(PebbleError::Protocol(_))
        ));
    }
}
