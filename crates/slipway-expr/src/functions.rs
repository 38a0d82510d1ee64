//! The built-in functions.
//!
//! Argument counts follow the docs' "Min parameters / Max parameters" lines, except where the
//! reference implementation's registration differs and is the stricter or more specific source
//! (`in`/`notIn` need 2, `format` takes at most 255 arguments, `replace` takes 2 or 3).

use std::borrow::Cow;

use crate::eval::{EvalError, Evaluator};
use crate::syntax::Expr;
use crate::value::{Value, compare, equals, fold, lower_char, upper_char};
use crate::{format, json};

/// The most memory a single function result may use, in bytes, counting two bytes per UTF-16
/// code unit as .NET does (Azure's default `MaxMemory` of 1 MB).
pub(crate) const MAX_MEMORY: usize = 1_048_576;

/// A built-in function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Function {
    And,
    Coalesce,
    Contains,
    ContainsValue,
    ConvertToJson,
    EndsWith,
    Eq,
    Format,
    Ge,
    Gt,
    Iif,
    In,
    Join,
    Le,
    Length,
    Lower,
    Lt,
    Ne,
    Not,
    NotIn,
    Or,
    Replace,
    Split,
    StartsWith,
    Trim,
    Upper,
    Xor,
}

/// "No upper limit" in an argument range.
pub(crate) const MANY: usize = usize::MAX;

/// Name (canonical spelling), function, minimum and maximum argument count.
pub(crate) const BUILTINS: &[(&str, Function, usize, usize)] = &[
    ("and", Function::And, 2, MANY),
    ("coalesce", Function::Coalesce, 2, MANY),
    ("contains", Function::Contains, 2, 2),
    ("containsValue", Function::ContainsValue, 2, 2),
    ("convertToJson", Function::ConvertToJson, 1, 1),
    ("endsWith", Function::EndsWith, 2, 2),
    ("eq", Function::Eq, 2, 2),
    ("format", Function::Format, 1, 255),
    ("ge", Function::Ge, 2, 2),
    ("gt", Function::Gt, 2, 2),
    ("iif", Function::Iif, 1, 3),
    ("in", Function::In, 2, MANY),
    ("join", Function::Join, 2, 2),
    ("le", Function::Le, 2, 2),
    ("length", Function::Length, 1, 1),
    ("lower", Function::Lower, 1, 1),
    ("lt", Function::Lt, 2, 2),
    ("ne", Function::Ne, 2, 2),
    ("not", Function::Not, 1, 1),
    ("notIn", Function::NotIn, 2, MANY),
    ("or", Function::Or, 2, MANY),
    ("replace", Function::Replace, 2, 3),
    ("split", Function::Split, 2, 2),
    ("startsWith", Function::StartsWith, 2, 2),
    ("trim", Function::Trim, 1, 1),
    ("upper", Function::Upper, 1, 1),
    ("xor", Function::Xor, 2, 2),
];

/// A built-in function's entry, found case-insensitively.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Builtin {
    pub(crate) function: Function,
    pub(crate) min: usize,
    pub(crate) max: usize,
}

impl Builtin {
    pub(crate) fn check_arity(&self, name: &str, count: usize) -> Result<(), String> {
        check_arity(name, self.min, self.max, count)
    }
}

/// The built-in function called `name` (any case).
pub(crate) fn builtin(name: &str) -> Option<Builtin> {
    BUILTINS.iter().find(|(n, ..)| n.eq_ignore_ascii_case(name)).map(|&(_, function, min, max)| Builtin {
        function,
        min,
        max,
    })
}

/// `Ok` if `count` is within `min..=max`, else the message for a wrong argument count.
pub(crate) fn check_arity(name: &str, min: usize, max: usize, count: usize) -> Result<(), String> {
    if (min..=max).contains(&count) {
        return Ok(());
    }
    let expected = if min == max {
        format!("{min}")
    } else if max == MANY {
        format!("at least {min}")
    } else {
        format!("{min} to {max}")
    };
    Err(format!("Wrong number of arguments for function '{name}': expected {expected}, got {count}"))
}

