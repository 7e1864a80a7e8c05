//! The Terraform module in `terraform/` against the charm it deploys: its `.tf` files are
//! parsed (hcl-rs) and compared with metadata.yaml, config.yaml and charmcraft.yaml, and
//! `tofu fmt` (OpenTofu from the Go module proxy, scripts/install-opentofu.sh) must find
//! nothing to reformat.
//!
//! `tofu validate` is not run: it needs `tofu init`, which downloads the `juju/juju`
//! provider from a provider registry that these machines cannot reach.
// Test code: it may unwrap, index and panic like any test does (the charm's lints are
// for what runs in a hook).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hcl::{Block, Body, Expression, ObjectKey};
use serde_yaml_ng::Value as Yaml;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn yaml(name: &str) -> Yaml {
    serde_yaml_ng::from_str(&read(&root().join(name)))
        .unwrap_or_else(|e| panic!("parsing {name}: {e}"))
}

/// The module: every top-level block of its `.tf` files, and their text.
struct Module {
    blocks: Vec<Block>,
    texts: BTreeMap<String, String>,
}

impl Module {
    fn load() -> Module {
        let dir = root().join("terraform");
        let mut blocks = Vec::new();
        let mut texts = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "tf") {
                let text = read(&path);
                let body: Body =
                    hcl::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                blocks.extend(body.into_blocks());
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                texts.insert(name, text);
            }
        }
        assert!(!blocks.is_empty(), "no .tf files in {}", dir.display());
        Module { blocks, texts }
    }

    /// The blocks `kind "label" {}` by label (`variable`, `output`).
    fn labelled(&self, kind: &str) -> BTreeMap<String, &Block> {
        self.blocks
            .iter()
            .filter(|b| b.identifier() == kind)
            .map(|b| (b.labels()[0].as_str().to_string(), b))
            .collect()
    }

    /// `resource "<kind>" "<name>"`.
    fn resource(&self, kind: &str, name: &str) -> &Block {
        self.blocks
            .iter()
            .find(|b| {
                b.identifier() == "resource"
                    && b.labels().len() == 2
                    && b.labels()[0].as_str() == kind
                    && b.labels()[1].as_str() == name
            })
            .unwrap_or_else(|| panic!("no resource \"{kind}\" \"{name}\" in terraform/"))
    }
}

fn attribute<'a>(body: &'a Body, key: &str) -> Option<&'a Expression> {
    body.attributes().find(|a| a.key() == key).map(|a| a.expr())
}

fn string(expr: &Expression) -> Option<&str> {
    match expr {
        Expression::String(s) => Some(s),
        _ => None,
    }
}

fn key_name(key: &ObjectKey) -> String {
    match key {
        ObjectKey::Identifier(ident) => ident.as_str().to_string(),
        ObjectKey::Expression(Expression::String(s)) => s.clone(),
        other => panic!("object key {other} is not a name"),
    }
}

/// An object expression as name -> value.
fn object(expr: &Expression, what: &str) -> BTreeMap<String, Expression> {
    match expr {
        Expression::Object(object) => object
            .iter()
            .map(|(k, v)| (key_name(k), v.clone()))
            .collect(),
        other => panic!("{what} is not an object: {other}"),
    }
}

