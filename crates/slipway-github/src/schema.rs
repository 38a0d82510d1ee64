//! GitHub's workflow schema (`workflow-v1.0.json`, the template-schema format of
//! `actions/languageservices`) read into [`Schema`]: named definitions that are a null, boolean,
//! number or string (with `constant`, `require-non-empty`, `ignore-case`), a sequence (with its
//! `item-type`), a mapping (`properties`, each maybe `required`, and `loose-key-type` /
//! `loose-value-type` for keys it does not name), a `one-of`, or `allowed-values` (a one-of of
//! string constants); each may carry the `context` list of what its expressions may use.
//!
//! The schema is embedded and parsed once; a schema that cannot be read is a bug in this crate,
//! caught by its tests, and reads as an empty schema rather than a panic.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value as Json;

/// The workflow schema, as GitHub publishes it (MIT, `actions/languageservices`).
const WORKFLOW_SCHEMA: &str = include_str!("../schema/workflow-v1.0.json");

/// The built-in definition that accepts anything.
pub(crate) const ANY: &str = "any";

/// One definition of the schema.
#[derive(Clone, Debug)]
pub(crate) struct Definition {
    /// What the definition accepts.
    pub kind: Kind,
    /// The contexts and functions its expressions may use (`github`, `success(0,MAX)`).
    pub context: Vec<String>,
}

/// What a definition accepts.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Null,
    Boolean,
    Number,
    String(StringRule),
    Sequence { item: String },
    Mapping(MappingRule),
    OneOf(Vec<String>),
}

/// A string definition's rule.
#[derive(Clone, Debug, Default)]
pub(crate) struct StringRule {
    pub constant: Option<String>,
    pub ignore_case: bool,
    pub require_non_empty: bool,
}

impl StringRule {
    pub(crate) fn matches(&self, value: &str) -> bool {
        match &self.constant {
            Some(constant) if self.ignore_case => constant.eq_ignore_ascii_case(value),
            Some(constant) => constant == value,
            None => !self.require_non_empty || !value.is_empty(),
        }
    }
}

/// A mapping definition's rule.
#[derive(Clone, Debug, Default)]
pub(crate) struct MappingRule {
    /// Well-known keys in the schema's order, with their definition and whether they are required.
    pub properties: Vec<Property>,
    pub loose_key: Option<String>,
    pub loose_value: Option<String>,
}

impl MappingRule {
    pub(crate) fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|property| property.name == name)
    }
}

/// A well-known key of a mapping.
#[derive(Clone, Debug)]
pub(crate) struct Property {
    pub name: String,
    pub definition: String,
    pub required: bool,
}

/// Every definition by name.
#[derive(Debug, Default)]
pub(crate) struct Schema {
    definitions: HashMap<String, Definition>,
}

