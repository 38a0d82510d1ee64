//! A flagd flag-definition document read from JSON, with every mistake named by its JSON pointer
//! (a JSON file keeps no spans here), and the edits the API and the UI make to one flag.
//!
//! What is read is flagd's provider schema (`https://flagd.dev/schema/v0/flags.json`): `flags`
//! as an object by key (not flagd's daemon-only array form), `$evaluators` shared through
//! `{"$ref": NAME}`, and `metadata`. Where the schema is loose Slipway is stricter, so that a typo
//! is named instead of ignored: a property the schema does not describe is a mistake, and so are
//! variants of mixed types (the schema's `anyFlag`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::{ENGINE, FlagState, FlagType};

/// One mistake in a flag document: where (a JSON pointer, `/flags/new-banner/defaultVariant`;
/// empty for the whole document) and what.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DocumentError {
    /// The JSON pointer of the value at fault.
    pub path: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for DocumentError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "(document)" } else { &self.path };
        write!(formatter, "{path}: {}", self.message)
    }
}

/// Every mistake of a document that could not be read, in document order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.0))]
pub struct DocumentErrors(pub Vec<DocumentError>);

fn render(errors: &[DocumentError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// A flag's targeting rule once read: none, compiled, or one that cannot be evaluated (flagd
/// loads such a flag and answers `PARSE_ERROR` for it; Slipway's API refuses to store one).
#[derive(Clone)]
pub(super) enum Targeting {
    None,
    Compiled(Arc<datalogic_rs::Logic>),
    Broken(DocumentError),
}

impl fmt::Debug for Targeting {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => formatter.write_str("None"),
            Self::Compiled(_) => formatter.write_str("Compiled"),
            Self::Broken(error) => write!(formatter, "Broken({error})"),
        }
    }
}

/// One flag of a document.
#[derive(Clone, Debug)]
pub struct Flag {
    /// Its key.
    pub key: String,
    /// Whether it is served.
    pub state: FlagState,
    /// Its variants by name.
    pub variants: BTreeMap<String, Value>,
    /// The type of its variants.
    pub flag_type: FlagType,
    /// The variant served when targeting does not choose one; none means the application's own
    /// default (flagd's "code default").
    pub default_variant: Option<String>,
    /// The targeting rule as written (with `$ref`s in place), if any.
    pub targeting_source: Option<Value>,
    /// Its metadata (strings, numbers, booleans).
    pub metadata: Map<String, Value>,
    pub(super) targeting: Targeting,
}

/// A flag document read and its targeting compiled: what an environment serves.
#[derive(Clone, Debug)]
pub struct FlagDocument {
    raw: Value,
    flags: BTreeMap<String, Flag>,
    metadata: Map<String, Value>,
}

impl FlagDocument {
    /// Reads a document from JSON text, naming every mistake. Targeting that cannot be
    /// evaluated (an unknown `$ref`, an unknown operator) is not a mistake here, as in flagd: its
    /// flag answers `PARSE_ERROR`; [`Self::targeting_errors`] names it, and
    /// [`Self::parse_strict`] refuses it.
    pub fn parse(text: &str) -> Result<Self, DocumentErrors> {
        let value: Value = serde_json::from_str(text).map_err(|error| {
            DocumentErrors(vec![DocumentError { path: String::new(), message: format!("not JSON: {error}") }])
        })?;
        Self::from_value(value)
    }

    /// [`Self::parse`], refusing targeting that cannot be evaluated too.
    pub fn parse_strict(text: &str) -> Result<Self, DocumentErrors> {
        Self::parse(text)?.strict()
    }