fn yaml_keys(value: &Yaml, key: &str) -> BTreeSet<String> {
    value[key]
        .as_mapping()
        .map(|m| m.keys().map(|k| k.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn every_config_option_is_settable_and_the_default_config_is_valid() {
    let module = Module::load();
    let variables = module.labelled("variable");
    let config = variables.get("config").expect("a `config` variable");
    let body = config.body();
    assert_eq!(
        attribute(body, "type").map(ToString::to_string).as_deref(),
        Some("map(string)"),
        "`config` must be a map(string), so that every option of config.yaml can be set"
    );
    let app = module.resource("juju_application", "application");
    assert_eq!(
        attribute(app.body(), "config")
            .map(ToString::to_string)
            .as_deref(),
        Some("var.config"),
        "juju_application.application must pass var.config on unchanged"
    );

    let options = yaml("config.yaml")["options"].as_mapping().unwrap().clone();
    let defaults = attribute(body, "default")
        .map_or_else(BTreeMap::new, |d| object(d, "the default of `config`"));
    let mut problems = Vec::new();
    for (name, value) in &defaults {
        let Some(option) = options.get(name.as_str()) else {
            problems.push(format!("{name} is not an option of config.yaml"));
            continue;
        };
        let Some(value) = string(value) else {
            problems.push(format!("{name} = {value} is not a string"));
            continue;
        };
        let kind = option["type"].as_str().unwrap();
        let valid = match kind {
            "boolean" => matches!(value, "true" | "false"),
            "int" => value.parse::<i64>().is_ok(),
            "float" => value.parse::<f64>().is_ok(),
            _ => true,
        };
        if !valid {
            problems.push(format!("{name} = {value:?} is not a {kind}"));
        }
    }
    assert!(
        problems.is_empty(),
        "the default of the `config` variable in terraform/variables.tf: {problems:#?}"
    );
}

#[test]
fn the_endpoint_outputs_name_exactly_the_endpoints_of_metadata_yaml() {
    let module = Module::load();
    let outputs = module.labelled("output");
    let metadata = yaml("metadata.yaml");
    for role in ["requires", "provides"] {
        let output = outputs
            .get(role)
            .unwrap_or_else(|| panic!("no `{role}` output in terraform/"));
        let value = attribute(output.body(), "value").expect("a value");
        let published = object(value, &format!("output {role}"));
        let expected = yaml_keys(&metadata, role);
        let names: BTreeSet<String> = published.keys().cloned().collect();
        let missing: Vec<_> = expected.difference(&names).collect();
        let extra: Vec<_> = names.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "output `{role}` in terraform/outputs.tf: missing {missing:?} (in metadata.yaml's \
             {role}), extra {extra:?} (not in metadata.yaml's {role})"
        );
        for (name, endpoint) in &published {
            assert_eq!(
                string(endpoint),
                Some(name.as_str()),
                "output `{role}`: {name} must map to the endpoint name itself"
            );
        }
    }
    // Peer relations are the application's own: not for integrating.
    for peer in yaml_keys(&metadata, "peers") {
        assert!(
            !module.texts.values().any(|t| t.contains(&peer)),
            "the peer endpoint {peer} must not be offered by the module"
        );
    }
}

#[test]
fn the_application_deploys_this_charm_as_metadata_and_charmcraft_describe_it() {
    let module = Module::load();
    let metadata = yaml("metadata.yaml");
    let charmcraft = yaml("charmcraft.yaml");
    let app = module.resource("juju_application", "application");
    let charm = app
        .body()
        .blocks()
        .find(|b| b.identifier() == "charm")
        .expect("a charm block");
    assert_eq!(
        attribute(charm.body(), "name").and_then(string),
        metadata["name"].as_str(),
        "the charm block must deploy the charm metadata.yaml names"
    );
    for (attr, variable) in [
        ("base", "var.base"),
        ("channel", "var.channel"),
        ("revision", "var.revision"),
    ] {
        assert_eq!(
            attribute(charm.body(), attr)
                .map(ToString::to_string)
                .as_deref(),
            Some(variable),
            "charm.{attr}"
        );
    }
    let variables = module.labelled("variable");
    let base = attribute(variables["base"].body(), "default").and_then(string);
    assert_eq!(
        base,
        charmcraft["base"].as_str(),
        "the default base must be the one charmcraft.yaml builds for"
    );

    // The charm uses the Kubernetes API (metadata `assumes: k8s-api`): it needs trust.
    let assumes_k8s_api = metadata["assumes"]
        .as_sequence()
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("k8s-api")));
    assert_eq!(
        attribute(app.body(), "trust"),
        assumes_k8s_api.then_some(&Expression::Bool(true)),
        "trust must be true exactly when metadata.yaml assumes k8s-api"
    );

    // Every OCI image resource gets metadata.yaml's upstream-source by default: the module
    // reads metadata.yaml and names the resource.
    let main = &module.texts["main.tf"];
    assert!(
        main.contains("../metadata.yaml"),
        "main.tf must read the default image from metadata.yaml"
    );
    let resources = metadata["resources"].as_mapping().unwrap();
    for (name, resource) in resources {
        if resource["type"].as_str() == Some("oci-image") {
            let name = name.as_str().unwrap();
            assert!(
                main.contains(&format!("\"{name}\"")) && main.contains("upstream-source"),
                "main.tf must default the {name} resource to metadata.yaml's upstream-source"
            );
        }
    }
}