impl Schema {
    /// The embedded workflow schema, read once.
    pub(crate) fn workflow() -> &'static Schema {
        static SCHEMA: OnceLock<Schema> = OnceLock::new();
        SCHEMA.get_or_init(|| Schema::from_json(WORKFLOW_SCHEMA).unwrap_or_default())
    }

    /// Reads a template schema. `None` when it is not one.
    pub(crate) fn from_json(text: &str) -> Option<Schema> {
        let document: Json = serde_json::from_str(text).ok()?;
        let mut definitions = HashMap::new();
        let plain = |kind| Definition { kind, context: Vec::new() };
        definitions.insert("null".to_owned(), plain(Kind::Null));
        definitions.insert("boolean".to_owned(), plain(Kind::Boolean));
        definitions.insert("number".to_owned(), plain(Kind::Number));
        definitions.insert("string".to_owned(), plain(Kind::String(StringRule::default())));
        definitions.insert("sequence".to_owned(), plain(Kind::Sequence { item: ANY.to_owned() }));
        definitions.insert(
            "mapping".to_owned(),
            plain(Kind::Mapping(MappingRule {
                properties: Vec::new(),
                loose_key: Some("string".to_owned()),
                loose_value: Some(ANY.to_owned()),
            })),
        );
        definitions.insert(
            ANY.to_owned(),
            plain(Kind::OneOf(
                ["null", "boolean", "number", "string", "sequence", "mapping"].map(str::to_owned).to_vec(),
            )),
        );
        for (name, body) in document.get("definitions")?.as_object()? {
            let context = strings(body.get("context"));
            let kind = if let Some(rule) = body.get("mapping") {
                Kind::Mapping(mapping_rule(rule))
            } else if let Some(rule) = body.get("sequence") {
                Kind::Sequence { item: rule.get("item-type").and_then(Json::as_str).unwrap_or(ANY).to_owned() }
            } else if let Some(options) = body.get("one-of") {
                Kind::OneOf(strings(Some(options)))
            } else if let Some(values) = body.get("allowed-values") {
                let mut names = Vec::new();
                for value in strings(Some(values)) {
                    let constant_name = format!("{name}-{value}");
                    let rule = StringRule { constant: Some(value), ignore_case: false, require_non_empty: false };
                    definitions.insert(constant_name.clone(), plain(Kind::String(rule)));
                    names.push(constant_name);
                }
                Kind::OneOf(names)
            } else if let Some(rule) = body.get("string") {
                Kind::String(StringRule {
                    constant: rule.get("constant").and_then(Json::as_str).map(str::to_owned),
                    ignore_case: rule.get("ignore-case").and_then(Json::as_bool).unwrap_or(false),
                    require_non_empty: rule.get("require-non-empty").and_then(Json::as_bool).unwrap_or(false),
                })
            } else if body.get("boolean").is_some() {
                Kind::Boolean
            } else if body.get("number").is_some() {
                Kind::Number
            } else if body.get("null").is_some() {
                Kind::Null
            } else {
                return None;
            };
            definitions.insert(name.clone(), Definition { kind, context });
        }
        Some(Schema { definitions })
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Definition> {
        self.definitions.get(name)
    }

    /// The scalar definitions `name` accepts, one-ofs expanded (in order, without repeats).
    pub(crate) fn scalars(&self, name: &str) -> Vec<&Kind> {
        let mut out = Vec::new();
        self.expand(name, &mut |kind| {
            if matches!(kind, Kind::Null | Kind::Boolean | Kind::Number | Kind::String(_)) {
                out.push(kind);
            }
        });
        out
    }

    /// The sequence definitions `name` accepts (item types).
    pub(crate) fn sequences(&self, name: &str) -> Vec<&str> {
        let mut out = Vec::new();
        self.expand(name, &mut |kind| {
            if let Kind::Sequence { item } = kind {
                out.push(item.as_str());
            }
        });
        out
    }

    /// The mapping definitions `name` accepts.
    pub(crate) fn mappings(&self, name: &str) -> Vec<&MappingRule> {
        let mut out = Vec::new();
        self.expand(name, &mut |kind| {
            if let Kind::Mapping(rule) = kind {
                out.push(rule);
            }
        });
        out
    }

    /// Calls `visit` with every non-one-of definition `name` stands for. GitHub's reader expands
    /// one level of nesting for sequences and mappings and every level for scalars; the schema
    /// nests one-ofs in scalars only, so expanding every level is the same.
    fn expand<'s>(&'s self, name: &str, visit: &mut dyn FnMut(&'s Kind)) {
        let mut pending = vec![(name, 0usize)];
        while let Some((name, depth)) = pending.pop() {
            let Some(definition) = self.definitions.get(name) else { continue };
            match &definition.kind {
                Kind::OneOf(options) if depth < 8 => {
                    pending.extend(options.iter().rev().map(|option| (option.as_str(), depth + 1)));
                }
                Kind::OneOf(_) => {}
                kind => visit(kind),
            }
        }
    }
}

fn mapping_rule(rule: &Json) -> MappingRule {
    let mut properties = Vec::new();
    if let Some(map) = rule.get("properties").and_then(Json::as_object) {
        for (name, value) in map {
            let (definition, required) = match value {
                Json::String(definition) => (definition.clone(), false),
                other => (
                    other.get("type").and_then(Json::as_str).unwrap_or("string").to_owned(),
                    other.get("required").and_then(Json::as_bool).unwrap_or(false),
                ),
            };
            properties.push(Property { name: name.clone(), definition, required });
        }
    }
    MappingRule {
        properties,
        loose_key: rule.get("loose-key-type").and_then(Json::as_str).map(str::to_owned),
        loose_value: rule.get("loose-value-type").and_then(Json::as_str).map(str::to_owned),
    }
}

fn strings(value: Option<&Json>) -> Vec<String> {
    value
        .and_then(Json::as_array)
        .map_or_else(Vec::new, |items| items.iter().filter_map(Json::as_str).map(str::to_owned).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_schema_reads_and_every_reference_resolves() {
        let schema = Schema::from_json(WORKFLOW_SCHEMA).expect("the workflow schema reads");
        assert!(schema.definitions.len() > 300);
        let mut missing = Vec::new();
        for (name, definition) in &schema.definitions {
            let referenced: Vec<&str> = match &definition.kind {
                Kind::Sequence { item } => vec![item],
                Kind::Mapping(rule) => rule
                    .properties
                    .iter()
                    .map(|property| property.definition.as_str())
                    .chain(rule.loose_key.as_deref())
                    .chain(rule.loose_value.as_deref())
                    .collect(),
                Kind::OneOf(options) => options.iter().map(String::as_str).collect(),
                _ => Vec::new(),
            };
            missing.extend(
                referenced
                    .into_iter()
                    .filter(|r| !schema.definitions.contains_key(*r))
                    .map(|r| format!("{name} -> {r}")),
            );
        }
        assert!(missing.is_empty(), "{missing:?}");
        let root = schema.mappings("workflow-root");
        assert_eq!(root.len(), 1);
        assert!(root[0].property("jobs").is_some_and(|jobs| jobs.required));
    }
}