    /// Reads a document from a JSON value, naming every mistake (see [`Self::parse`]).
    pub fn from_value(value: Value) -> Result<Self, DocumentErrors> {
        let mut errors = Vec::new();
        let Some(root) = value.as_object() else {
            return Err(DocumentErrors(vec![error("", "a flag document is a JSON object with `flags`")]));
        };
        for key in root.keys() {
            if !matches!(key.as_str(), "$schema" | "flags" | "$evaluators" | "metadata") {
                errors.push(error(
                    &pointer(&[key]),
                    "unknown property (a document has `flags`, `$evaluators`, `metadata` and `$schema`)",
                ));
            }
        }
        if let Some(schema) = root.get("$schema").filter(|schema| !schema.is_string()) {
            errors.push(error("/$schema", &format!("must be a string, not {}", kind(schema))));
        }
        let evaluators = match root.get("$evaluators") {
            None => Map::new(),
            Some(Value::Object(evaluators)) => {
                for (name, rule) in evaluators {
                    if !rule.is_object() {
                        errors.push(error(
                            &pointer(&["$evaluators", name]),
                            &format!("an evaluator is a JsonLogic rule (an object), not {}", kind(rule)),
                        ));
                    }
                }
                evaluators.clone()
            }
            Some(other) => {
                errors.push(error("/$evaluators", &format!("must be an object of rules by name, not {}", kind(other))));
                Map::new()
            }
        };
        let metadata = match root.get("metadata") {
            None => Map::new(),
            Some(metadata) => read_metadata(metadata, &["metadata"], &mut errors),
        };
        let mut flags = BTreeMap::new();
        match root.get("flags") {
            None => errors.push(error("/flags", "required: the flags by key")),
            Some(Value::Object(entries)) => {
                for (key, flag) in entries {
                    if let Some(flag) = read_flag(key, flag, &evaluators, &mut errors) {
                        flags.insert(key.clone(), flag);
                    }
                }
            }
            Some(other) => {
                errors.push(error("/flags", &format!("must be an object of flags by key, not {}", kind(other))))
            }
        }
        if errors.is_empty() { Ok(Self { raw: value, flags, metadata }) } else { Err(DocumentErrors(errors)) }
    }

    /// An empty document (no flags).
    pub fn empty() -> Self {
        Self { raw: serde_json::json!({ "flags": {} }), flags: BTreeMap::new(), metadata: Map::new() }
    }

    /// The document itself refused when any flag's targeting cannot be evaluated.
    pub fn strict(self) -> Result<Self, DocumentErrors> {
        let errors = self.targeting_errors();
        if errors.is_empty() { Ok(self) } else { Err(DocumentErrors(errors)) }
    }

    /// The targeting rules that cannot be evaluated, each named.
    pub fn targeting_errors(&self) -> Vec<DocumentError> {
        self.flags
            .values()
            .filter_map(|flag| match &flag.targeting {
                Targeting::Broken(error) => Some(error.clone()),
                _ => None,
            })
            .collect()
    }

    /// The document as JSON, as it was given (edits applied).
    pub fn as_json(&self) -> &Value {
        &self.raw
    }

    /// The flags by key.
    pub fn flags(&self) -> &BTreeMap<String, Flag> {
        &self.flags
    }

    /// One flag.
    pub fn flag(&self, key: &str) -> Option<&Flag> {
        self.flags.get(key)
    }

    /// The flag set's metadata.
    pub fn metadata(&self) -> &Map<String, Value> {
        &self.metadata
    }

    /// This document with one flag's state, default variant or whole definition changed,
    /// re-read (every mistake named, targeting held to the strict rule).
    pub fn edit(&self, key: &str, edit: FlagEdit) -> Result<Self, DocumentErrors> {
        let mut raw = self.raw.clone();
        let not_found = || DocumentErrors(vec![error(&pointer(&["flags", key]), "no such flag")]);
        let flags = raw
            .as_object_mut()
            .and_then(|root| root.get_mut("flags"))
            .and_then(Value::as_object_mut)
            .ok_or_else(not_found)?;
        match edit {
            FlagEdit::Remove => {
                flags.remove(key).ok_or_else(not_found)?;
            }
            FlagEdit::Replace(definition) => {
                flags.insert(key.to_owned(), definition);
            }
            FlagEdit::Set { state, default_variant } => {
                let flag = flags.get_mut(key).and_then(Value::as_object_mut).ok_or_else(not_found)?;
                if let Some(state) = state {
                    flag.insert("state".to_owned(), Value::String(state.as_str().to_owned()));
                }
                match default_variant {
                    None => {}
                    Some(None) => {
                        flag.remove("defaultVariant");
                    }
                    Some(Some(variant)) => {
                        flag.insert("defaultVariant".to_owned(), Value::String(variant));
                    }
                }
            }
        }
        Self::from_value(raw)?.strict()
    }
}

/// A change to one flag.
#[derive(Clone, Debug, PartialEq)]
pub enum FlagEdit {
    /// Its state and/or default variant (`Some(None)`: the application's own default).
    Set {
        /// A new state, if any.
        state: Option<FlagState>,
        /// A new default variant, if any.
        default_variant: Option<Option<String>>,
    },
    /// The whole flag, as flagd JSON (added if it is new).
    Replace(Value),
    /// The flag removed.
    Remove,
}

