//! The documentation in `docs/` against what it documents, so that it cannot drift:
//!
//! - `docs/reference/configuration.md` has a row for every option of config.yaml with its
//!   type and default, and none for an option that is gone;
//! - `docs/reference/actions.md` has a section for every action of actions.yaml and a row for
//!   every parameter with its type, default and whether it is required, and nothing else;
//! - `docs/reference/integrations.md` has a row for every endpoint of metadata.yaml with its
//!   interface, role and limit, and nothing else;
//! - `docs/reference/statuses.md` has every status message the charm can set, as found in
//!   its source (see [`status_templates`]), and documents no message the source does not
//!   hold;
//! - `docs/index.md` links every page of `docs/`, the README links `docs/index.md`, and
//!   every relative link of the documentation leads to a file that exists.
// Test code: it may unwrap, index and panic like any test does (the charm's lints are
// for what runs in a hook).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::too_many_lines
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value as Yaml;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn yaml(relative: &str) -> Yaml {
    serde_yaml_ng::from_str(&read(relative)).unwrap_or_else(|e| panic!("parsing {relative}: {e}"))
}

fn mapping(value: &Yaml) -> Vec<(String, Yaml)> {
    value
        .as_mapping()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

// ------------------------------------------------------------------ Markdown tables

/// A Markdown table: the heading it is under, its header cells and its rows.
#[derive(Debug)]
struct Table {
    heading: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// The cells of a table line; `\|` is a pipe inside a cell.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut cells = vec![String::new()];
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

fn tables(markdown: &str) -> Vec<Table> {
    let mut tables = Vec::new();
    let mut heading = String::new();
    let mut lines = markdown.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with('#') {
            heading = line.trim_start_matches('#').trim().to_string();
            continue;
        }
        let is_table = line.starts_with('|')
            && lines
                .peek()
                .is_some_and(|next| next.starts_with("|-") || next.starts_with("|:"));
        if !is_table {
            continue;
        }
        let header = cells(line);
        lines.next();
        let mut rows = Vec::new();
        while let Some(row) = lines.peek().filter(|l| l.starts_with('|')) {
            rows.push(cells(row));
            lines.next();
        }
        tables.push(Table {
            heading: heading.clone(),
            header,
            rows,
        });
    }
    tables
}

fn unquote(cell: &str) -> String {
    cell.trim().trim_matches('`').to_string()
}

/// How a YAML default is written in the documentation: strings JSON-quoted, the rest as is.
fn shown(value: &Yaml) -> String {
    match value {
        Yaml::String(s) => serde_json::to_string(s).unwrap(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Null => String::new(),
        other => panic!("a default that is not a scalar: {other:?}"),
    }
}

/// Compares what is documented with what the YAML files have, naming what to add and what
/// to remove.
fn assert_same(page: &str, what: &str, documented: &BTreeSet<String>, real: &BTreeSet<String>) {
    let missing: Vec<_> = real.difference(documented).collect();
    let gone: Vec<_> = documented.difference(real).collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "{page}: {what} to document: {missing:?}; documented but no longer there: {gone:?}"
    );
}

// ---------------------------------------------------------------- configuration

#[test]
fn every_config_option_is_documented_with_its_type_and_default() {
    const PAGE: &str = "docs/reference/configuration.md";
    let page = read(PAGE);
    let table = tables(&page)
        .into_iter()
        .find(|t| t.header.first().map(String::as_str) == Some("Option"))
        .unwrap_or_else(|| panic!("{PAGE}: no `| Option | Type | Default | ...` table"));
    let (type_col, default_col) = (
        table.column("Type").unwrap(),
        table.column("Default").unwrap(),
    );
    let rows: BTreeMap<String, &Vec<String>> =
        table.rows.iter().map(|r| (unquote(&r[0]), r)).collect();
    let options = mapping(&yaml("config.yaml")["options"]);
    let real: BTreeSet<String> = options.iter().map(|(name, _)| name.clone()).collect();
    assert_same(
        PAGE,
        "options (add a row `| `<option>` | <type> | <default> | <description> |`)",
        &rows.keys().cloned().collect(),
        &real,
    );
    let mut wrong = Vec::new();
    for (name, option) in &options {
        let row = rows[name];
        let kind = option["type"].as_str().unwrap();
        if row[type_col] != kind {
            wrong.push(format!(
                "{name}: type {:?}, config.yaml says {kind}",
                row[type_col]
            ));
        }
        let default = shown(&option["default"]);
        if unquote(&row[default_col]) != default {
            wrong.push(format!(
                "{name}: default {:?}, config.yaml says `{default}`",
                row[default_col]
            ));
        }
    }
    assert!(wrong.is_empty(), "{PAGE}: {wrong:#?}");
}

// ---------------------------------------------------------------------- actions

#[test]
fn every_action_and_parameter_is_documented() {
    const PAGE: &str = "docs/reference/actions.md";
    let page = read(PAGE);
    let actions = mapping(&yaml("actions.yaml"));
    let sections: BTreeSet<String> = page
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(unquote)
        .collect();
    let real: BTreeSet<String> = actions.iter().map(|(name, _)| name.clone()).collect();
    assert_same(
        PAGE,
        "actions (add a `## `<action>`` section)",
        &sections,
        &real,
    );

    let parameter_tables: BTreeMap<String, Table> = tables(&page)
        .into_iter()
        .filter(|t| t.header.first().map(String::as_str) == Some("Parameter"))
        .map(|t| (unquote(&t.heading), t))
        .collect();
    let mut wrong = Vec::new();
    for (action, spec) in &actions {
        let params = mapping(&spec["params"]);
        let Some(table) = parameter_tables.get(action) else {
            if !params.is_empty() {
                wrong.push(format!("{action}: no `| Parameter | ...` table"));
            }
            continue;
        };
        let rows: BTreeMap<String, &Vec<String>> =
            table.rows.iter().map(|r| (unquote(&r[0]), r)).collect();
        let names: BTreeSet<String> = params.iter().map(|(n, _)| n.clone()).collect();
        let documented: BTreeSet<String> = rows.keys().cloned().collect();
        for missing in names.difference(&documented) {
            wrong.push(format!("{action}: parameter {missing} is not documented"));
        }
        for gone in documented.difference(&names) {
            wrong.push(format!(
                "{action}: documented parameter {gone} no longer exists"
            ));
        }
        let listed = |value: &Yaml| -> BTreeSet<String> {
            value
                .as_sequence()
                .map(|s| s.iter().map(|v| v.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let required = listed(&spec["required"]);
        let one_of: BTreeSet<String> = spec["oneOf"]
            .as_sequence()
            .map(|alternatives| {
                alternatives
                    .iter()
                    .flat_map(|a| listed(&a["required"]))
                    .collect()
            })
            .unwrap_or_default();
        let columns = (
            table.column("Type").unwrap(),
            table.column("Default").unwrap(),
            table.column("Required").unwrap(),
        );
        for (name, param) in &params {
            let Some(row) = rows.get(name) else { continue };
            let kind = param["type"].as_str().unwrap();
            let default = shown(&param["default"]);
            let needed = if required.contains(name) {
                "yes"
            } else if one_of.contains(name) {
                "one of"
            } else {
                "no"
            };
            let got = (
                row[columns.0].as_str(),
                unquote(&row[columns.1]),
                row[columns.2].as_str(),
            );
            if got != (kind, default.clone(), needed) {
                wrong.push(format!(
                    "{action} {name}: documented as {got:?}, actions.yaml says type {kind}, \
                     default `{default}`, required {needed:?}"
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{PAGE}: {wrong:#?}");
}

// ----------------------------------------------------------------- integrations

#[test]
fn every_endpoint_is_documented_with_its_interface_role_and_limit() {
    const PAGE: &str = "docs/reference/integrations.md";
    let page = read(PAGE);
    let table = tables(&page)
        .into_iter()
        .find(|t| t.header.first().map(String::as_str) == Some("Endpoint"))
        .unwrap_or_else(|| panic!("{PAGE}: no `| Endpoint | Interface | Role | Limit |` table"));
    let columns = (
        table.column("Interface").unwrap(),
        table.column("Role").unwrap(),
        table.column("Limit").unwrap(),
    );
    let documented: BTreeMap<String, (String, String, String)> = table
        .rows
        .iter()
        .map(|r| {
            (
                unquote(&r[0]),
                (
                    unquote(&r[columns.0]),
                    r[columns.1].clone(),
                    r[columns.2].clone(),
                ),
            )
        })
        .collect();
    let metadata = yaml("metadata.yaml");
    let mut real = BTreeMap::new();
    for (section, role) in [
        ("requires", "requires"),
        ("provides", "provides"),
        ("peers", "peer"),
    ] {
        for (endpoint, spec) in mapping(&metadata[section]) {
            let limit = spec["limit"]
                .as_u64()
                .map(|l| l.to_string())
                .unwrap_or_default();
            let interface = spec["interface"].as_str().unwrap().to_string();
            real.insert(endpoint, (interface, role.to_string(), limit));
        }
    }
    assert_same(
        PAGE,
        "endpoints",
        &documented.keys().cloned().collect(),
        &real.keys().cloned().collect(),
    );
    let wrong: Vec<String> = real
        .iter()
        .filter(|(endpoint, spec)| documented[*endpoint] != **spec)
        .map(|(endpoint, spec)| {
            format!(
                "{endpoint}: documented (interface, role, limit) {:?}, metadata.yaml says \
                 {spec:?}",
                documented[endpoint]
            )
        })
        .collect();
    assert!(wrong.is_empty(), "{PAGE}: {wrong:#?}");
}

// ------------------------------------------------------------------- links

/// Every Markdown file under `docs/`, relative to the repository.
fn doc_pages() -> Vec<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root().join("docs"), &mut paths);
    let mut pages: Vec<String> = paths
        .iter()
        .map(|p| {
            p.strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    pages.sort();
    pages
}

/// The targets of the Markdown links `[text](target)` of a page.
fn links(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = markdown;
    while let Some(start) = rest.find("](") {
        let after = &rest[start + 2..];
        let Some(end) = after.find(')') else { break };
        out.push(after[..end].to_string());
        rest = &after[end..];
    }
    out
}

#[test]
fn the_index_links_every_page_and_every_link_leads_somewhere() {
    let index_links: BTreeSet<PathBuf> = links(&read("docs/index.md"))
        .iter()
        .map(|l| normalise(&root().join("docs").join(l.split('#').next().unwrap())))
        .collect();
    let unlinked: Vec<String> = doc_pages()
        .into_iter()
        .filter(|p| p != "docs/index.md" && !index_links.contains(&root().join(p)))
        .collect();
    assert!(
        unlinked.is_empty(),
        "docs/index.md does not link {unlinked:?}"
    );
    assert!(
        read("README.md").contains("docs/index.md"),
        "the README must link docs/index.md"
    );

    let mut broken = Vec::new();
    let mut pages = doc_pages();
    pages.extend(["README.md".to_string(), "terraform/README.md".to_string()]);
    for page in &pages {
        let dir = root().join(page).parent().unwrap().to_path_buf();
        for link in links(&read(page)) {
            let target = link.split('#').next().unwrap();
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let path = normalise(&dir.join(target));
            if !path.exists() {
                broken.push(format!("{page}: {link}"));
            }
        }
    }
    assert!(broken.is_empty(), "links to nothing: {broken:#?}");
}

/// `a/b/../c` as `a/c` (without touching the file system).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

// ------------------------------------------------------------------ statuses

/// Rust source with comments blanked and the text of string literals blanked (same
/// length, so offsets agree), and the literals themselves (offset, unescaped text).
struct Source {
    masked: String,
    literals: Vec<(usize, String)>,
}

impl Source {
    fn parse(text: &str) -> Source {
        let bytes = text.as_bytes();
        let mut masked = text.as_bytes().to_vec();
        let mut literals = Vec::new();
        let mut i = 0;
        let blank = |masked: &mut Vec<u8>, from: usize, to: usize| {
            for b in &mut masked[from..to] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        };
        while i < bytes.len() {
            let rest = &text[i..];
            if rest.starts_with("//") {
                let end = rest.find('\n').map_or(bytes.len(), |e| i + e);
                blank(&mut masked, i, end);
                i = end;
            } else if rest.starts_with("/*") {
                let end = rest.find("*/").map_or(bytes.len(), |e| i + e + 2);
                blank(&mut masked, i, end);
                i = end;
            } else if rest.starts_with("r#\"") || rest.starts_with("r\"") {
                let hashes = rest[1..].chars().take_while(|c| *c == '#').count();
                let open = 1 + hashes + 1;
                let close = format!("\"{}", "#".repeat(hashes));
                let end = rest[open..].find(&close).unwrap() + open;
                literals.push((i, rest[open..end].to_string()));
                blank(&mut masked, i + open, i + end);
                i += end + close.len();
            } else if rest.starts_with('"') {
                let mut value = String::new();
                let mut chars = rest.char_indices().skip(1).peekable();
                let mut close = rest.len();
                while let Some((at, c)) = chars.next() {
                    match c {
                        '"' => {
                            close = at;
                            break;
                        }
                        '\\' => match chars.next().map(|(_, next)| next) {
                            Some('n') => value.push('\n'),
                            Some('t') => value.push('\t'),
                            // A line continuation: the newline and the next line's leading
                            // whitespace disappear.
                            Some('\n') => {
                                while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
                            }
                            Some(other) => value.push(other),
                            None => {}
                        },
                        c => value.push(c),
                    }
                }
                literals.push((i, value));
                blank(&mut masked, i + 1, i + close);
                i += close + 1;
            } else if rest.starts_with('\'') {
                // A char literal ('x', '\n', '"'), or a lifetime ('a).
                let chars: Vec<char> = rest.chars().take(4).collect();
                let len = if chars.get(1) == Some(&'\\') {
                    // `'\''`, `'\n'`, `'\u{..}'`: the quote after the escaped character.
                    rest[3..].find('\'').map_or(1, |e| e + 4)
                } else if chars.get(2) == Some(&'\'') {
                    2 + chars[1].len_utf8()
                } else {
                    1
                };
                blank(&mut masked, i + 1, (i + len - 1).max(i + 1));
                i += len;
            } else {
                i += rest.chars().next().unwrap().len_utf8();
            }
        }
        Source {
            masked: String::from_utf8(masked).unwrap(),
            literals,
        }
    }

    /// The source without its `#[cfg(test)]` items.
    fn without_tests(text: &str) -> String {
        let source = Source::parse(text);
        let mut out = String::new();
        let mut at = 0;
        while let Some(found) = source.masked[at..].find("#[cfg(test)]") {
            let start = at + found;
            out.push_str(&text[at..start]);
            let after = start + "#[cfg(test)]".len();
            // The item ends at its first `;` outside braces, or its closing brace.
            let mut depth = 0;
            let mut end = text.len();
            for (offset, c) in source.masked[after..].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = after + offset + 1;
                            break;
                        }
                    }
                    ';' if depth == 0 => {
                        end = after + offset + 1;
                        break;
                    }
                    _ => {}
                }
            }
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The end of the bracketed group that opens just before `open` (exclusive).
    fn group_end(&self, open: usize) -> usize {
        let mut depth = 1;
        for (offset, c) in self.masked[open..].char_indices() {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return open + offset;
                    }
                }
                _ => {}
            }
        }
        self.masked.len()
    }

    /// The end of the expression starting at `from`: the first `,` or `;` outside
    /// brackets, or the bracket that closes its group.
    fn expression_end(&self, from: usize) -> usize {
        let mut depth = 0;
        for (offset, c) in self.masked[from..].char_indices() {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => return from + offset,
                ')' | ']' | '}' => depth -= 1,
                ',' | ';' if depth == 0 => return from + offset,
                _ => {}
            }
        }
        self.masked.len()
    }

    fn first_literal(&self, from: usize, to: usize) -> Option<&str> {
        self.literals
            .iter()
            .find(|(at, _)| (from..to).contains(at))
            .map(|(_, text)| text.as_str())
    }

    /// Every match of `needle` in the code (not in strings or comments) that is not the
    /// tail of a longer identifier, nor a method call (`.name(`).
    fn find_all<'a>(&'a self, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.find(needle, false)
    }

    /// Every method call `.name(` (`needle` = `name(`).
    fn find_methods<'a>(&'a self, needle: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.find(needle, true)
    }

    fn find<'a>(&'a self, needle: &'a str, method: bool) -> impl Iterator<Item = usize> + 'a {
        self.masked
            .match_indices(needle)
            .filter_map(move |(at, _)| {
                let before = self.masked[..at].chars().next_back();
                let word_start = needle.starts_with(|c: char| c.is_alphanumeric());
                let glued = word_start && before.is_some_and(|c| c.is_alphanumeric() || c == '_');
                let is_method = before == Some('.');
                (!glued && is_method == method).then_some(at)
            })
    }
}

/// A message (or part of one) the charm can put in a status, as found in its source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Template {
    /// `blocked`, `waiting` or `maintenance` when the constructor says; `None` for the
    /// parts of a message (a problem within `Invalid data in ... integration: <problem>`).
    kind: Option<&'static str>,
    /// The literal, with `{...}` where the format string has placeholders.
    text: String,
    /// Where it was found.
    file: String,
}

/// Files whose code sets no status: action failures (`actions.rs`, `action_logic.rs`,
/// `kratos_api.rs`), hook errors (`error.rs`), the in-memory Kubernetes API of the tests.
const NOT_STATUS_FILES: [&str; 6] = [
    "src/actions.rs",
    "src/action_logic.rs",
    "src/kratos_api.rs",
    "src/error.rs",
    "src/main.rs",
    "src/kubernetes/memory.rs",
];

/// Where relation data and config problems are described as `Err(...)` texts that end up
/// in a `blocked` status (`Invalid data in <endpoint> integration: <problem>`, `Invalid
/// config <option>: <problem>`). `logging.rs` is not among them: a Loki unit with a bad
/// endpoint is skipped with a warning in the log, never a status.
fn problems_become_statuses(file: &str) -> bool {
    (file.starts_with("src/integrations/") && file != "src/integrations/logging.rs")
        || file.starts_with("src/cluster/")
        || file == "src/charm_config.rs"
}

/// The error types whose `Display` is (part of) a status message: bad relation data and
/// config, identity schemas, rendering, the Kubernetes API.
const STATUS_ERROR_FILES: [&str; 5] = [
    "src/integrations/mod.rs",
    "src/charm_config.rs",
    "src/identity_schemas.rs",
    "src/kratos_config/mod.rs",
    "src/kubernetes/mod.rs",
];

/// The charm's non-test source files, relative to the repository, with their text.
fn charm_sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&root().join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let name = p
                .strip_prefix(root())
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                name,
                Source::without_tests(&std::fs::read_to_string(&p).unwrap()),
            )
        })
        .collect()
}

