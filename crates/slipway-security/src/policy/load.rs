//! Loading policies and data into one regorus engine. Every `.rego` file under the policy paths
//! is a policy, except `_test.rego` files (unit tests of policies, not run against inputs). Each
//! file is parsed as Rego v1 and, when that fails, as v0 (conftest's libraries hold both); with
//! neither, the error reported is the one of the dialect that read further (regorus' own
//! `file:line:col` and source line). `import rego.v1` makes regorus read a file as v1 either
//! way. Data files (`.json`, `.yaml`, `.yml` under `--data` paths) are merged into `data` at its
//! root, as conftest does. The rule heads of each file are read here too, because conftest
//! counts successes per rule definition (two `deny` bodies are two tests).

use std::path::{Path, PathBuf};

use regorus::{Engine, Value};

use super::{PolicyError, input, regorus_error};

/// Which Rego dialect policies are read in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RegoVersion {
    /// v1 first, then v0 (each file on its own).
    #[default]
    Auto,
    /// Rego v0 only (`deny[msg] { ... }`; `import rego.v1` still switches a file to v1).
    V0,
    /// Rego v1 only (`deny contains msg if { ... }`).
    V1,
}

/// One policy file as loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Module {
    /// The file's path (as given, or as found under a policy directory).
    pub path: String,
    /// Its package without `data.` (`main`, `kubernetes.labels`): conftest's namespace.
    pub namespace: String,
    /// The names of its top-level rules, one per definition, in order (functions left out).
    pub rules: Vec<String>,
    /// Whether it was read as Rego v1.
    pub v1: bool,
}

/// Policies (and data) loaded into a regorus engine, ready to evaluate inputs against.
#[derive(Clone)]
pub struct PolicySet {
    pub(crate) engine: Engine,
    pub(crate) modules: Vec<Module>,
    data_files: Vec<String>,
}

impl std::fmt::Debug for PolicySet {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PolicySet")
            .field("modules", &self.modules)
            .field("data_files", &self.data_files)
            .finish()
    }
}

/// How deep policy, data and input directories are walked.
pub(crate) const MAX_DEPTH: usize = 32;

impl PolicySet {
    /// Policies from `(path, text)` pairs (the server's environment check keeps them so).
    ///
    /// # Errors
    /// [`PolicyError::Syntax`] for a policy that does not parse, [`PolicyError::NoPolicies`] when
    /// `sources` is empty.
    pub fn from_sources(sources: &[(String, String)], version: RegoVersion) -> Result<Self, PolicyError> {
        if sources.is_empty() {
            return Err(PolicyError::NoPolicies { paths: "the policies given".to_owned() });
        }
        let mut set = Self { engine: Engine::new(), modules: Vec::new(), data_files: Vec::new() };
        for (path, text) in sources {
            set.add(path, text, version)?;
        }
        Ok(set)
    }

