//! The built-in functions and their argument counts.
//!
//! Built-in everywhere: `contains`, `startsWith`, `endsWith`, `format`, `join`, `toJSON`,
//! `fromJSON` and `case`. Provided by the place an expression sits in (GitHub's schema lists
//! them per key): `success`, `failure`, `cancelled`, `always` and `hashFiles`. String matching
//! ignores case as comparisons do ([`crate::value::eq_ignore_case`]).

use crate::value::{Value, fold_str, loose_eq};

/// A function's name (in GitHub's spelling) and how many arguments it takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The name as GitHub spells it (`hashFiles`); calls match it without regard to case.
    pub name: String,
    /// Fewest arguments.
    pub min_args: usize,
    /// Most arguments (`usize::MAX`: no limit).
    pub max_args: usize,
}

const BUILTINS: &[(&str, usize, usize)] = &[
    ("contains", 2, 2),
    ("startsWith", 2, 2),
    ("endsWith", 2, 2),
    ("format", 1, 255),
    ("join", 1, 2),
    ("toJSON", 1, 1),
    ("fromJSON", 1, 1),
    ("case", 3, usize::MAX),
];

const EXTENSIONS: &[(&str, usize, usize)] = &[
    ("always", 0, 0),
    ("cancelled", 0, 0),
    ("success", 0, usize::MAX),
    ("failure", 0, usize::MAX),
    ("hashFiles", 1, 255),
];

fn find(table: &[(&str, usize, usize)], name: &str) -> Option<FunctionSpec> {
    table.iter().find(|(n, ..)| n.eq_ignore_ascii_case(name)).map(|&(n, min_args, max_args)| FunctionSpec {
        name: n.to_owned(),
        min_args,
        max_args,
    })
}

/// The built-in function `name`.
pub(crate) fn builtin(name: &str) -> Option<FunctionSpec> {
    find(BUILTINS, name)
}

/// The function `name` that GitHub provides at some places (status functions, `hashFiles`).
pub(crate) fn extension(name: &str) -> Option<FunctionSpec> {
    find(EXTENSIONS, name)
}

/// `contains(search, item)`: a substring of a primitive (as strings, ignoring case), or an
/// element of an array (by `==`).
pub(crate) fn contains(search: &Value, item: &Value) -> bool {
    match search {
        Value::Array(items) => items.iter().any(|v| loose_eq(item, v)),
        Value::Object(_) => false,
        _ if item.is_primitive() => {
            fold_str(&search.to_display_string()).contains(&fold_str(&item.to_display_string()))
        }
        _ => false,
    }
}

/// `startsWith(text, prefix)` / `endsWith(text, suffix)` on primitives, ignoring case.
pub(crate) fn affix(text: &Value, affix: &Value, start: bool) -> bool {
    if !text.is_primitive() || !affix.is_primitive() {
        return false;
    }
    let text = fold_str(&text.to_display_string());
    let affix = fold_str(&affix.to_display_string());
    if start { text.starts_with(&affix) } else { text.ends_with(&affix) }
}

/// `join(array, separator = ',')`: a primitive is itself as a string; an array's items as
/// strings joined; anything else is `''`. A separator that is not a primitive is `,`.
/// Fails when the result would exceed `limit` bytes.
pub(crate) fn join(items: &Value, separator: Option<&Value>, limit: usize) -> Result<String, String> {
    match items {
        Value::Array(items) => {
            let separator = match separator {
                Some(s) if s.is_primitive() => s.to_display_string(),
                _ => ",".to_owned(),
            };
            let mut out = String::new();
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(&separator);
                }
                out.push_str(&item.to_display_string());
                if out.len() > limit {
                    return Err(MEMORY.to_owned());
                }
            }
            Ok(out)
        }
        Value::Object(_) => Ok(String::new()),
        primitive => Ok(primitive.to_display_string()),
    }
}

/// GitHub's message when an expression's strings grow too big.
pub(crate) const MEMORY: &str = "The maximum allowed memory size was exceeded";