/// Tracks the size of a result being built, as Azure's `MemoryCounter` does.
pub(crate) struct Memory<'s> {
    bytes: usize,
    source: &'s str,
}

impl<'s> Memory<'s> {
    pub(crate) fn new(source: &'s str) -> Self {
        Memory { bytes: 0, source }
    }

    /// Counts `s`; fails once the total passes [`MAX_MEMORY`].
    pub(crate) fn add(&mut self, s: &str) -> Result<(), EvalError> {
        self.add_units(s.encode_utf16().count())
    }

    /// Counts `units` UTF-16 code units.
    pub(crate) fn add_units(&mut self, units: usize) -> Result<(), EvalError> {
        self.bytes = self.bytes.saturating_add(units.saturating_mul(2));
        if self.bytes > MAX_MEMORY {
            return Err(EvalError::new(format!(
                "The maximum allowed memory size was exceeded while evaluating the following expression: {}",
                self.source
            )));
        }
        Ok(())
    }
}

fn arg(args: &[Expr], index: usize) -> Result<&Expr, EvalError> {
    args.get(index).ok_or_else(|| EvalError::new("Missing function argument"))
}

fn owned(value: Value) -> Result<Cow<'static, Value>, EvalError> {
    Ok(Cow::Owned(value))
}

/// Evaluates a built-in function whose argument count has been checked.
pub(crate) fn call_builtin<'a>(
    ev: &Evaluator<'a>,
    builtin: Builtin,
    args: &'a [Expr],
) -> Result<Cow<'a, Value>, EvalError> {
    let a = |i| arg(args, i);
    match builtin.function {
        Function::And => {
            for expr in args {
                if !ev.eval(expr)?.is_truthy() {
                    return owned(Value::Bool(false));
                }
            }
            owned(Value::Bool(true))
        }
        Function::Or => {
            for expr in args {
                if ev.eval(expr)?.is_truthy() {
                    return owned(Value::Bool(true));
                }
            }
            owned(Value::Bool(false))
        }
        Function::Not => owned(Value::Bool(!ev.eval(a(0)?)?.is_truthy())),
        Function::Xor => {
            let left = ev.eval(a(0)?)?.is_truthy();
            let right = ev.eval(a(1)?)?.is_truthy();
            owned(Value::Bool(left != right))
        }
        Function::Eq | Function::Ne => {
            let left = ev.eval(a(0)?)?;
            let right = ev.eval(a(1)?)?;
            let equal = equals(&left, &right);
            owned(Value::Bool(if builtin.function == Function::Eq { equal } else { !equal }))
        }
        Function::Gt | Function::Ge | Function::Lt | Function::Le => {
            let left = ev.eval(a(0)?)?;
            let right = ev.eval(a(1)?)?;
            let ordering = compare(&left, &right)?;
            owned(Value::Bool(match builtin.function {
                Function::Gt => ordering.is_gt(),
                Function::Ge => ordering.is_ge(),
                Function::Lt => ordering.is_lt(),
                _ => ordering.is_le(),
            }))
        }
        Function::In | Function::NotIn => {
            let left = ev.eval(a(0)?)?;
            let mut found = false;
            for expr in args.iter().skip(1) {
                if equals(&left, &*ev.eval(expr)?) {
                    found = true;
                    break;
                }
            }
            owned(Value::Bool(if builtin.function == Function::In { found } else { !found }))
        }
        Function::Contains | Function::StartsWith | Function::EndsWith => {
            let left = fold(&ev.eval_string(a(0)?)?);
            let right = fold(&ev.eval_string(a(1)?)?);
            owned(Value::Bool(match builtin.function {
                Function::Contains => left.contains(&right),
                Function::StartsWith => left.starts_with(&right),
                _ => left.ends_with(&right),
            }))
        }
        Function::ContainsValue => {
            let collection = ev.eval(a(0)?)?;
            let found = match &*collection {
                Value::Array(items) => {
                    let needle = ev.eval(a(1)?)?;
                    items.iter().any(|item| equals(&needle, item))
                }
                Value::Object(object) => {
                    let needle = ev.eval(a(1)?)?;
                    object.values().any(|item| equals(&needle, item))
                }
                _ => false,
            };
            owned(Value::Bool(found))
        }
        Function::Coalesce => {
            let mut last = Cow::Owned(Value::Null);
            for expr in args {
                last = ev.eval(expr)?;
                if !last.is_null_like() {
                    break;
                }
            }
            Ok(last)
        }
        Function::Iif => {
            let branch = if ev.eval(a(0)?)?.is_truthy() { 1 } else { 2 };
            match args.get(branch) {
                Some(expr) => ev.eval(expr),
                None => owned(Value::Null),
            }
        }
        Function::Length => {
            let value = ev.eval(a(0)?)?;
            let length = match &*value {
                Value::String(s) => s.encode_utf16().count(),
                Value::Array(items) => items.len(),
                Value::Object(object) => object.len(),
                other => {
                    return Err(EvalError::new(format!(
                        "Kind '{}' not supported. Only arrays, strings, dictionaries, or collections are supported for the length function.",
                        other.kind_name()
                    )));
                }
            };
            #[expect(clippy::cast_precision_loss, reason = "lengths are far below 2^53")]
            owned(Value::Number(length as f64))
        }
        Function::Lower => owned(Value::String(ev.eval_string(a(0)?)?.chars().map(lower_char).collect())),
        Function::Upper => owned(Value::String(ev.eval_string(a(0)?)?.chars().map(upper_char).collect())),
        Function::Trim => owned(Value::String(ev.eval_string(a(0)?)?.trim().to_owned())),
        Function::Join => join(ev, args),
        Function::Split => {
            let text = ev.eval_string(a(0)?)?;
            let delimiter = ev.eval_string(a(1)?)?;
            let parts: Vec<Value> = if delimiter.is_empty() {
                vec![Value::String(text)]
            } else {
                text.split(delimiter.as_str()).map(Value::from).collect()
            };
            owned(Value::Array(parts))
        }
        Function::Replace => {
            let text = ev.eval_string(a(0)?)?;
            let old = ev.eval_string(a(1)?)?;
            let new = match args.get(2) {
                Some(expr) => ev.eval_string(expr)?,
                None => String::new(),
            };
            if old.is_empty() {
                return Err(EvalError::new("String cannot be of zero length. (Parameter 'oldValue')"));
            }
            // Size the result before building it so nested replaces cannot blow up.
            let count = text.matches(old.as_str()).count();
            let units = |s: &str| s.encode_utf16().count();
            let mut memory = Memory::new(ev.source);
            memory.add_units(units(&text).saturating_sub(count.saturating_mul(units(&old))))?;
            memory.add_units(count.saturating_mul(units(&new)))?;
            owned(Value::String(text.replace(old.as_str(), &new)))
        }
        Function::Format => owned(Value::String(format::format(ev, args)?)),
        Function::ConvertToJson => {
            let value = ev.eval(a(0)?)?;
            owned(Value::String(json::convert_to_json(&value, ev.source)?))
        }
    }
}

/// `join(separator, collection)`: elements converted to strings (arrays and objects become empty
/// strings); a non-array second argument is converted to a string (objects become empty).
fn join<'a>(ev: &Evaluator<'a>, args: &'a [Expr]) -> Result<Cow<'a, Value>, EvalError> {
    let collection = ev.eval(arg(args, 1)?)?;
    let Value::Array(items) = &*collection else {
        return owned(Value::String(collection.try_to_string().map(Cow::into_owned).unwrap_or_default()));
    };
    let mut memory = Memory::new(ev.source);
    let mut out = String::new();
    let mut separator = None;
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            // The separator is only evaluated when there is something to separate.
            let separator = match &separator {
                Some(s) => s,
                None => separator.insert(ev.eval_string(arg(args, 0)?)?),
            };
            memory.add(separator)?;
            out.push_str(separator);
        }
        if let Some(text) = item.try_to_string() {
            memory.add(&text)?;
            out.push_str(&text);
        }
    }
    owned(Value::String(out))
}