    /// Every policy under `paths` (directories walked for `.rego` files, `_test.rego` left out;
    /// files taken as they are), in path order within each directory.
    ///
    /// # Errors
    /// [`PolicyError::Read`] for a path that cannot be read, [`PolicyError::Syntax`] for a policy
    /// that does not parse, [`PolicyError::NoPolicies`] when there is none.
    pub fn load(paths: &[PathBuf], version: RegoVersion) -> Result<Self, PolicyError> {
        let mut files = Vec::new();
        for path in paths {
            collect(path, &|name| is_policy_file(name), 0, &mut files)?;
        }
        // A file given that is not a policy (a README, an input) is not one either.
        files.retain(|file| file.file_name().and_then(|name| name.to_str()).is_some_and(is_policy_file));
        if files.is_empty() {
            let shown: Vec<String> = paths.iter().map(|path| path.display().to_string()).collect();
            return Err(PolicyError::NoPolicies { paths: shown.join(", ") });
        }
        let mut sources = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file)
                .map_err(|source| PolicyError::Read { path: file.display().to_string(), source })?;
            sources.push((file.display().to_string(), text));
        }
        Self::from_sources(&sources, version)
    }

    fn add(&mut self, path: &str, text: &str, version: RegoVersion) -> Result<(), PolicyError> {
        let attempt = |engine: &mut Engine, v0: bool| {
            engine.set_rego_v0(v0);
            engine.add_policy(path.to_owned(), text.to_owned()).map_err(|error| regorus_error(path, &error))
        };
        let (package, v1) = match version {
            RegoVersion::V1 => (attempt(&mut self.engine, false)?, true),
            RegoVersion::V0 => (attempt(&mut self.engine, true)?, uses_rego_v1(text)),
            RegoVersion::Auto => match attempt(&mut self.engine, false) {
                Ok(package) => (package, true),
                Err(v1_error) => match attempt(&mut self.engine, true) {
                    Ok(package) => (package, false),
                    Err(v0_error) => return Err(further(v1_error, v0_error)),
                },
            },
        };
        self.engine.set_rego_v0(false);
        let namespace = package.strip_prefix("data.").unwrap_or(&package).to_owned();
        self.modules.push(Module { path: path.to_owned(), namespace, rules: rule_heads(text), v1 });
        Ok(())
    }

    /// Merges a data document (an object) into `data`, as read from `path`.
    ///
    /// # Errors
    /// [`PolicyError::Unusable`] when it is not an object or clashes with data already there.
    pub fn add_data(&mut self, path: &str, value: Value) -> Result<(), PolicyError> {
        if value.as_object().is_err() {
            return Err(PolicyError::Unusable { path: path.to_owned(), message: "data must be an object".to_owned() });
        }
        self.engine
            .add_data(value)
            .map_err(|error| PolicyError::Unusable { path: path.to_owned(), message: error.to_string() })?;
        self.data_files.push(path.to_owned());
        Ok(())
    }

    /// Merges every `.json`, `.yaml` and `.yml` file under `paths` into `data`.
    ///
    /// # Errors
    /// [`PolicyError::Read`], [`PolicyError::Input`] (a file that does not parse, at its
    /// `file:line:col`), [`PolicyError::Unusable`].
    pub fn load_data(&mut self, paths: &[PathBuf]) -> Result<(), PolicyError> {
        let mut files = Vec::new();
        for path in paths {
            collect(path, &|name| is_data_file(name), 0, &mut files)?;
        }
        for file in files {
            let shown = file.display().to_string();
            let text =
                std::fs::read_to_string(&file).map_err(|source| PolicyError::Read { path: shown.clone(), source })?;
            let format = input::InputFormat::from_path(&shown).unwrap_or(input::InputFormat::Json);
            // Each document of a multi-document YAML file is merged.
            for document in input::parse_documents(&shown, &text, format)? {
                if document != Value::Null {
                    self.add_data(&shown, document)?;
                }
            }
        }
        Ok(())
    }

    /// The namespaces of the policies, each once, in the order their files were loaded.
    #[must_use]
    pub fn namespaces(&self) -> Vec<String> {
        let mut namespaces: Vec<String> = Vec::new();
        for module in &self.modules {
            if !namespaces.contains(&module.namespace) {
                namespaces.push(module.namespace.clone());
            }
        }
        namespaces
    }

    /// The policy files loaded.
    #[must_use]
    pub fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// The data files merged into `data`.
    #[must_use]
    pub fn data_files(&self) -> &[String] {
        &self.data_files
    }
}

/// Of two parse errors, the one further into the file (the dialect that read more is likelier
/// the one the file is written in); v1's on a tie.
fn further(v1: PolicyError, v0: PolicyError) -> PolicyError {
    let place = |error: &PolicyError| match error {
        PolicyError::Syntax { position, .. } => Some((position.line, position.column)),
        _ => None,
    };
    match (place(&v1), place(&v0)) {
        (Some(one), Some(zero)) if zero > one => v0,
        (None, Some(_)) => v0,
        _ => v1,
    }
}

fn uses_rego_v1(text: &str) -> bool {
    text.lines().any(|line| line.trim() == "import rego.v1")
}

fn is_policy_file(name: &str) -> bool {
    name.ends_with(".rego") && !name.ends_with("_test.rego")
}

fn is_data_file(name: &str) -> bool {
    name.ends_with(".json") || name.ends_with(".yaml") || name.ends_with(".yml")
}

/// `path` if it is a file, else the files below it whose names `wanted` accepts, sorted.
pub(crate) fn collect(
    path: &Path,
    wanted: &dyn Fn(&str) -> bool,
    depth: usize,
    files: &mut Vec<PathBuf>,
) -> Result<(), PolicyError> {
    let metadata =
        std::fs::metadata(path).map_err(|source| PolicyError::Read { path: path.display().to_string(), source })?;
    if !metadata.is_dir() {
        if depth == 0 || path.file_name().and_then(|name| name.to_str()).is_some_and(wanted) {
            files.push(path.to_owned());
        }
        return Ok(());
    }
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(path).map_err(|source| PolicyError::Read { path: path.display().to_string(), source })?;
    let mut children: Vec<PathBuf> = entries.filter_map(Result::ok).map(|entry| entry.path()).collect();
    children.sort();
    for child in children {
        collect(&child, wanted, depth + 1, files)?;
    }
    Ok(())
}

/// Words that start a line at the top level without naming a rule.
const NOT_RULES: &[&str] =
    &["package", "import", "else", "if", "contains", "some", "every", "not", "with", "as", "in", "default"];

