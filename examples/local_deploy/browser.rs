//! A scripted browser on this machine's loopback: a cookie jar and no automatic
//! redirects, so each hop of a login can be shown. Every URL it visits is on 127.0.0.1,
//! and cookies are not port-scoped, so the jar is one map of names to values (all of
//! Kratos's and Hydra's cookies have path `/`). Also the plain HTTP calls of the local
//! deployment (Kratos's, Hydra's and Mailpit's APIs).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use url::Url;

pub type R<T> = Result<T, Box<dyn std::error::Error>>;

/// One response as the browser sees it.
pub struct Page {
    pub status: u16,
    /// The redirect target, made absolute.
    pub location: Option<String>,
    pub body: String,
}

impl Page {
    /// The body as JSON (or as a JSON string when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| Value::String(self.body.clone()))
    }

    /// The redirect target of a 3xx response; `what` names the step in the error.
    pub fn redirect(&self, what: &str) -> R<String> {
        match (&self.location, self.status) {
            (Some(location), 300..=399) => Ok(location.clone()),
            _ => Err(format!(
                "{what}: expected a redirect, got {} {}",
                self.status,
                brief(&self.body, 300)
            )
            .into()),
        }
    }
}

#[derive(Default)]
pub struct Browser {
    pub jar: BTreeMap<String, String>,
}

impl Browser {
    pub fn new() -> Browser {
        Browser::default()
    }

    /// One request, following nothing; the response, with any cookies it sets stored.
    /// `body` is sent as a form (`application/x-www-form-urlencoded`) or, when it starts
    /// with `{`, as JSON.
    pub fn request(
        &mut self,
        method: &str,
        url: &str,
        body: Option<String>,
        accept: &str,
    ) -> R<Page> {
        let parsed = Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
        if parsed.host_str() != Some("127.0.0.1") {
            return Err(format!("the browser only visits 127.0.0.1, not {url}").into());
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let mut request = ureq::http::Request::builder()
            .method(method)
            .uri(url)
            .header("Accept", accept);
        if !self.jar.is_empty() {
            let cookies: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header("Cookie", cookies.join("; "));
        }
        let result = match body {
            Some(body) => {
                let kind = if body.starts_with('{') {
                    "application/json"
                } else {
                    "application/x-www-form-urlencoded"
                };
                agent.run(request.header("Content-Type", kind).body(body)?)
            }
            None => agent.run(request.body(())?),
        };
        let mut response = result.map_err(|e| format!("{method} {url}: {e}"))?;
        let headers = response.headers();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let set_cookies: Vec<String> = headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string().unwrap_or_default();
        for cookie in set_cookies {
            self.store(&cookie);
        }
        let location = match location {
            Some(l) => Some(
                parsed
                    .join(&l)
                    .map_err(|e| format!("{l}: {e}"))?
                    .to_string(),
            ),
            None => None,
        };
        Ok(Page {
            status,
            location,
            body,
        })
    }

    /// A page, as a browser navigates.
    pub fn get(&mut self, url: &str) -> R<Page> {
        self.request("GET", url, None, "text/html")
    }

    /// An API call: JSON in and out.
    pub fn api(&mut self, method: &str, url: &str, body: Option<&Value>) -> R<Page> {
        self.request(method, url, body.map(Value::to_string), "application/json")
    }

    fn store(&mut self, set_cookie: &str) {
        let mut attributes = set_cookie.split(';');
        let pair = attributes.next().unwrap_or_default();
        let Some((name, value)) = pair.split_once('=') else {
            return;
        };
        let expired = attributes.any(|a| {
            let a = a.trim().to_ascii_lowercase();
            a.strip_prefix("max-age=")
                .is_some_and(|age| age.parse::<i64>().is_ok_and(|age| age <= 0))
        });
        let (name, value) = (name.trim().to_string(), value.trim().to_string());
        if expired || value.is_empty() {
            self.jar.remove(&name);
        } else {
            self.jar.insert(name, value);
        }
    }
}

/// A JSON call with no cookies: the status and the body.
pub fn call(method: &str, url: &str, body: Option<&Value>) -> R<(u16, Value)> {
    let page = Browser::new().api(method, url, body)?;
    Ok((page.status, page.json()))
}

/// The value of `key` in the query of `url`.
pub fn query(url: &str, key: &str) -> R<String> {
    Url::parse(url)?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| format!("no {key} in {url}").into())
}

pub fn form(fields: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// `text` cut to `max` characters, for one line of output.
pub fn brief(text: &str, max: usize) -> String {
    let text = text.trim();
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}