/// Every status message (or part of one) the charm's source can produce: the first string
/// literal given to
/// - `Status::blocked`/`waiting`/`maintenance` and `Reading::Waiting`/`Blocked` (also
///   through a function called there, or a `&str` constant);
/// - `BadRelationData { message: ... }`, `ConfigProblem::new(option, ...)`, and the
///   helpers that build them (`bad`, `blocked`, `problem`, `describe`: their calls and
///   their bodies);
/// - `Err(...)`, `ok_or(...)`, `ok_or_else(...)`, `map_err(...)` where problems become
///   statuses ([`problems_become_statuses`]);
/// - `#[error("...")]` of the error types whose `Display` is a status
///   ([`STATUS_ERROR_FILES`]).
fn status_templates() -> Vec<Template> {
    let sources = charm_sources();
    let parsed: Vec<(String, Source)> = sources
        .iter()
        .filter(|(file, _)| !NOT_STATUS_FILES.contains(&file.as_str()))
        .map(|(file, text)| (file.clone(), Source::parse(text)))
        .collect();
    let function_literal = |name: &str| -> Option<String> {
        parsed.iter().find_map(|(_, source)| {
            let at = source.find_all(&format!("fn {name}")).next()?;
            let open = at + source.masked[at..].find('{')? + 1;
            source
                .first_literal(open, source.group_end(open))
                .map(str::to_string)
        })
    };
    let constant = |source: &Source, name: &str| -> Option<String> {
        let at = source.find_all(&format!("const {name}: &str")).next()?;
        let end = source.expression_end(at);
        source.first_literal(at, end).map(str::to_string)
    };
    // The literal of an argument list: the first literal, else what the function called
    // or the constant named there holds.
    let argument = |source: &Source, from: usize, to: usize| -> Option<String> {
        if let Some(literal) = source.first_literal(from, to) {
            return Some(literal.to_string());
        }
        let code = source.masked[from..to].trim_start().trim_start_matches('&');
        let name: String = code
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let after = code[name.len()..].trim_start();
        if name.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !name.is_empty() {
            constant(source, &name)
        } else if after.starts_with('(') && name.chars().next()?.is_lowercase() {
            function_literal(&name)
        } else {
            None
        }
    };

    let mut found = Vec::new();
    for (file, source) in &parsed {
        let mut push = |kind: Option<&'static str>, text: Option<String>| {
            if let Some(text) = text {
                found.push(Template {
                    kind,
                    text,
                    file: file.clone(),
                });
            }
        };
        let constructors: [(&str, Option<&'static str>); 5] = [
            ("Status::blocked(", Some("blocked")),
            ("Status::waiting(", Some("waiting")),
            ("Status::maintenance(", Some("maintenance")),
            ("Reading::Waiting(", Some("waiting")),
            ("Reading::Blocked(", Some("blocked")),
        ];
        for (needle, kind) in constructors {
            for at in source.find_all(needle) {
                let open = at + needle.len();
                push(kind, argument(source, open, source.group_end(open)));
            }
        }
        for at in source.find_all("ConfigProblem::new(") {
            let open = at + "ConfigProblem::new(".len();
            let second = source.expression_end(open) + 1;
            push(
                Some("blocked"),
                argument(source, second, source.group_end(open)),
            );
        }
        for at in source.find_all("BadRelationData {") {
            let open = at + "BadRelationData {".len();
            let end = source.group_end(open);
            if let Some(field) = source.masked[open..end].find("message:") {
                let from = open + field + "message:".len();
                push(None, argument(source, from, source.expression_end(from)));
            }
        }
        for helper in ["bad", "blocked", "problem", "describe"] {
            for at in source.find_all(&format!("{helper}(")) {
                let open = at + helper.len() + 1;
                push(None, argument(source, open, source.group_end(open)));
            }
            for at in source.find_all(&format!("let {helper} =")) {
                let end = source.expression_end(at);
                let code = &source.masked[at..end];
                // A closure; one that builds a ConfigProblem is read above.
                let after_eq = format!("let {helper} =").len();
                let closure = code[after_eq..].trim_start().starts_with('|');
                if closure && !code.contains("ConfigProblem::new") {
                    push(None, argument(source, at, end));
                }
            }
        }
        if problems_become_statuses(file) {
            let mut calls: Vec<(usize, &str)> =
                source.find_all("Err(").map(|at| (at, "Err(")).collect();
            for method in ["ok_or(", "ok_or_else(", "map_err("] {
                calls.extend(source.find_methods(method).map(|at| (at, method)));
            }
            {
                for (at, needle) in calls {
                    let open = at + needle.len();
                    let end = source.group_end(open);
                    // Serialisation failures of the charm's own data are hook errors; the
                    // problem constructors are read above (their first literal may be an
                    // option name).
                    let code = &source.masked[open..end];
                    let skip = ["CharmError", "ConfigProblem::new", "BadRelationData"];
                    if !skip.iter().any(|s| code.contains(s)) {
                        push(None, source.first_literal(open, end).map(str::to_string));
                    }
                }
            }
        }
        if STATUS_ERROR_FILES.contains(&file.as_str()) {
            for at in source.find_all("#[error(") {
                let open = at + "#[error(".len();
                push(
                    None,
                    source
                        .first_literal(open, source.group_end(open))
                        .map(str::to_string),
                );
            }
        }
    }
    found.sort();
    found.dedup_by(|a, b| a.text == b.text && a.kind == b.kind);
    // A text found as a whole status need not be found again as a part of one.
    let whole: BTreeSet<String> = found
        .iter()
        .filter(|t| t.kind.is_some())
        .map(|t| t.text.clone())
        .collect();
    found.retain(|t| t.kind.is_some() || !whole.contains(&t.text));
    found
}

