//! Variables as a job sees them: case-insensitive names, secret and read-only flags, `$(name)`
//! macro expansion and the mapping to environment variables.

use std::collections::HashMap;

use crate::expr;

/// One variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    /// The name as first written.
    pub name: String,
    /// The value.
    pub value: String,
    /// Whether it is secret: masked in output and not put in the environment.
    pub secret: bool,
    /// Whether steps may not change it.
    pub readonly: bool,
}

impl Variable {
    /// A plain variable.
    #[must_use]
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { name: name.into(), value: value.into(), secret: false, readonly: false }
    }

    /// A secret variable.
    #[must_use]
    pub fn secret(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { secret: true, ..Self::new(name, value) }
    }

    /// A read-only variable.
    #[must_use]
    pub fn readonly(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self { readonly: true, ..Self::new(name, value) }
    }
}

/// Setting a read-only variable was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("variable '{0}' is read-only and cannot be changed")]
pub struct ReadOnlyError(pub String);

/// An ordered, case-insensitive set of variables.
#[derive(Clone, Debug, Default)]
pub struct Variables {
    entries: Vec<Variable>,
    index: HashMap<String, usize>,
}

impl Variables {
    /// An empty set.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Looks a variable up, ignoring case.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Variable> {
        self.index.get(&name.to_ascii_lowercase()).and_then(|&at| self.entries.get(at))
    }

    /// The value of a variable.
    #[must_use]
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).map(|variable| variable.value.as_str())
    }

    /// Sets a variable unless a read-only one of that name exists.
    ///
    /// # Errors
    /// When the existing variable is read-only.
    pub fn set(&mut self, variable: Variable) -> Result<(), ReadOnlyError> {
        if let Some(existing) = self.get(&variable.name)
            && existing.readonly
        {
            return Err(ReadOnlyError(existing.name.clone()));
        }
        self.force(variable);
        Ok(())
    }

    /// Sets a variable whatever flags the existing one has (for the system's own variables).
    /// A secret stays secret.
    pub fn force(&mut self, mut variable: Variable) {
        let key = variable.name.to_ascii_lowercase();
        match self.index.get(&key) {
            Some(&at) => {
                if let Some(existing) = self.entries.get_mut(at) {
                    variable.secret |= existing.secret;
                    variable.name.clone_from(&existing.name);
                    *existing = variable;
                }
            }
            None => {
                self.index.insert(key, self.entries.len());
                self.entries.push(variable);
            }
        }
    }

    /// Every variable, in the order they were first set.
    pub fn iter(&self) -> impl Iterator<Item = &Variable> {
        self.entries.iter()
    }

    /// How many variables there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Expands `$(name)` macros; unknown ones stay as written.
    #[must_use]
    pub fn expand(&self, text: &str) -> String {
        if !text.contains("$(") {
            return text.to_owned();
        }
        expr::expand_macros(text, &|name| self.value(name).map(str::to_owned))
    }

    /// Expands macros inside the variables' own values (`b: $(a)/x`), a few rounds deep, as the
    /// agent does when a job starts.
    pub fn expand_values(&mut self) {
        for _ in 0..4 {
            let mut changed = false;
            for at in 0..self.entries.len() {
                let value = &self.entries[at].value;
                if !value.contains("$(") {
                    continue;
                }
                let expanded = self.expand(value);
                if expanded != self.entries[at].value {
                    self.entries[at].value = expanded;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
    }

    /// The environment a step gets from variables: every variable but secrets, named as Azure
    /// names them (upper case, `.` and spaces to `_`).
    #[must_use]
    pub fn environment(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .filter(|variable| !variable.secret)
            .map(|variable| (expr::env_name(&variable.name), variable.value.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_keep_their_first_spelling() {
        let mut variables = Variables::new();
        variables.force(Variable::new("Build.SourcesDirectory", "/src"));
        variables.force(Variable::new("build.sourcesdirectory", "/other"));
        assert_eq!(variables.value("BUILD.SOURCESDIRECTORY"), Some("/other"));
        assert_eq!(variables.iter().next().map(|v| v.name.as_str()), Some("Build.SourcesDirectory"));
        assert_eq!(variables.len(), 1);
    }

    #[test]
    fn read_only_variables_refuse_changes() {
        let mut variables = Variables::new();
        variables.force(Variable::readonly("locked", "1"));
        assert_eq!(variables.set(Variable::new("LOCKED", "2")), Err(ReadOnlyError("locked".into())));
        assert_eq!(variables.value("locked"), Some("1"));
        assert!(variables.set(Variable::new("free", "2")).is_ok());
    }

    #[test]
    fn secrets_stay_out_of_the_environment_and_stay_secret() {
        let mut variables = Variables::new();
        variables.force(Variable::new("my.var", "1"));
        variables.force(Variable::secret("token", "s3cret"));
        variables.force(Variable::new("token", "changed"));
        assert_eq!(variables.environment(), vec![("MY_VAR".to_owned(), "1".to_owned())]);
        assert!(variables.get("token").is_some_and(|v| v.secret));
    }

    #[test]
    fn expands_macros_and_chains_of_variables() {
        let mut variables = Variables::new();
        variables.force(Variable::new("a", "x"));
        variables.force(Variable::new("b", "$(a)/y"));
        variables.force(Variable::new("c", "$(b)/z"));
        variables.expand_values();
        assert_eq!(variables.value("c"), Some("x/y/z"));
        assert_eq!(variables.expand("$(a) $(missing) $(C)"), "x $(missing) x/y/z");
    }
}