fn read_flag(
    key: &str,
    value: &Value,
    evaluators: &Map<String, Value>,
    errors: &mut Vec<DocumentError>,
) -> Option<Flag> {
    let at = |field: &str| pointer(&["flags", key, field]);
    let before = errors.len();
    if key.is_empty() {
        errors.push(error(&pointer(&["flags", key]), "a flag's key must not be empty"));
    }
    let Some(object) = value.as_object() else {
        errors.push(error(&pointer(&["flags", key]), &format!("a flag is an object, not {}", kind(value))));
        return None;
    };
    for field in object.keys() {
        if !matches!(field.as_str(), "state" | "variants" | "defaultVariant" | "targeting" | "metadata") {
            errors.push(error(
                &at(field),
                "unknown property (a flag has `state`, `variants`, `defaultVariant`, `targeting` and `metadata`)",
            ));
        }
    }
    let state = match object.get("state") {
        Some(Value::String(state)) if state == "ENABLED" => Some(FlagState::Enabled),
        Some(Value::String(state)) if state == "DISABLED" => Some(FlagState::Disabled),
        Some(other) => {
            errors.push(error(&at("state"), &format!("must be \"ENABLED\" or \"DISABLED\", not {other}")));
            None
        }
        None => {
            errors.push(error(&at("state"), "required: \"ENABLED\" or \"DISABLED\""));
            None
        }
    };
    let mut variants = BTreeMap::new();
    let mut flag_type = None;
    match object.get("variants") {
        Some(Value::Object(entries)) if !entries.is_empty() => {
            // The first variant read sets the type the others must have.
            for (name, variant) in entries {
                let path = pointer(&["flags", key, "variants", name]);
                if name.is_empty() {
                    errors.push(error(&path, "a variant's name must not be empty"));
                }
                let Some(this) = FlagType::of(variant) else {
                    errors.push(error(
                        &path,
                        &format!("a variant is a boolean, string, number or object, not {}", kind(variant)),
                    ));
                    continue;
                };
                match &flag_type {
                    None => flag_type = Some((this, name.clone())),
                    Some((first, first_name)) if *first != this => errors.push(error(
                        &path,
                        &format!(
                            "is {} but variant {first_name:?} is {} (a flag's variants have one type)",
                            this.article(),
                            first.article()
                        ),
                    )),
                    Some(_) => {}
                }
                variants.insert(name.clone(), variant.clone());
            }
        }
        Some(Value::Object(_)) => errors.push(error(&at("variants"), "needs at least one variant")),
        Some(other) => {
            errors.push(error(&at("variants"), &format!("must be an object of variants by name, not {}", kind(other))))
        }
        None => errors.push(error(&at("variants"), "required: the variants by name")),
    }
    let default_variant = match object.get("defaultVariant") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => {
            if !variants.is_empty() && !variants.contains_key(name) {
                errors.push(error(
                    &at("defaultVariant"),
                    &format!("names no variant: {name:?} (the variants are {})", names(&variants)),
                ));
            }
            Some(name.clone())
        }
        Some(other) => {
            errors
                .push(error(&at("defaultVariant"), &format!("must be a variant's name or null, not {}", kind(other))));
            None
        }
    };
    let metadata = match object.get("metadata") {
        None => Map::new(),
        Some(metadata) => read_metadata(metadata, &["flags", key, "metadata"], errors),
    };
    let (targeting_source, targeting) = match object.get("targeting") {
        None => (None, Targeting::None),
        // flagd treats an empty rule as none.
        Some(Value::Object(rule)) if rule.is_empty() => (Some(Value::Object(rule.clone())), Targeting::None),
        Some(rule @ Value::Object(_)) => (Some(rule.clone()), compile(rule, &at("targeting"), evaluators)),
        Some(other) => {
            errors.push(error(&at("targeting"), &format!("must be a JsonLogic rule (an object), not {}", kind(other))));
            (None, Targeting::None)
        }
    };
    if errors.len() > before {
        return None;
    }
    Some(Flag {
        key: key.to_owned(),
        state: state?,
        flag_type: flag_type?.0,
        variants,
        default_variant,
        targeting_source,
        metadata,
        targeting,
    })
}

fn read_metadata(value: &Value, at: &[&str], errors: &mut Vec<DocumentError>) -> Map<String, Value> {
    let Some(entries) = value.as_object() else {
        errors.push(error(&pointer(at), &format!("must be an object, not {}", kind(value))));
        return Map::new();
    };
    for (name, entry) in entries {
        if !matches!(entry, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
            let mut path = at.to_vec();
            path.push(name);
            errors
                .push(error(&pointer(&path), &format!("metadata is a string, number or boolean, not {}", kind(entry))));
        }
    }
    entries.clone()
}