/// Whitespace collapsed and backticks removed (the documentation puts messages in code
/// spans).
fn normalised(text: &str) -> String {
    text.replace('`', "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The parts of a format string between its placeholders (`{}`, `{name}`, `{x:?}`), with
/// `{{`/`}}` as braces.
fn format_parts(text: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                parts.last_mut().unwrap().push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                parts.last_mut().unwrap().push('}');
            }
            '{' => {
                let mut inner = String::new();
                while let Some(&next) = chars.peek() {
                    chars.next();
                    if next == '}' {
                        break;
                    }
                    inner.push(next);
                }
                if inner
                    .chars()
                    .all(|c| c.is_alphanumeric() || "_:?.#".contains(c))
                {
                    parts.push(String::new());
                } else {
                    let last = parts.last_mut().unwrap();
                    last.push('{');
                    last.push_str(&inner);
                    last.push('}');
                }
            }
            c => parts.last_mut().unwrap().push(c),
        }
    }
    parts
}

/// The parts of a text worth finding: trimmed of punctuation, with a word of three letters.
fn meaningful(parts: Vec<String>) -> Vec<String> {
    parts
        .into_iter()
        .map(|p| {
            normalised(&p)
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_string()
        })
        .filter(|p| {
            p.split(|c: char| !c.is_ascii_alphabetic())
                .any(|word| word.len() >= 3)
        })
        .collect()
}

