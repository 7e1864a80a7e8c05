//! What the fuzz targets share: reading the fuzzer's bytes as a structured input, a Juju
//! whose hook tools answer with them, and the rendering every parsed input ends in.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use arbitrary::{Arbitrary, Unstructured};
use charm_kratos::charm_config::CharmConfig;
use charm_kratos::identity_schemas::select_identity_schemas;
use charm_kratos::kratos_config;
use charm_kratos::workload::WorkloadSpec;
use juju_rs_ops::tools::{ToolError, ToolRunner};
use juju_rs_ops::{Event, Model};
use serde::de::DeserializeOwned;

pub use juju_rs_ops::Databag;

pub mod targets;

/// The input as JSON (the wire format of databags, config-get and action-get output: what
/// the corpus holds), else as `arbitrary` structured data, so that no mutation is wasted
/// on the JSON syntax: a map of strings either way.
pub fn input<T>(data: &[u8]) -> Option<T>
where
    T: DeserializeOwned + for<'a> Arbitrary<'a>,
{
    serde_json::from_slice(data)
        .ok()
        .or_else(|| T::arbitrary_take_rest(Unstructured::new(data)).ok())
}

/// An input whose first line holds words (e.g. `services 200 application/json`) and the
/// rest a body (a reply as it came off the wire).
pub fn header(data: &[u8]) -> (Vec<&str>, &[u8]) {
    let (first, body) = match data.iter().position(|b| *b == b'\n') {
        Some(end) => (&data[..end], &data[end + 1..]),
        None => (data, &data[data.len()..]),
    };
    let words = std::str::from_utf8(first)
        .map(|line| line.split_whitespace().collect())
        .unwrap_or_default();
    (words, body)
}

/// Juju's hook tools answering from a map: tool name -> stdout; a tool not in the map
/// fails as Juju's do for what does not exist (`... not found`). Records the calls.
#[derive(Default)]
pub struct FakeJuju {
    pub answers: BTreeMap<String, Vec<u8>>,
    pub calls: RefCell<Vec<(String, Vec<String>, Option<Vec<u8>>)>>,
}

impl FakeJuju {
    pub fn new(answers: impl IntoIterator<Item = (String, Vec<u8>)>) -> Rc<FakeJuju> {
        Rc::new(FakeJuju {
            answers: answers.into_iter().collect(),
            calls: RefCell::default(),
        })
    }

    /// A model of unit `kratos/0` in model `iam`, in the event given by `vars` (a
    /// config-changed hook when empty).
    pub fn model(self: &Rc<FakeJuju>, vars: &[(&str, &str)]) -> Model {
        let mut env = vec![
            ("JUJU_UNIT_NAME", "kratos/0"),
            ("JUJU_MODEL_NAME", "iam"),
            ("JUJU_MODEL_UUID", "9f2c4d4e-0c1d-4d3b-8d8e-1b2c3d4e5f60"),
            ("JUJU_DISPATCH_PATH", "hooks/config-changed"),
        ];
        env.extend_from_slice(vars);
        let runner: Rc<dyn ToolRunner> = self.clone();
        Model::new(runner, &Event::from_vars(env))
    }
}

impl ToolRunner for FakeJuju {
    fn run(&self, tool: &str, args: &[String], stdin: Option<&[u8]>) -> Result<Vec<u8>, ToolError> {
        self.calls
            .borrow_mut()
            .push((tool.to_string(), args.to_vec(), stdin.map(<[u8]>::to_vec)));
        match self.answers.get(tool) {
            Some(out) => Ok(out.clone()),
            // Writes succeed silently, as Juju's do.
            None if is_write(tool) => Ok(Vec::new()),
            None => Err(ToolError::Failed {
                tool: tool.to_string(),
                code: 1,
                stderr: "ERROR not found".to_string(),
            }),
        }
    }
}

fn is_write(tool: &str) -> bool {
    matches!(
        tool,
        "action-set"
            | "action-log"
            | "action-fail"
            | "relation-set"
            | "state-set"
            | "status-set"
            | "juju-log"
            | "secret-set"
            | "secret-add"
    )
}

/// The spec of the default config with the shipped identity schemas: what every
/// integration's data is added to.
pub fn default_spec() -> WorkloadSpec {
    let config = CharmConfig::default()
        .validate()
        .expect("the default config is valid");
    let schemas = select_identity_schemas(None, None).expect("the shipped schemas are valid");
    WorkloadSpec::from_config(&config, schemas.set, None)
}

/// Renders `kratos.yaml` for the spec and checks that the text is YAML that reads back
/// as the typed configuration's own serialisation (no value injected structure). A
/// render error is a status, not a finding.
pub fn render(spec: &WorkloadSpec) {
    let Ok(config) = kratos_config::render(&spec.render) else {
        return;
    };
    let Ok(yaml) = config.to_yaml() else {
        return;
    };
    let back: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&yaml).expect("rendered kratos.yaml is YAML");
    let direct = serde_yaml_ng::to_value(&config).expect("the typed config serialises");
    assert_eq!(back, direct, "kratos.yaml reads back as what was rendered");
}

/// Checks that `secret` (when long enough to be told apart, and not also part of the
/// non-secret input `elsewhere`) does not appear in `text` (a status or error message).
pub fn assert_hidden(secret: &str, elsewhere: &[&str], text: &str) {
    if secret.chars().count() < 12 || elsewhere.iter().any(|other| other.contains(secret)) {
        return;
    }
    assert!(
        !text.contains(secret),
        "a secret reached a message: {text:?}"
    );
}
