//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use slipway_azure::{FileSystem, Location, ReadError};
use slipway_yaml::{Node, Value};

/// Reads files below a directory, as the CLI does, for fixtures on disk.
pub struct DirectoryFileSystem {
    pub root: PathBuf,
    pub repositories: Vec<(String, PathBuf)>,
}

impl FileSystem for DirectoryFileSystem {
    fn read(&self, location: &Location) -> Result<String, ReadError> {
        let root = match &location.repository {
            None => &self.root,
            Some(alias) => match self.repositories.iter().find(|(known, _)| known == alias) {
                Some((_, root)) => root,
                None => return Err(ReadError::NoCheckout),
            },
        };
        std::fs::read(root.join(&location.path)).map_err(|error| ReadError::from_io(&error)).and_then(ReadError::text)
    }
}

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