/// The rule with its `$ref`s replaced by the evaluators they name, compiled.
fn compile(rule: &Value, at: &str, evaluators: &Map<String, Value>) -> Targeting {
    let mut resolved = rule.clone();
    if let Err(broken) = resolve_refs(&mut resolved, at, evaluators, 0) {
        return Targeting::Broken(broken);
    }
    if let Some(unknown) = unknown_operator(&resolved, at) {
        return Targeting::Broken(unknown);
    }
    match ENGINE.compile(&resolved) {
        Ok(logic) => Targeting::Compiled(Arc::new(logic)),
        Err(cause) => Targeting::Broken(error(at, &format!("the rule cannot be evaluated: {cause}"))),
    }
}

/// The first operator the engine does not know (it would fail only once evaluation reaches it:
/// named here, so that a stored rule never has one).
fn unknown_operator(value: &Value, at: &str) -> Option<DocumentError> {
    match value {
        Value::Object(object) => {
            if let [(name, _)] = object.iter().collect::<Vec<_>>().as_slice()
                && !ENGINE.has_custom_operator(name)
                && !ENGINE.builtin_operator_names().any(|builtin| builtin == name.as_str())
            {
                return Some(error(at, &format!("unknown operator {name:?}")));
            }
            object.iter().find_map(|(field, inner)| unknown_operator(inner, &format!("{at}/{}", escape(field))))
        }
        Value::Array(items) => {
            items.iter().enumerate().find_map(|(index, inner)| unknown_operator(inner, &format!("{at}/{index}")))
        }
        _ => None,
    }
}

/// How deep evaluators may refer to evaluators (a cycle would never end).
const MAX_REF_DEPTH: usize = 16;

