//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use slipway_yaml::{Node, Value};

/// The meaning of a node, for structural comparison: scalars by their text, collections by
/// their items. Styles, spans and comments do not count.
pub fn shape(node: &Node) -> serde_json::Value {
    match &node.value {
        Value::Scalar(scalar) if node.is_null() => {
            let _ = scalar;
            serde_json::Value::Null
        }
        Value::Scalar(scalar) => serde_json::Value::String(scalar.text.clone()),
        Value::Sequence(items) => serde_json::Value::Array(items.iter().map(shape).collect()),
        Value::Mapping(entries) => serde_json::Value::Object(
            entries.iter().map(|(key, value)| (key.as_str().unwrap_or_default().to_owned(), shape(value))).collect(),
        ),
    }
}

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `shared/` beside the checkout, when present (`SLIPWAY_SHARED` overrides).
pub fn shared() -> Option<PathBuf> {
    let path = std::env::var_os("SLIPWAY_SHARED").map_or_else(|| workspace().join("../shared"), PathBuf::from);
    path.is_dir().then_some(path)
}
