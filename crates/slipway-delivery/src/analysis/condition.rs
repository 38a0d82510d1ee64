//! A metric's `successCondition` and `failureCondition`: expr-lang expressions (the language
//! Argo evaluates them in, `github.com/expr-lang/expr`), here through the `expr-lang` crate, with
//! `result` bound to the measured value and Argo's functions added (its
//! `utils/evaluate/evaluate.go`):
//!
//! - `isNaN(x)`, `isInf(x)` (either sign), on numbers;
//! - `asInt(x)`, `asFloat(x)`: a number or a numeric string as an integer (truncated) or a float;
//! - `default(x, fallback)` and `isNil(x)`: as in Argo, these look at `result` itself, not at `x`:
//!   `default` gives `result` unless it is nil, then `fallback`; `isNil` tells whether `result`
//!   is nil.
//!
//! How a value becomes `result`: JSON numbers are floats, as Go's `encoding/json` and
//! Prometheus's client make them (so `asInt` is how to get an integer); objects are maps, arrays
//! arrays. JSON cannot hold NaN or infinities, so for the Prometheus and Slipway providers the
//! strings `NaN`, `+Inf`, `-Inf` and `Inf` (how Prometheus's HTTP API writes those samples) are
//! turned into those floats; a `web` result keeps its strings as they are.
//!
//! Where the crate differs from Go's expr (as far as these conditions go): indexing past the end
//! of an array gives nil rather than an error (`result[0] >= 0.95` on an empty vector is still an
//! error, because nil cannot be compared, but `result[0] == nil` is true where Go fails); and
//! names are not checked against an environment when compiling, so [`check`] finds unknown
//! functions and variables by running the condition once with a nil `result`, which catches those
//! on the path it takes.
//!
//! Missing next to Go's expr: the date and time functions (`now`, `date`, `duration`,
//! `timezone`), `toJSON`/`fromJSON` and `toBase64`/`fromBase64`, because the crate is built without
//! its `temporal`, `json` and `base64` features (the `json` feature would turn on `serde_json`'s
//! `preserve_order` for the whole workspace); a condition calling one is refused when the template
//! is read. Every function Argo adds is here.

use std::sync::LazyLock;

use expr::{Context, Environment, Value};

use super::{MeasurementPhase, MetricSpec, Provider};

/// The functions the expression language has, for "did you mean" hints: expr-lang's built-ins
/// (without the `temporal`, `json` and `base64` features, which these conditions do not need)
/// and Argo's.
pub(crate) const FUNCTIONS: &str = "\
    isNaN isInf asInt asFloat default isNil max min abs ceil floor round mean median count sum \
    reduce all any one none map filter find findIndex findLast findLastIndex groupBy sort sortBy \
    type get toPairs fromPairs join first last take reverse uniq concat flatten keys values len trim \
    trimPrefix trimSuffix upper lower split splitAfter replace repeat indexOf lastIndexOf hasPrefix \
    hasSuffix int float string";

