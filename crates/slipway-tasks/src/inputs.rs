//! Task inputs as Azure defines them: each input has a name, aliases, a default, a type, may be
//! required, and may be hidden by a `visibleRule`. [`Inputs::resolve`] turns the `inputs:` a step
//! wrote into the values the task reads, with the agent's rules (names and aliases match ignoring
//! case, values are trimmed, an empty value counts as not given) and its error messages.

use std::path::{Path, PathBuf};

/// The type of an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// Free text.
    String,
    /// `true` or `false`.
    Boolean,
    /// A path, relative to the default working directory when not absolute.
    FilePath,
    /// Several lines, one item each.
    MultiLine,
    /// One of fixed options.
    PickList {
        /// The allowed values.
        options: Vec<String>,
        /// Whether other values are allowed too.
        editable: bool,
    },
    /// A whole number.
    Integer,
    /// A type Slipway does not check (`connectedService:...`, `secureFile`, `radio`, ...).
    Other(String),
}

/// One input of a task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSpec {
    /// The input's name.
    pub name: String,
    /// Other names it may be given under.
    pub aliases: Vec<String>,
    /// Its type.
    pub kind: InputKind,
    /// The value when none is given.
    pub default: Option<String>,
    /// Whether a value must be given (when the input is visible).
    pub required: bool,
    /// When the input applies, such as `targetType = inline`.
    pub visible_rule: Option<String>,
}

impl InputSpec {
    /// An optional string input.
    #[must_use]
    pub fn string(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            aliases: Vec::new(),
            kind: InputKind::String,
            default: None,
            required: false,
            visible_rule: None,
        }
    }

    /// An optional boolean input.
    #[must_use]
    pub fn boolean(name: &str, default: bool) -> Self {
        Self { kind: InputKind::Boolean, default: Some(default.to_string()), ..Self::string(name) }
    }

    /// An optional path input.
    #[must_use]
    pub fn path(name: &str) -> Self {
        Self { kind: InputKind::FilePath, ..Self::string(name) }
    }

    /// An optional multi-line input.
    #[must_use]
    pub fn lines(name: &str) -> Self {
        Self { kind: InputKind::MultiLine, ..Self::string(name) }
    }

    /// A pick list.
    #[must_use]
    pub fn pick(name: &str, options: &[&str]) -> Self {
        Self {
            kind: InputKind::PickList {
                options: options.iter().map(|&option| option.to_owned()).collect(),
                editable: false,
            },
            ..Self::string(name)
        }
    }

    /// An optional whole-number input.
    #[must_use]
    pub fn integer(name: &str) -> Self {
        Self { kind: InputKind::Integer, ..Self::string(name) }
    }

    /// Sets the default.
    #[must_use]
    pub fn default(mut self, value: &str) -> Self {
        self.default = Some(value.to_owned());
        self
    }

    /// Makes the input required.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Adds aliases.
    #[must_use]
    pub fn alias(mut self, aliases: &[&str]) -> Self {
        self.aliases.extend(aliases.iter().map(|&alias| alias.to_owned()));
        self
    }

    /// Sets the visible rule.
    #[must_use]
    pub fn visible(mut self, rule: &str) -> Self {
        self.visible_rule = Some(rule.to_owned());
        self
    }

    fn answers_to(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name) || self.aliases.iter().any(|alias| alias.eq_ignore_ascii_case(name))
    }
}

/// Why a step's inputs do not fit the task.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", problems.join("; "))]
pub struct InputsError {
    /// Each problem, in the agent's words where it has them (`Input required: SourceFolder`).
    pub problems: Vec<String>,
}

/// The inputs a task runs with: every declared input's value (given, or its default), by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inputs {
    values: Vec<(String, String)>,
    /// Inputs given that the task does not declare (the agent ignores them; Slipway warns).
    pub unknown: Vec<String>,
}

impl Inputs {
    /// Matches what a step gave against the task's inputs.
    ///
    /// # Errors
    /// [`InputsError`] listing every required input that is missing and every value a pick list
    /// cannot take. Booleans are not checked: as in the task library, anything but `true` is false.
    pub fn resolve(specs: &[InputSpec], given: &[(String, String)]) -> Result<Self, InputsError> {
        let mut values: Vec<(String, String)> = Vec::new();
        for spec in specs {
            let value = given
                .iter()
                .find(|(name, _)| spec.answers_to(name))
                .map(|(_, value)| value.trim())
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
                .or_else(|| spec.default.clone())
                .unwrap_or_default();
            values.push((spec.name.clone(), value));
        }
        let unknown = given
            .iter()
            .filter(|(name, _)| !specs.iter().any(|spec| spec.answers_to(name)))
            .map(|(name, _)| name.clone())
            .collect();
        let inputs = Self { values, unknown };
        let mut problems = Vec::new();
        for spec in specs {
            if !inputs.is_visible(spec) {
                continue;
            }
            let value = inputs.get(&spec.name);
            match (value, &spec.kind) {
                (None, _) if spec.required => problems.push(format!("Input required: {}", spec.name)),
                (Some(value), InputKind::PickList { options, editable: false })
                    if !options.iter().any(|option| option.eq_ignore_ascii_case(value)) =>
                {
                    problems.push(format!(
                        "Input {} has an invalid value '{value}'; expected one of: {}",
                        spec.name,
                        options.join(", ")
                    ));
                }
                _ => {}
            }
        }
        if problems.is_empty() { Ok(inputs) } else { Err(InputsError { problems }) }
    }