/// The first code span of a Markdown cell (`` `x` `` or ``` ``x`` ```): the message; what
/// follows it is commentary.
fn first_code_span(cell: &str) -> Option<String> {
    let start = cell.find('`')?;
    let ticks = cell[start..].chars().take_while(|c| *c == '`').count();
    let fence = "`".repeat(ticks);
    let body = &cell[start + ticks..];
    let end = body.find(&fence)?;
    Some(body[..end].trim().to_string())
}

/// The documented messages: (status kind if the table has a Status column, message), from
/// every table of the page with a `Message` or `Problem` column.
fn documented_messages(page: &str) -> Vec<(Option<String>, String)> {
    let mut out = Vec::new();
    for table in tables(page) {
        let Some(column) = table.column("Message").or_else(|| table.column("Problem")) else {
            continue;
        };
        let kind = table.column("Status");
        for row in &table.rows {
            if let Some(message) = first_code_span(&row[column]) {
                out.push((kind.map(|k| unquote(&row[k])), normalised(&message)));
            }
        }
    }
    out
}

#[test]
#[ignore = "prints what the status scan finds: cargo test --test docs -- --ignored --nocapture"]
fn print_status_templates() {
    for template in status_templates() {
        println!(
            "{:<12} {:<36} {:?}",
            template.kind.unwrap_or("(part)"),
            template.file,
            template.text
        );
    }
}