/// The environment every condition runs in: expr-lang's built-ins and Argo's functions.
static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut environment = Environment::new();
    environment.add_function("isNaN", |call| match call.args.as_slice() {
        [Value::Float(number)] => Ok(Value::Bool(number.is_nan())),
        [Value::Integer(_)] => Ok(Value::Bool(false)),
        [other] => Err(format!("isNaN() needs a number, got {}", describe(other)).into()),
        args => Err(format!("isNaN() takes 1 argument, got {}", args.len()).into()),
    });
    environment.add_function("isInf", |call| match call.args.as_slice() {
        [Value::Float(number)] => Ok(Value::Bool(number.is_infinite())),
        [Value::Integer(_)] => Ok(Value::Bool(false)),
        [other] => Err(format!("isInf() needs a number, got {}", describe(other)).into()),
        args => Err(format!("isInf() takes 1 argument, got {}", args.len()).into()),
    });
    environment.add_function("asInt", |call| match call.args.as_slice() {
        [Value::Integer(number)] => Ok(Value::Integer(*number)),
        // Go's int64(f) truncates toward zero; NaN and infinities have no integer.
        [Value::Float(number)] if number.is_finite() => Ok(Value::Integer(number.trunc() as i64)),
        [Value::String(text)] => text
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| format!("asInt() cannot read {text:?} as an integer").into()),
        [other] => Err(format!("asInt() not supported on {}", describe(other)).into()),
        args => Err(format!("asInt() takes 1 argument, got {}", args.len()).into()),
    });
    environment.add_function("asFloat", |call| match call.args.as_slice() {
        [Value::Integer(number)] => Ok(Value::Float(*number as f64)),
        [Value::Float(number)] => Ok(Value::Float(*number)),
        [Value::String(text)] => text
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|_| format!("asFloat() cannot read {text:?} as a number").into()),
        [other] => Err(format!("asFloat() not supported on {}", describe(other)).into()),
        args => Err(format!("asFloat() takes 1 argument, got {}", args.len()).into()),
    });
    environment.add_function("default", |call| match call.args.as_slice() {
        [_, fallback] => {
            let result = call.ctx.get("result").cloned().unwrap_or(Value::Nil);
            Ok(if result.is_nil() { fallback.clone() } else { result })
        }
        args => Err(format!("default() takes 2 arguments, got {}", args.len()).into()),
    });
    environment.add_function("isNil", |call| match call.args.as_slice() {
        [_] => Ok(Value::Bool(call.ctx.get("result").is_none_or(Value::is_nil))),
        args => Err(format!("isNil() takes 1 argument, got {}", args.len()).into()),
    });
    environment
});

/// Checks a condition when a template is read: it must parse, and running it once with a nil
/// `result` must not call a function that does not exist or name a variable other than `result`.
/// The error is a phrase that follows "`successCondition` ...".
pub(crate) fn check(condition: &str) -> Result<(), String> {
    let program =
        expr::compile(condition).map_err(|error| format!("is not a valid expression: {}", one_line(&error)))?;
    let mut context = Context::default();
    context.insert("result", Value::Nil);
    if let Err(error) = ENVIRONMENT.run(&program, &context) {
        let text = error.to_string();
        if let Some(name) = text.strip_prefix("Unknown function: ") {
            let hint = super::did_you_mean_text(name, FUNCTIONS.split_whitespace());
            return Err(format!("calls `{name}()`, which is not a function{hint}"));
        }
        if let Some((function, feature)) = text.split_once("() requires expr-lang's `") {
            let feature = feature.split('`').next().unwrap_or_default();
            return Err(format!(
                "calls `{function}()`, which Slipway's conditions do not have yet (expr-lang is built without its \
                 `{feature}` feature)"
            ));
        }
        if let Some(name) = text.strip_prefix("unknown variable: ") {
            let hint = super::did_you_mean_text(name, ["result"]);
            return Err(format!("uses `{name}`, which is not defined (the measured value is `result`){hint}"));
        }
    }
    Ok(())
}