/// The names of the top-level rules of a policy, one per definition (a rule with two bodies is
/// named twice), in order; functions (`name(args)`) are left out. A light scan that knows
/// comments, strings, raw strings and brackets; regorus has already parsed the file.
pub(crate) fn rule_heads(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut line_start = true;
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'\n' => {
                line_start = true;
                index += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                index += 1;
                continue;
            }
            b'#' => {
                while bytes.get(index).is_some_and(|&b| b != b'\n') {
                    index += 1;
                }
                continue;
            }
            b'"' => {
                index += 1;
                while let Some(&b) = bytes.get(index) {
                    index += 1;
                    match b {
                        b'\\' => index += 1,
                        b'"' | b'\n' => break,
                        _ => {}
                    }
                }
                line_start = false;
                continue;
            }
            b'`' => {
                index += 1;
                while bytes.get(index).is_some_and(|&b| b != b'`') {
                    index += 1;
                }
                index += 1;
                line_start = false;
                continue;
            }
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ if depth == 0 && line_start && (byte.is_ascii_alphabetic() || byte == b'_') => {
                let (mut name, mut end) = identifier(bytes, index);
                if name == "default" {
                    let mut next = end;
                    while bytes.get(next).is_some_and(|b| *b == b' ' || *b == b'\t') {
                        next += 1;
                    }
                    (name, end) = identifier(bytes, next);
                    if !name.is_empty() {
                        names.push(name.to_owned());
                    }
                } else if !NOT_RULES.contains(&name) {
                    let mut next = end;
                    while bytes.get(next).is_some_and(|b| *b == b' ' || *b == b'\t') {
                        next += 1;
                    }
                    if bytes.get(next) != Some(&b'(') {
                        names.push(name.to_owned());
                    }
                }
                index = end.max(index + 1);
                line_start = false;
                continue;
            }
            _ => {}
        }
        line_start = false;
        index += 1;
    }
    names
}

/// The identifier starting at `start` and where it ends.
fn identifier(bytes: &[u8], start: usize) -> (&str, usize) {
    let mut end = start;
    while bytes.get(end).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
        end += 1;
    }
    (bytes.get(start..end).and_then(|slice| std::str::from_utf8(slice).ok()).unwrap_or(""), end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_heads_are_top_level_definitions() {
        let text = r#"package main
import rego.v1

# deny is not a rule here
deny contains msg if {
    input.kind == "Deployment"
    msg := "a { brace in a string"
}

deny contains msg if input.x == `raw
deny`

deny_public[msg] {
  not input.y
  msg = "y"
}

default allow := false
warn contains "w" if true
is_deny(x) if x
violation_x contains {"msg": "m"} if {
  deny[_]
}
"#;
        assert_eq!(rule_heads(text), ["deny", "deny", "deny_public", "allow", "warn", "violation_x"]);
    }

    #[test]
    fn v0_and_v1_files_load_side_by_side_and_syntax_errors_name_their_place() {
        let v0 = "package main\n\ndeny[msg] {\n  input.a\n  msg := \"a\"\n}\n";
        let v1 = "package main\n\ndeny contains msg if {\n  input.b\n  msg := \"b\"\n}\n";
        let imported = "package other\nimport rego.v1\n\nwarn contains \"c\" if input.c\n";
        let set = PolicySet::from_sources(
            &[("v0.rego".into(), v0.into()), ("v1.rego".into(), v1.into()), ("imp.rego".into(), imported.into())],
            RegoVersion::Auto,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let versions: Vec<(&str, bool)> = set.modules().iter().map(|m| (m.path.as_str(), m.v1)).collect();
        assert_eq!(versions, [("v0.rego", false), ("v1.rego", true), ("imp.rego", true)]);
        assert_eq!(set.namespaces(), ["main", "other"]);

        // A v1 file with a mistake on line 4: the v1 reading went further, so its error counts.
        let broken = "package main\n\ndeny contains msg if {\n  msg := := \"b\"\n}\n";
        let error = PolicySet::from_sources(&[("policy/broken.rego".into(), broken.into())], RegoVersion::Auto)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("policy/broken.rego:4:"), "{error}");
        assert!(error.contains("4 |   msg := := \"b\""), "{error}");
        // A v0 file with a mistake on line 5.
        let broken = "package main\n\ndeny[msg] {\n  input.a\n  msg = = \"b\"\n}\n";
        let error = PolicySet::from_sources(&[("old.rego".into(), broken.into())], RegoVersion::Auto)
            .err()
            .map(|error| error.to_string())
            .unwrap_or_default();
        assert!(error.starts_with("old.rego:5:"), "{error}");
        // Forced v1 refuses v0.
        assert!(PolicySet::from_sources(&[("v0.rego".into(), v0.into())], RegoVersion::V1).is_err());
        assert!(matches!(PolicySet::from_sources(&[], RegoVersion::Auto), Err(PolicyError::NoPolicies { .. })));
    }
}