#[test]
fn every_status_message_is_documented() {
    const PAGE: &str = "docs/reference/statuses.md";
    let documented = documented_messages(&read(PAGE));
    assert!(!documented.is_empty(), "{PAGE}: no message tables");
    let templates = status_templates();
    // The scan itself must keep working: statuses of every kind, and many parts.
    for kind in ["blocked", "waiting", "maintenance"] {
        assert!(
            templates.iter().any(|t| t.kind == Some(kind)),
            "the status scan finds no {kind} status: fix status_templates"
        );
    }
    assert!(
        templates.len() > 100,
        "the status scan finds only {} messages: fix status_templates",
        templates.len()
    );

    let mut undocumented = Vec::new();
    for template in &templates {
        let parts = meaningful(format_parts(&template.text));
        if parts.is_empty() {
            continue;
        }
        let covered = documented.iter().any(|(kind, message)| {
            let kind_ok = match (template.kind, kind) {
                (Some(want), Some(kind)) => kind == want,
                _ => true,
            };
            kind_ok && parts.iter().all(|p| message.contains(p.as_str()))
        });
        if !covered {
            undocumented.push(format!(
                "{} {:?} ({})",
                template.kind.unwrap_or("part of a status:"),
                template.text,
                template.file
            ));
        }
    }
    assert!(
        undocumented.is_empty(),
        "{PAGE} lacks these status messages (add a row with the message, `<placeholder>` for \
         each `{{...}}`): {undocumented:#?}"
    );
}

