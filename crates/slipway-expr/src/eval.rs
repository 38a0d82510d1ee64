//! Evaluation of a syntax tree against a [`Context`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::Expression;
use crate::functions;
use crate::syntax::{Accessor, Expr};
use crate::value::{Object, Value};

/// An evaluation failure.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{message}")]
pub struct EvalError {
    /// What went wrong, in Azure's words where Azure has them.
    pub message: String,
}

impl EvalError {
    /// An error with the given message.
    pub fn new(message: impl Into<String>) -> Self {
        EvalError { message: message.into() }
    }
}

/// What an expression can see: named values and host-provided functions.
pub trait Context {
    /// The value of a named root: `variables`, `parameters`, `dependencies`, `stageDependencies`,
    /// `pipeline`, `resources`, or an `each` loop variable. `None` = not a name this context knows
    /// (evaluation then fails with "Unrecognized value: 'x'"). Names should be matched
    /// case-insensitively, as Azure does.
    fn named_value(&self, name: &str) -> Option<Cow<'_, Value>>;

    /// A function the host provides (status functions, `counter`). `None` = not provided here.
    /// Arguments arrive evaluated, left to right. Names should be matched case-insensitively.
    fn call(&self, name: &str, arguments: &[Value]) -> Option<Result<Value, EvalError>>;
}

/// An object is a context whose entries are the named values; it provides no functions.
impl Context for Object {
    fn named_value(&self, name: &str) -> Option<Cow<'_, Value>> {
        self.get(name).map(Cow::Borrowed)
    }

    fn call(&self, _name: &str, _arguments: &[Value]) -> Option<Result<Value, EvalError>> {
        None
    }
}

/// Evaluates a parsed expression.
pub fn evaluate(expression: &Expression, context: &dyn Context) -> Result<Value, EvalError> {
    let evaluator = Evaluator { context, source: &expression.source };
    evaluator.eval(&expression.root).map(Cow::into_owned)
}

/// Walks the tree. Values borrowed from the context or from literals stay borrowed until a
/// function needs to build something new.
pub(crate) struct Evaluator<'a> {
    pub(crate) context: &'a dyn Context,
    pub(crate) source: &'a str,
}

/// The value being accessed while an access path is applied. A wildcard turns it into a
/// *filtered array*, to which later accessors apply element-wise (`foo.*.id`).
enum Current<'a> {
    Single(Cow<'a, Value>),
    Filtered(Vec<Cow<'a, Value>>),
}

/// What an accessor looks up.
enum Key<'k> {
    Name(&'k str),
    Value(Value),
    Wildcard,
}

impl<'a> Evaluator<'a> {
    pub(crate) fn eval(&self, expr: &'a Expr) -> Result<Cow<'a, Value>, EvalError> {
        match expr {
            Expr::Literal(value) => Ok(Cow::Borrowed(value)),
            Expr::NamedValue { name, .. } => {
                self.context.named_value(name).ok_or_else(|| EvalError::new(format!("Unrecognized value: '{name}'")))
            }
            Expr::Call { name, args, .. } => self.call(name, args),
            Expr::Access { target, path } => self.access(target, path),
        }
    }

    /// `ConvertToString` of an evaluated argument (errors for arrays and objects).
    pub(crate) fn eval_string(&self, expr: &'a Expr) -> Result<String, EvalError> {
        let value = self.eval(expr)?;
        Ok(value.to_string_strict()?.into_owned())
    }

    fn call(&self, name: &str, args: &'a [Expr]) -> Result<Cow<'a, Value>, EvalError> {
        if let Some(function) = functions::builtin(name) {
            function.check_arity(name, args.len()).map_err(EvalError::new)?;
            return functions::call_builtin(self, function, args);
        }
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            values.push(self.eval(arg)?.into_owned());
        }
        match self.context.call(name, &values) {
            Some(result) => result.map(Cow::Owned),
            None => Err(EvalError::new(format!("Unrecognized function: '{name}'"))),
        }
    }

    fn access(&self, target: &'a Expr, path: &'a [Accessor]) -> Result<Cow<'a, Value>, EvalError> {
        let mut current = Current::Single(self.eval(target)?);
        for accessor in path {
            let key = match accessor {
                Accessor::Property(name) => Key::Name(name),
                Accessor::Index(index) => Key::Value(self.eval(index)?.into_owned()),
                Accessor::Wildcard => Key::Wildcard,
            };
            current = apply(current, &key);
        }
        Ok(match current {
            Current::Single(value) => value,
            Current::Filtered(items) => Cow::Owned(Value::Array(items.into_iter().map(Cow::into_owned).collect())),
        })
    }
}

/// The child of `value` at `key`, borrowed if `value` is.
fn child<'a>(value: Cow<'a, Value>, key: &Key<'_>) -> Option<Cow<'a, Value>> {
    match value {
        Cow::Borrowed(v) => child_ref(v, key).map(Cow::Borrowed),
        Cow::Owned(v) => child_ref(&v, key).cloned().map(Cow::Owned),
    }
}

/// Azure's `IndexerNode`: objects are indexed by the key converted to a string (matched
/// case-insensitively), arrays by the key converted to a number (non-negative, floored, in range).
/// Anything else yields nothing.
fn child_ref<'v>(value: &'v Value, key: &Key<'_>) -> Option<&'v Value> {
    match (value, key) {
        (Value::Object(object), Key::Name(name)) => object.get(name),
        (Value::Object(object), Key::Value(key)) => object.get(&key.try_to_string()?),
        (Value::Array(items), Key::Value(key)) => items.get(array_index(key)?),
        _ => None,
    }
}

fn array_index(key: &Value) -> Option<usize> {
    let n = key.try_to_number()?;
    if n.is_nan() || n < 0.0 {
        return None;
    }
    let floored = n.floor();
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "non-negative and range-checked")]
    (floored < usize::MAX as f64).then_some(floored as usize)
}

/// All elements of an array or property values of an object.
fn all_children(value: Cow<'_, Value>) -> Vec<Cow<'_, Value>> {
    match value {
        Cow::Borrowed(Value::Array(items)) => items.iter().map(Cow::Borrowed).collect(),
        Cow::Borrowed(Value::Object(object)) => object.values().map(Cow::Borrowed).collect(),
        Cow::Owned(Value::Array(items)) => items.into_iter().map(Cow::Owned).collect(),
        Cow::Owned(Value::Object(object)) => object.into_iter().map(|(_, v)| Cow::Owned(v)).collect(),
        _ => Vec::new(),
    }
}

fn apply<'a>(current: Current<'a>, key: &Key<'_>) -> Current<'a> {
    match (current, key) {
        (Current::Single(value), Key::Wildcard) => Current::Filtered(all_children(value)),
        (Current::Single(value), _) => Current::Single(child(value, key).unwrap_or(Cow::Owned(Value::Null))),
        (Current::Filtered(items), Key::Wildcard) => {
            Current::Filtered(items.into_iter().flat_map(all_children).collect())
        }
        (Current::Filtered(items), _) => {
            Current::Filtered(items.into_iter().filter_map(|item| child(item, key)).collect())
        }
    }
}