/// `format(text, args...)`: `{N}` replaced by argument N as a string, `{{` and `}}` for braces.
/// Fails when the result would exceed `limit` bytes.
pub(crate) fn format(text: &str, args: &[Value], limit: usize) -> Result<String, String> {
    let invalid = || format!("The following format string is invalid: '{text}'");
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|&(_, c)| c) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '{' => {
                let mut digits = String::new();
                let mut closed = false;
                for (_, d) in chars.by_ref() {
                    if d == '}' {
                        closed = true;
                        break;
                    }
                    digits.push(d);
                }
                if !closed {
                    return Err(format!("Unclosed brackets. {}", invalid()));
                }
                if digits.is_empty() || !digits.chars().all(|d| d.is_ascii_digit()) {
                    return Err(invalid());
                }
                let index: i32 = digits.parse().map_err(|_| invalid())?;
                let Some(arg) = usize::try_from(index).ok().and_then(|i| args.get(i)) else {
                    return Err(format!(
                        "The following format string references more arguments than were supplied: '{text}'"
                    ));
                };
                out.push_str(&arg.to_display_string());
                if out.len() > limit {
                    return Err(MEMORY.to_owned());
                }
            }
            '}' if chars.peek().map(|&(_, c)| c) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '}' => return Err(format!("Closing bracket without opening one. {}", invalid())),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `fromJSON(text)`: JSON into a value (keys in order; nesting bounded by the JSON reader).
pub(crate) fn from_json(text: &str) -> Result<Value, String> {
    if text.trim().is_empty() {
        return Err("Error parsing fromJson: empty input (expected JSON text)".to_owned());
    }
    serde_json::from_str::<Value>(text).map_err(|e| format!("Error parsing fromJson: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str, args: &[&str]) -> Result<String, String> {
        let args: Vec<Value> = args.iter().map(|a| Value::from(*a)).collect();
        format(text, &args, usize::MAX)
    }

    #[test]
    fn format_replaces_and_escapes() {
        assert_eq!(fmt("{{Hello {0} {1}!}}", &["Mona", "Octocat"]).as_deref(), Ok("{Hello Mona Octocat!}"));
        assert_eq!(fmt("{{{0}}}", &["x"]).as_deref(), Ok("{x}"));
        assert_eq!(fmt("}}", &[]).as_deref(), Ok("}"));
        insta::assert_snapshot!(fmt("{0}}", &["a"]).expect_err("closing"), @"Closing bracket without opening one. The following format string is invalid: '{0}}'");
        insta::assert_snapshot!(fmt("{0", &["a"]).expect_err("open"), @"Unclosed brackets. The following format string is invalid: '{0'");
        insta::assert_snapshot!(fmt("{2}", &["a"]).expect_err("missing"), @"The following format string references more arguments than were supplied: '{2}'");
        insta::assert_snapshot!(fmt("{2147483648}", &[]).expect_err("big"), @"The following format string is invalid: '{2147483648}'");
        insta::assert_snapshot!(fmt("{a}", &[]).expect_err("letters"), @"The following format string is invalid: '{a}'");
    }

    #[test]
    fn contains_and_affixes_ignore_case() {
        assert!(contains(&"abCdEf".into(), &"cDe".into()));
        assert!(contains(&"asdf".into(), &Value::Null));
        assert!(contains(&vec![Value::from(123.0)].into(), &"123".into()));
        assert!(!contains(&vec![Value::from(true)].into(), &"true".into()));
        assert!(affix(&"ς_x".into(), &"Σ".into(), true));
        assert!(!affix(&"I_x".into(), &"ı".into(), true));
        assert!(affix(&123.0.into(), &"23".into(), false));
    }

    #[test]
    fn from_json_errors_are_reported() {
        insta::assert_snapshot!(from_json(" ").expect_err("empty"), @"Error parsing fromJson: empty input (expected JSON text)");
        insta::assert_snapshot!(from_json("{").expect_err("bad"), @"Error parsing fromJson: EOF while parsing an object at line 1 column 1");
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(from_json(&deep).is_err());
    }
}