fn resolve_refs(
    value: &mut Value,
    at: &str,
    evaluators: &Map<String, Value>,
    depth: usize,
) -> Result<(), DocumentError> {
    match value {
        Value::Object(object) => {
            if object.len() == 1
                && let Some(Value::String(name)) = object.get("$ref")
            {
                let Some(rule) = evaluators.get(name) else {
                    return Err(error(
                        at,
                        &format!("`$ref` names no evaluator: {name:?} (the evaluators are {})", names(evaluators)),
                    ));
                };
                if depth >= MAX_REF_DEPTH {
                    return Err(error(
                        at,
                        &format!("`$ref` {name:?}: evaluators refer to each other too deeply (a cycle?)"),
                    ));
                }
                let mut replacement = rule.clone();
                resolve_refs(&mut replacement, &pointer(&["$evaluators", name]), evaluators, depth + 1)?;
                *value = replacement;
                return Ok(());
            }
            for (field, inner) in object.iter_mut() {
                resolve_refs(inner, &format!("{at}/{}", escape(field)), evaluators, depth)?;
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter_mut().enumerate() {
                resolve_refs(inner, &format!("{at}/{index}"), evaluators, depth)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn names<V>(map: impl IntoIterator<Item = (impl AsRef<str>, V)>) -> String {
    let names: Vec<String> = map.into_iter().map(|(name, _)| format!("{:?}", name.as_ref())).collect();
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

fn error(path: &str, message: &str) -> DocumentError {
    DocumentError { path: path.to_owned(), message: message.to_owned() }
}

/// A JSON pointer (RFC 6901) from its tokens.
pub(super) fn pointer(tokens: &[&str]) -> String {
    tokens.iter().map(|token| format!("/{}", escape(token))).collect()
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A JSON value's kind for messages.
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn errors(value: Value) -> Vec<String> {
        match FlagDocument::from_value(value) {
            Ok(_) => panic!("expected mistakes"),
            Err(DocumentErrors(errors)) => errors.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn every_mistake_is_named_by_its_pointer() {
        let found = errors(json!({
            "flags": {
                "a/b": {"state": "ON", "variants": {"x": true, "y": "no"}, "defaultVariant": "z", "targetting": {}},
                "empty": {"state": "ENABLED", "variants": {}},
                "list": {"state": "DISABLED", "variants": {"l": [1]}, "metadata": {"owner": {"team": "web"}}},
                "not-a-flag": 3,
                "rule": {"state": "ENABLED", "variants": {"a": 1}, "targeting": "a"}
            },
            "$evaluators": {"bad": true},
            "extra": 1
        }));
        assert_eq!(
            found,
            [
                "/extra: unknown property (a document has `flags`, `$evaluators`, `metadata` and `$schema`)",
                "/$evaluators/bad: an evaluator is a JsonLogic rule (an object), not a boolean",
                "/flags/a~1b/targetting: unknown property (a flag has `state`, `variants`, `defaultVariant`, `targeting` and `metadata`)",
                "/flags/a~1b/state: must be \"ENABLED\" or \"DISABLED\", not \"ON\"",
                "/flags/a~1b/variants/y: is a string but variant \"x\" is a boolean (a flag's variants have one type)",
                "/flags/a~1b/defaultVariant: names no variant: \"z\" (the variants are \"x\", \"y\")",
                "/flags/empty/variants: needs at least one variant",
                "/flags/list/variants/l: a variant is a boolean, string, number or object, not an array",
                "/flags/list/metadata/owner: metadata is a string, number or boolean, not an object",
                "/flags/not-a-flag: a flag is an object, not a number",
                "/flags/rule/targeting: must be a JsonLogic rule (an object), not a string",
            ]
        );
    }

    #[test]
    fn missing_parts_and_non_json_are_named() {
        assert_eq!(errors(json!({})), ["/flags: required: the flags by key"]);
        assert_eq!(errors(json!([])), ["(document): a flag document is a JSON object with `flags`"]);
        assert_eq!(
            errors(json!({"flags": {"f": {}}})),
            [
                "/flags/f/state: required: \"ENABLED\" or \"DISABLED\"",
                "/flags/f/variants: required: the variants by name"
            ]
        );
        let Err(DocumentErrors(not_json)) = FlagDocument::parse("{\"flags\": ") else { panic!("not JSON") };
        assert!(not_json[0].message.starts_with("not JSON: EOF"), "{not_json:?}");
    }

    #[test]
    fn refs_resolve_through_evaluators_and_unknown_ones_are_named() {
        let document = FlagDocument::from_value(json!({
            "$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@x.com"]}, "alias": {"$ref": "staff"}, "loop": {"$ref": "loop"}},
            "flags": {
                "f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
                      "targeting": {"if": [{"$ref": "alias"}, "on", null]}},
                "g": {"state": "ENABLED", "variants": {"on": true}, "targeting": {"if": [{"$ref": "nope"}, "on", null]}},
                "h": {"state": "ENABLED", "variants": {"on": true}, "targeting": {"if": [{"$ref": "loop"}, "on", null]}},
                "u": {"state": "ENABLED", "variants": {"on": true}, "targeting": {"no_such_op": [1]}}
            }
        }))
        .expect("it reads");
        let context = |email: &str| json!({"email": email}).as_object().cloned().expect("an object");
        assert_eq!(document.evaluate("f", &context("a@x.com")).variant.as_deref(), Some("on"));
        assert_eq!(document.evaluate("f", &context("a@y.com")).variant.as_deref(), Some("off"));
        let broken: Vec<String> = document.targeting_errors().iter().map(ToString::to_string).collect();
        assert_eq!(broken.len(), 3, "{broken:?}");
        assert_eq!(
            broken[0],
            "/flags/g/targeting/if/0: `$ref` names no evaluator: \"nope\" (the evaluators are \"alias\", \"loop\", \"staff\")"
        );
        assert!(
            broken[1].starts_with("/$evaluators/loop: `$ref` \"loop\": evaluators refer to each other too deeply"),
            "{broken:?}"
        );
        assert_eq!(broken[2], "/flags/u/targeting: unknown operator \"no_such_op\"");
        assert!(document.strict().is_err());
    }

    #[test]
    fn edits_change_one_flag_and_are_checked() {
        let document = FlagDocument::from_value(json!({
            "$schema": "https://flagd.dev/schema/v0/flags.json",
            "flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"}}
        }))
        .expect("it reads");
        let edited = document
            .edit("f", FlagEdit::Set { state: Some(FlagState::Disabled), default_variant: Some(Some("on".to_owned())) })
            .expect("a valid edit");
        assert_eq!(
            edited.as_json()["flags"]["f"],
            json!({"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"})
        );
        assert_eq!(edited.as_json()["$schema"], json!("https://flagd.dev/schema/v0/flags.json"));
        let wrong = document.edit("f", FlagEdit::Set { state: None, default_variant: Some(Some("maybe".to_owned())) });
        assert_eq!(
            wrong.expect_err("no such variant").to_string(),
            "/flags/f/defaultVariant: names no variant: \"maybe\" (the variants are \"off\", \"on\")"
        );
        assert!(document.edit("g", FlagEdit::Set { state: Some(FlagState::Enabled), default_variant: None }).is_err());
        let added = document
            .edit("g", FlagEdit::Replace(json!({"state": "ENABLED", "variants": {"a": "x"}, "defaultVariant": "a"})))
            .expect("a new flag");
        assert_eq!(added.flags().len(), 2);
        assert!(added.edit("g", FlagEdit::Remove).expect("removed").flag("g").is_none());
        assert!(document.edit("g", FlagEdit::Remove).is_err());
    }
}