/// The rows of the Markdown table under `## <section>`: first cell (without backticks)
/// -> all cells.
fn table(markdown: &str, section: &str) -> BTreeMap<String, Vec<String>> {
    let heading = format!("## {section}");
    let start = markdown
        .lines()
        .position(|l| l.trim() == heading)
        .unwrap_or_else(|| panic!("no `{heading}` section"));
    markdown
        .lines()
        .skip(start + 1)
        .take_while(|l| !l.starts_with("## "))
        .filter(|l| l.starts_with('|') && !l.starts_with("|-") && !l.starts_with("| Name"))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect();
            (cells[0].trim_matches('`').to_string(), cells)
        })
        .collect()
}

#[test]
fn the_readme_documents_every_variable_and_output_and_nothing_else() {
    let module = Module::load();
    let readme = read(&root().join("terraform/README.md"));
    let inputs = table(&readme, "Inputs");
    let variables = module.labelled("variable");
    for (name, block) in &variables {
        let row = inputs
            .get(name)
            .unwrap_or_else(|| panic!("terraform/README.md: no Inputs row for `{name}`"));
        let kind = attribute(block.body(), "type").unwrap().to_string();
        assert!(
            row.iter().any(|cell| cell == &format!("`{kind}`")),
            "terraform/README.md: the row of `{name}` must give its type `{kind}`: {row:?}"
        );
        let required = attribute(block.body(), "default").is_none();
        assert_eq!(
            row.last().map(String::as_str),
            Some(if required { "yes" } else { "no" }),
            "terraform/README.md: is `{name}` required?"
        );
        // The variable is used, not just declared.
        let used = module
            .texts
            .iter()
            .filter(|(file, _)| file.as_str() != "variables.tf")
            .any(|(_, text)| text.contains(&format!("var.{name}")));
        assert!(used, "variable `{name}` is declared but never used");
    }
    let documented: BTreeSet<&String> = inputs.keys().collect();
    let declared: BTreeSet<&String> = variables.keys().collect();
    assert_eq!(
        documented, declared,
        "terraform/README.md Inputs vs variables"
    );

    let outputs: BTreeSet<String> = module.labelled("output").into_keys().collect();
    let rows: BTreeSet<String> = table(&readme, "Outputs").into_keys().collect();
    assert_eq!(rows, outputs, "terraform/README.md Outputs vs outputs");
}

/// The OpenTofu CLI (`$TOFU_BIN`, else where scripts/install-opentofu.sh puts it).
fn tofu_bin() -> PathBuf {
    let path = std::env::var_os("TOFU_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            std::env::var_os("CHARM_KRATOS_BIN")
                .map(PathBuf::from)
                .unwrap_or_else(|| {
                    PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                        .join(".cache/charm-kratos/bin")
                })
                .join("tofu")
        });
    assert!(
        path.is_file(),
        "no tofu binary at {} (run scripts/install-opentofu.sh or set TOFU_BIN)",
        path.display()
    );
    path
}

#[test]
fn tofu_fmt_finds_nothing_to_change() {
    let output = std::process::Command::new(tofu_bin())
        .args([
            "fmt",
            "-check",
            "-recursive",
            "-diff",
            "-no-color",
            "terraform/",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`tofu fmt -check -recursive terraform/` wants changes (run `tofu fmt -recursive \
         terraform/`):\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