/// `text` with every whole-word `name` (not part of a longer name) replaced by `\0`.
fn replace_word(text: &str, name: &str) -> String {
    let in_name = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + name.len()..].chars().next();
        out.push_str(&rest[..at]);
        if before.is_some_and(in_name) || after.is_some_and(in_name) {
            out.push_str(name);
        } else {
            out.push('\u{0}');
        }
        rest = &rest[at + name.len()..];
    }
    out.push_str(rest);
    out
}

/// Whether `piece` (the words between two placeholders of a documented message) can be cut
/// into consecutive runs of words each of which is a part of a literal of the charm (the
/// text between two of its placeholders), or one word made of names (endpoints, options,
/// `kratos`), or, at the piece's edges, the end or start of such a part.
fn made_of_literals(piece: &str, parts: &BTreeSet<String>, names: &[String]) -> bool {
    let trim = |s: &str| s.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
    let words: Vec<&str> = piece.split(' ').collect();
    let mut reachable = vec![false; words.len() + 1];
    reachable[0] = true;
    for end in 1..=words.len() {
        reachable[end] = (0..end).any(|start| {
            if !reachable[start] {
                return false;
            }
            let run = trim(&words[start..end].join(" "));
            // One word made of names (`kratos:public-route`) fills a placeholder.
            let names_only = end - start == 1
                && trim(&names.iter().fold(run.clone(), |w, n| replace_word(&w, n)))
                    .chars()
                    .all(|c| !c.is_alphanumeric());
            // Two words or more that the documentation cut at a placeholder where the source
            // has none (it filled one in, or reads text such as `<app>` as one): the piece's
            // first run ends a part, its last run starts one, a piece of one run is within one.
            let (first, last) = (start == 0, end == words.len());
            let cut = end - start >= 2
                && parts.iter().any(|p| {
                    (first && last && p.contains(&run))
                        || (first && p.ends_with(&run))
                        || (last && p.starts_with(&run))
                });
            run.is_empty() || names_only || parts.contains(&run) || cut
        });
    }
    reachable[words.len()]
}

