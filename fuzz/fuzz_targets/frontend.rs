//! Fuzzes the front end's parsers: arbitrary text through the YAML loader, the whole Azure
//! front end (expand, validate, lower) and the expression parser and evaluator. Any panic is a bug.
#![no_main]

use std::borrow::Cow;

use libfuzzer_sys::fuzz_target;
use slipway_expr::{Context, EvalError, Value};

struct Empty;

impl Context for Empty {
    fn named_value(&self, name: &str) -> Option<Cow<'_, Value>> {
        match name {
            "variables" | "parameters" => Some(Cow::Owned(Value::Object(slipway_expr::Object::new()))),
            _ => None,
        }
    }

    fn call(&self, _name: &str, _arguments: &[Value]) -> Option<Result<Value, EvalError>> {
        None
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = slipway_yaml::load(text, slipway_diagnostics::FileId(0));
    let mut files = slipway_azure::MemoryFileSystem::new();
    files.insert("azure-pipelines.yml", text);
    files.insert("t.yml", text);
    let compiled = slipway_azure::compile(
        &slipway_azure::Location::local("azure-pipelines.yml"),
        &files,
        &slipway_azure::Options::default(),
    );
    for diagnostic in &compiled.diagnostics {
        let _ = slipway_diagnostics::render(diagnostic, &compiled.sources);
    }
    if let Some(root) = &compiled.expanded {
        let _ = slipway_yaml::emit(root);
    }
    if let Ok(expression) = slipway_expr::parse(text) {
        let _ = slipway_expr::evaluate(&expression, &Empty);
    }
    let _ = slipway_expr::template::split(text, "${{");
    let _ = slipway_expr::macros::expand(text, &|name| (name.len() % 2 == 0).then(|| format!("$({name})")));
});