/// A compile error on one line. A parse error of the crate reads, over several lines,
/// ` --> 1:10`, the source with a caret, and `= expected ...`; that becomes
/// `at column 10: expected ...` (with the line too when the condition has several).
fn one_line(error: &expr::Error) -> String {
    let text = error.to_string();
    let position = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("--> "))
        .and_then(|position| position.split_once(':'))
        .map(|(line, column)| (line.trim().to_owned(), column.trim().to_owned()));
    let message = text.lines().find_map(|line| line.trim().strip_prefix("= ")).map(str::to_owned);
    match (position, message) {
        (Some((line, column)), Some(message)) if line == "1" => format!("at column {column}: {message}"),
        (Some((line, column)), Some(message)) => format!("at line {line}, column {column}: {message}"),
        _ => text.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// Judges one measured value with the metric's conditions, exactly as Argo does
/// (`EvaluateResult` in its `utils/evaluate/evaluate.go`):
///
/// - only `successCondition`: true → Successful, false → Failed;
/// - only `failureCondition`: true → Failed, false → Successful;
/// - both: failure true → Failed, else success true → Successful, else Inconclusive;
/// - neither: Successful (Argo's documentation says Inconclusive; its code, followed here, says
///   Successful);
/// - a condition that cannot be evaluated, or is not a boolean → Error, with Argo's message
///   (`could not evaluate successCondition "...": ...`, and for a nil or empty result
///   `metric result is nil or empty: no data returned from the metric provider`). The success
///   condition is evaluated first.
///
/// The message is `None` unless the phase is Error, as in Argo.
#[must_use]
pub fn assess(metric: &MetricSpec, value: &serde_json::Value) -> (MeasurementPhase, Option<String>) {
    if let Provider::Judge { config, .. } = &metric.provider
        && non_empty(metric.success_condition.as_deref()).is_none()
        && non_empty(metric.failure_condition.as_deref()).is_none()
    {
        // As Argo judges a Kayenta score: pass, marginal (inconclusive) or fail.
        let Some(score) = value.get("score").and_then(serde_json::Value::as_f64) else {
            return (MeasurementPhase::Error, Some("the judge gave no score".to_owned()));
        };
        let phase = if score >= config.pass {
            MeasurementPhase::Successful
        } else if score < config.marginal {
            MeasurementPhase::Failed
        } else {
            MeasurementPhase::Inconclusive
        };
        return (phase, None);
    }
    let numeric_strings = matches!(metric.provider, Provider::Prometheus { .. } | Provider::Slipway { .. });
    let result = to_expr(value, numeric_strings);
    let success = non_empty(metric.success_condition.as_deref());
    let failure = non_empty(metric.failure_condition.as_deref());
    let mut succeeded = false;
    let mut failed = false;
    if let Some(condition) = success {
        match evaluate(condition, &result) {
            Ok(value) => succeeded = value,
            Err(error) => {
                return (MeasurementPhase::Error, Some(eval_error("successCondition", condition, value, &error)));
            }
        }
    }
    if let Some(condition) = failure {
        match evaluate(condition, &result) {
            Ok(value) => failed = value,
            Err(error) => {
                return (MeasurementPhase::Error, Some(eval_error("failureCondition", condition, value, &error)));
            }
        }
    }
    match (success, failure) {
        (None, None) => return (MeasurementPhase::Successful, None),
        (Some(_), None) => failed = !succeeded,
        (None, Some(_)) => succeeded = !failed,
        (Some(_), Some(_)) => {}
    }
    let phase = if failed {
        MeasurementPhase::Failed
    } else if succeeded {
        MeasurementPhase::Successful
    } else {
        MeasurementPhase::Inconclusive
    };
    (phase, None)
}

fn non_empty(condition: Option<&str>) -> Option<&str> {
    condition.filter(|condition| !condition.is_empty())
}

fn eval_error(which: &str, condition: &str, value: &serde_json::Value, error: &str) -> String {
    let empty = match value {
        serde_json::Value::Null => true,
        serde_json::Value::Array(items) => items.is_empty(),
        _ => false,
    };
    if empty {
        format!(
            "could not evaluate {which} \"{condition}\": metric result is nil or empty: no data returned from the \
             metric provider"
        )
    } else {
        format!("could not evaluate {which} \"{condition}\": {error}")
    }
}

/// Runs one condition with `result` bound; it must give a boolean.
fn evaluate(condition: &str, result: &Value) -> Result<bool, String> {
    let program = expr::compile(condition).map_err(|error| one_line(&error))?;
    let mut context = Context::default();
    context.insert("result", result.clone());
    match ENVIRONMENT.run(&program, &context).map_err(|error| one_line(&error))? {
        Value::Bool(value) => Ok(value),
        other => Err(format!("expected bool, but got {}", describe(&other))),
    }
}

/// A value's kind and, when short, the value, for messages.
fn describe(value: &Value) -> String {
    match value {
        Value::Nil => "nil".to_owned(),
        Value::Bool(value) => format!("a boolean ({value})"),
        Value::Integer(value) => format!("an integer ({value})"),
        Value::Float(value) => format!("a number ({value})"),
        Value::String(value) => format!("a string ({value:?})"),
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Map(_) | Value::KeyedMap(_) => "a map".to_owned(),
        Value::Bytes(_) => "bytes".to_owned(),
    }
}

/// A measured JSON value as expr-lang's value (see the module's documentation).
fn to_expr(value: &serde_json::Value, numeric_strings: bool) -> Value {
    match value {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(value) => Value::Bool(*value),
        serde_json::Value::Number(number) => Value::Float(number.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(text) => match text.as_str() {
            "NaN" if numeric_strings => Value::Float(f64::NAN),
            "+Inf" | "Inf" if numeric_strings => Value::Float(f64::INFINITY),
            "-Inf" if numeric_strings => Value::Float(f64::NEG_INFINITY),
            _ => Value::String(text.clone()),
        },
        serde_json::Value::Array(items) => {
            Value::Array(items.iter().map(|item| to_expr(item, numeric_strings)).collect())
        }
        serde_json::Value::Object(entries) => {
            entries.iter().map(|(key, value)| (key.clone(), to_expr(value, numeric_strings))).collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::analysis::{Provider, RouterMetric};

    fn metric(success: Option<&str>, failure: Option<&str>) -> MetricSpec {
        MetricSpec {
            name: "m".to_owned(),
            interval: None,
            count: None,
            initial_delay: Duration::ZERO,
            success_condition: success.map(str::to_owned),
            failure_condition: failure.map(str::to_owned),
            failure_limit: 0,
            inconclusive_limit: 0,
            consecutive_error_limit: 4,
            provider: Provider::Prometheus {
                address: "http://prometheus:9090".to_owned(),
                query: "up".to_owned(),
                timeout: None,
            },
        }
    }

    use MeasurementPhase::{Error, Failed, Inconclusive, Successful};

    #[test]
    fn judges_as_argo_does() {
        let cases: &[(Option<&str>, Option<&str>, serde_json::Value, MeasurementPhase)] = &[
            // Only successCondition.
            (Some("result >= 0.95"), None, json!(0.97), Successful),
            (Some("result >= 0.95"), None, json!(0.9), Failed),
            (Some("result[0] >= 0.95"), None, json!([0.97]), Successful),
            (Some("result[0] >= 0.95"), None, json!([0.5]), Failed),
            // Only failureCondition.
            (None, Some("result[0] >= 10"), json!([12]), Failed),
            (None, Some("result[0] >= 10"), json!([3]), Successful),
            // Both.
            (Some("result >= 0.9"), Some("result < 0.5"), json!(0.95), Successful),
            (Some("result >= 0.9"), Some("result < 0.5"), json!(0.4), Failed),
            (Some("result >= 0.9"), Some("result < 0.5"), json!(0.7), Inconclusive),
            // Both true: failure wins.
            (Some("result > 0"), Some("result > 0"), json!(1), Failed),
            // Neither.
            (None, None, json!(0.1), Successful),
            (Some(""), Some(""), json!(0.1), Successful),
            // Shapes of results.
            (Some("len(result) == 0 || result[0] < 0.05"), None, json!([]), Successful),
            (Some("len(result) == 0 || result[0] < 0.05"), None, json!([0.2]), Failed),
            (Some("result.successRate > 0.9"), None, json!({"successRate": 0.95}), Successful),
            (
                Some("result.ok && result.successPercent >= 0.90"),
                None,
                json!({"ok": true, "successPercent": 0.9}),
                Successful,
            ),
            (Some("all(result, {# > 0.9})"), None, json!([0.95, 0.91]), Successful),
            (Some("all(result, {# > 0.9})"), None, json!([0.95, 0.81]), Failed),
            (Some("result == true"), None, json!(true), Successful),
            (Some("result == \"I am OK\""), None, json!("I am OK"), Successful),
            (Some("result == 1"), None, json!(1), Successful),
            // Argo's functions.
            (Some("isNaN(result[0])"), None, json!(["NaN"]), Successful),
            (Some("isInf(result)"), None, json!("-Inf"), Successful),
            (Some("!isNaN(result) && result > 0.9"), None, json!(0.95), Successful),
            (Some("default(result, 0) > 0.5"), None, json!(null), Failed),
            (Some("default(result, 1) > 0.5"), None, json!(null), Successful),
            (Some("default(result, 0) > 0.5"), None, json!(0.7), Successful),
            (Some("isNil(result)"), None, json!(null), Successful),
            (Some("asInt(result) == 3"), None, json!("3"), Successful),
            (Some("asInt(result) == 3"), None, json!(3.7), Successful),
            (Some("asFloat(result) > 2.5"), None, json!("2.75"), Successful),
            (Some("result matches '^ok'"), None, json!("okay"), Successful),
        ];
        for (success, failure, value, expected) in cases {
            let (phase, message) = assess(&metric(*success, *failure), value);
            assert_eq!(phase, *expected, "{success:?} / {failure:?} with {value}: {message:?}");
            assert_eq!(message, None);
        }
    }

    #[test]
    fn a_nan_string_stays_a_string_for_web_results() {
        let mut web = metric(Some("isNaN(result)"), None);
        web.provider = Provider::Web {
            url: "http://x".to_owned(),
            method: "GET".to_owned(),
            headers: Vec::new(),
            body: None,
            json_path: None,
            timeout: None,
        };
        assert_eq!(
            assess(&web, &json!("NaN")),
            (Error, Some("could not evaluate successCondition \"isNaN(result)\": isNaN() needs a number, got a string (\"NaN\")".to_owned()))
        );
        let mut slipway = metric(Some("isNaN(result)"), None);
        slipway.provider = Provider::Slipway {
            service: None,
            slot: "canary".to_owned(),
            metric: RouterMetric::SuccessRate,
            window: None,
        };
        assert_eq!(assess(&slipway, &json!("NaN")), (Successful, None));
    }

    #[test]
    fn errors_carry_argos_messages() {
        let cases: &[(Option<&str>, Option<&str>, serde_json::Value, &str)] = &[
            (
                Some("result[0] >= 0.95"),
                None,
                json!([]),
                "could not evaluate successCondition \"result[0] >= 0.95\": metric result is nil or empty: no data returned from the metric provider",
            ),
            (
                None,
                Some("result > 3"),
                json!(null),
                "could not evaluate failureCondition \"result > 3\": metric result is nil or empty: no data returned from the metric provider",
            ),
            (
                Some("result"),
                None,
                json!(0.5),
                "could not evaluate successCondition \"result\": expected bool, but got a number (0.5)",
            ),
            (
                Some("result.missing > 0.9"),
                None,
                json!({"ok": 1}),
                "could not evaluate successCondition \"result.missing > 0.9\": Invalid operands for operator >",
            ),
            (
                Some("result >"),
                None,
                json!(1),
                "could not evaluate successCondition \"result >\": at column 9: expected conditional_if, negation_op, sign_op, value, array, map, or ident",
            ),
        ];
        for (success, failure, value, expected) in cases {
            assert_eq!(assess(&metric(*success, *failure), value), (Error, Some((*expected).to_owned())));
        }
    }

    #[test]
    fn checks_conditions_when_reading() {
        assert_eq!(check("result[0] >= 0.95"), Ok(()));
        assert_eq!(check("len(result) == 0 || result[0] < 0.05"), Ok(()));
        assert_eq!(check("all(result, {# > 0.9})"), Ok(()));
        assert_eq!(check("isNaN(result) || default(result, 0) > 1"), Ok(()));
        assert_eq!(
            check("result >= "),
            Err("is not a valid expression: at column 11: expected conditional_if, negation_op, sign_op, value, array, map, or ident".to_owned())
        );
        assert_eq!(
            check("now() > result"),
            Err(
                "calls `now()`, which Slipway's conditions do not have yet (expr-lang is built without its `temporal` \
                 feature)"
                    .to_owned()
            )
        );
        assert_eq!(
            check("isNan(result)"),
            Err("calls `isNan()`, which is not a function (did you mean `isNaN`?)".to_owned())
        );
        assert_eq!(
            check("reslt > 1"),
            Err("uses `reslt`, which is not defined (the measured value is `result`) (did you mean `result`?)"
                .to_owned())
        );
    }
}