#[test]
fn no_status_message_is_documented_that_the_charm_cannot_set() {
    const PAGE: &str = "docs/reference/statuses.md";
    // Every literal of the charm, split at its placeholders.
    let mut pool: Vec<String> = Vec::new();
    for (_, text) in charm_sources() {
        for (_, literal) in Source::parse(&text).literals {
            pool.extend(format_parts(&literal).iter().map(|p| normalised(p)));
        }
    }
    let parts: BTreeSet<String> = pool
        .iter()
        .map(|p| p.trim_matches(|c: char| !c.is_alphanumeric()).to_string())
        .collect();
    // The names that fill placeholders.
    let metadata = yaml("metadata.yaml");
    let mut names: Vec<String> = ["requires", "provides", "peers"]
        .iter()
        .flat_map(|section| mapping(&metadata[*section]).into_iter().map(|(n, _)| n))
        .chain(
            mapping(&yaml("config.yaml")["options"])
                .into_iter()
                .map(|(n, _)| n),
        )
        .chain(["kratos".to_string()])
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));

    let mut invented = Vec::new();
    for (_, message) in documented_messages(&read(PAGE)) {
        // `<placeholder>`s and `...` stand for what the charm fills in.
        let mut text = message.clone();
        while let (Some(start), Some(len)) = (
            text.find('<'),
            text.find('<').and_then(|s| text[s..].find('>')),
        ) {
            text.replace_range(start..=start + len, "\u{0}");
        }
        text = text.replace("...", "\u{0}");
        let pieces = meaningful(text.split('\u{0}').map(str::to_string).collect());
        for piece in pieces {
            // Names the documentation filled in where the source has placeholders are
            // placeholders too (tried second: names also occur inside literals).
            let split_at_names = || {
                let text = names.iter().fold(piece.clone(), |t, n| replace_word(&t, n));
                meaningful(text.split('\u{0}').map(str::to_string).collect())
                    .iter()
                    .all(|p| made_of_literals(p, &parts, &names))
            };
            if !made_of_literals(&piece, &parts, &names) && !split_at_names() {
                invented.push(format!("{piece:?} in {message:?}"));
            }
        }
    }
    assert!(
        invented.is_empty(),
        "{PAGE} documents text that no string of the charm's source holds (a message that \
         changed or is gone?): {invented:#?}"
    );
}
