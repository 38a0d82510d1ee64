//! Macro syntax `$(name)`, expanded the way the Azure Pipelines agent does it.
//!
//! The agent (`Variables.RecalculateExpanded` and `VarUtil.ExpandValues`) takes everything between
//! `$(` and the next `)` as the name, so any characters are allowed; an empty name or a name the
//! lookup does not know is left exactly as written. A variable's value is itself expanded,
//! recursively: a variable whose expansion meets a cycle (`a` → `$(b)` → `$(a)`) or nests 50 deep
//! is not expanded at all and keeps its raw value. Text inserted into the top-level string is not
//! scanned again.

use crate::value::{eq_ignore_case, upper_char};

/// Azure's `MaxDepth` for nested variable expansion.
const MAX_DEPTH: usize = 50;
/// Safety limits (not in Azure) against expansions that grow or branch exponentially: the number
/// of nested lookups for one variable and the length of one expanded value, in bytes.
const MAX_STEPS: usize = 10_000;
const MAX_EXPANDED_LEN: usize = 1 << 20;

/// Expands `$(name)` macros the way the Azure agent does: names may hold any characters up to the
/// first `)`; values that themselves hold macros are expanded recursively (at most 50 deep; a cycle
/// leaves the variable unexpanded); an unknown macro stays exactly as written. `lookup` returns a
/// variable's raw value and should match names case-insensitively.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, name, after)) = next_macro(rest) {
        match lookup(name).filter(|_| !name.is_empty()) {
            Some(raw) => {
                out.push_str(before);
                out.push_str(&expand_variable(name, raw, lookup));
                rest = after;
            }
            None => {
                // Skip past the '$' only; a later "$(" inside the candidate may still match.
                let skip = before.len() + 1;
                out.push_str(rest.get(..skip).unwrap_or(rest));
                rest = rest.get(skip..).unwrap_or_default();
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text before the next `$(`, the name up to the next `)`, and the text after that `)`.
fn next_macro(text: &str) -> Option<(&str, &str, &str)> {
    let start = text.find("$(")?;
    let name_start = start + 2;
    let name_len = text.get(name_start..)?.find(')')?;
    let before = text.get(..start)?;
    let name = text.get(name_start..name_start + name_len)?;
    let after = text.get(name_start + name_len + 1..)?;
    Some((before, name, after))
}

/// Marker for an expansion that has to be abandoned.
struct Abandon;

struct Expander<'l> {
    lookup: &'l dyn Fn(&str) -> Option<String>,
    steps: usize,
}

/// The expanded value of variable `name` whose raw value is `raw`; `raw` itself if the expansion
/// meets a cycle or goes too deep.
fn expand_variable(name: &str, raw: String, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut expander = Expander { lookup, steps: 0 };
    let mut stack = vec![name.to_owned()];
    match expander.expand_value(&mut stack, &raw) {
        Ok(expanded) => expanded,
        Err(Abandon) => raw,
    }
}

impl Expander<'_> {
    /// Expands `value`, the value of the innermost variable on `stack`.
    fn expand_value(&mut self, stack: &mut Vec<String>, value: &str) -> Result<String, Abandon> {
        let mut out = String::new();
        let mut rest = value;
        while let Some((before, name, after)) = next_macro(rest) {
            let nested = if name.is_empty() { None } else { (self.lookup)(name) };
            match nested {
                Some(nested) => {
                    if stack.len() >= MAX_DEPTH || stack.iter().any(|n| eq_ignore_case(n, name)) {
                        return Err(Abandon);
                    }
                    self.steps += 1;
                    if self.steps > MAX_STEPS {
                        return Err(Abandon);
                    }
                    stack.push(name.to_owned());
                    let expanded = self.expand_value(stack, &nested)?;
                    stack.pop();
                    out.push_str(before);
                    out.push_str(&expanded);
                    rest = after;
                }
                None => {
                    let skip = before.len() + 1;
                    out.push_str(rest.get(..skip).unwrap_or(rest));
                    rest = rest.get(skip..).unwrap_or_default();
                }
            }
            if out.len() > MAX_EXPANDED_LEN {
                return Err(Abandon);
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The environment variable name the agent gives a pipeline variable
/// (`VarUtil.ConvertToEnvVariableFormat`): `.` and space become `_`, letters are upper-cased
/// (invariant culture). `any.variable` → `ANY_VARIABLE`.
pub fn env_name(name: &str) -> String {
    name.chars().map(|c| if c == '.' || c == ' ' { '_' } else { upper_char(c) }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name: &str| pairs.iter().find(|(k, _)| eq_ignore_case(k, name)).map(|(_, v)| v.clone())
    }

    #[test]
    fn expands_known_and_keeps_unknown() {
        let lookup = vars(&[("a", "1"), ("B.c", "2"), ("with space", "3")]);
        assert_eq!(expand("$(a)-$(b.C)-$(x)-$(with space)", &lookup), "1-2-$(x)-3");
        assert_eq!(expand("$()$(a", &lookup), "$()$(a");
        // "$($(a)" is not a known name, so scanning resumes after its '$' and finds "$(a)".
        assert_eq!(expand("$($(a))", &lookup), "$(1)");
        assert_eq!(expand("$$(a)", &lookup), "$1");
        assert_eq!(expand("no macros", &lookup), "no macros");
        assert_eq!(expand("é$(a)é", &lookup), "é1é");
    }

    #[test]
    fn expands_recursively_without_rescanning_the_result() {
        let lookup = vars(&[("outer", "<$(inner)>"), ("inner", "v$(leaf)"), ("leaf", "!"), ("dollar", "$(")]);
        assert_eq!(expand("$(outer)", &lookup), "<v!>");
        // "$(" from a value does not join with the text after it.
        assert_eq!(expand("$(dollar)leaf)", &lookup), "$(leaf)");
    }

    #[test]
    fn cycles_and_depth_leave_the_variable_raw() {
        let lookup = vars(&[("a", "x$(b)"), ("b", "y$(a)"), ("self", "$(self)"), ("c", "$(a)")]);
        assert_eq!(expand("$(a)", &lookup), "x$(b)");
        assert_eq!(expand("$(self)", &lookup), "$(self)");
        assert_eq!(expand("$(c)", &lookup), "$(a)");
        let deep = |name: &str| {
            let n: usize = name.strip_prefix('v')?.parse().ok()?;
            Some(if n >= 100 { "end".to_owned() } else { format!("$(v{})", n + 1) })
        };
        assert_eq!(expand("$(v60)", &deep), "end", "40 levels are fine");
        assert_eq!(expand("$(v0)", &deep), "$(v1)", "100 levels exceed the depth");
    }

    #[test]
    fn exponential_expansion_is_cut_off() {
        let lookup = |name: &str| {
            let n: usize = name.strip_prefix('v')?.parse().ok()?;
            Some(if n >= 40 { "xxxxxxxx".to_owned() } else { format!("$(v{0})$(v{0})", n + 1) })
        };
        assert_eq!(expand("$(v0)", &lookup), "$(v1)$(v1)");
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name("any.variable"), "ANY_VARIABLE");
        assert_eq!(env_name("test value2"), "TEST_VALUE2");
        assert_eq!(env_name(".. TEST   VALUE. 6"), "___TEST___VALUE__6");
        assert_eq!(env_name(""), "");
    }
}