    /// Whether an input's `visibleRule` holds for these values.
    #[must_use]
    pub fn is_visible(&self, spec: &InputSpec) -> bool {
        spec.visible_rule.as_deref().is_none_or(|rule| self.rule_holds(rule))
    }

    /// Evaluates a `visibleRule`: clauses `name = value`, `name != value`, `name == value`, joined
    /// by `&&` or by `||` (Azure does not mix them in one rule).
    #[must_use]
    pub fn rule_holds(&self, rule: &str) -> bool {
        let clause = |text: &str| {
            let text = text.trim();
            let (name, value, equal) = if let Some((name, value)) = text.split_once("!=") {
                (name, value, false)
            } else if let Some((name, value)) = text.split_once("==") {
                (name, value, true)
            } else if let Some((name, value)) = text.split_once('=') {
                (name, value, true)
            } else {
                return true;
            };
            let actual = self.get(name.trim()).unwrap_or_default();
            actual.eq_ignore_ascii_case(value.trim()) == equal
        };
        if rule.contains("||") { rule.split("||").any(clause) } else { rule.split("&&").all(clause) }
    }

    /// A value, when given or defaulted and not empty.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .filter(|value| !value.is_empty())
    }

    /// A value, or the empty string.
    #[must_use]
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// A boolean input (`true` in any case is true; anything else is false, as in the task library).
    #[must_use]
    pub fn boolean(&self, name: &str) -> bool {
        self.get(name).is_some_and(|value| value.eq_ignore_ascii_case("true"))
    }

    /// A multi-line input: its non-empty lines, trimmed.
    #[must_use]
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.text(name).lines().map(str::trim).filter(|line| !line.is_empty()).map(str::to_owned).collect()
    }

    /// A path input made absolute against `base`.
    #[must_use]
    pub fn path(&self, name: &str, base: &Path) -> Option<PathBuf> {
        self.get(name).map(|value| base.join(value))
    }

    /// The environment a task process reads its inputs from: `INPUT_<NAME>` for every input,
    /// upper case with spaces as `_`, as the agent sets them.
    #[must_use]
    pub fn environment(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(name, value)| (format!("INPUT_{}", name.replace(' ', "_").to_uppercase()), value.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    fn specs() -> Vec<InputSpec> {
        vec![
            InputSpec::path("SourceFolder").alias(&["sourceFolder"]),
            InputSpec::lines("Contents").default("**").required(),
            InputSpec::path("TargetFolder").required(),
            InputSpec::boolean("CleanTargetFolder", false).alias(&["cleanTargetFolder"]),
            InputSpec::pick("targetType", &["filePath", "inline"]).default("filePath"),
            InputSpec::string("script").required().visible("targetType = inline"),
        ]
    }

    #[test]
    fn names_and_aliases_match_ignoring_case_and_defaults_fill_in() {
        let inputs = Inputs::resolve(
            &specs(),
            &given(&[
                ("sourcefolder", " src "),
                ("TargetFolder", "out"),
                ("cleanTargetFolder", "TRUE"),
                ("extra", "x"),
            ]),
        )
        .expect("valid");
        assert_eq!(inputs.get("SourceFolder"), Some("src"));
        assert_eq!(inputs.lines("Contents"), vec!["**"]);
        assert!(inputs.boolean("CleanTargetFolder"));
        assert_eq!(inputs.unknown, vec!["extra"]);
        assert_eq!(inputs.environment()[0], ("INPUT_SOURCEFOLDER".to_owned(), "src".to_owned()));
    }

    #[test]
    fn missing_required_and_bad_values_are_reported_like_the_agent() {
        let error = Inputs::resolve(&specs(), &given(&[("targetType", "inline"), ("cleanTargetFolder", "maybe")]))
            .expect_err("invalid");
        insta::assert_snapshot!(error.to_string(), @"Input required: TargetFolder; Input required: script");
        let error = Inputs::resolve(&specs(), &given(&[("TargetFolder", "out"), ("targetType", "other")]))
            .expect_err("invalid");
        insta::assert_snapshot!(error.to_string(), @"Input targetType has an invalid value 'other'; expected one of: filePath, inline");
    }

    #[test]
    fn hidden_inputs_are_not_required() {
        let inputs = Inputs::resolve(&specs(), &given(&[("TargetFolder", "out")])).expect("script is hidden");
        assert!(!inputs.is_visible(&specs()[5]));
        assert!(inputs.rule_holds("targetType = filePath || targetType = inline"));
        assert!(!inputs.rule_holds("targetType = filePath && TargetFolder != out"));
    }
}
