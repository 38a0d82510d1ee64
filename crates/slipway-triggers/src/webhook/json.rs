//! Reading the few fields a payload needs, with errors that name the field's path.

use serde_json::Value;

use super::WebhookError;

/// A field of a payload: its value if present, and its path for error messages.
#[derive(Clone, Debug)]
pub(super) struct Field<'a> {
    event: &'static str,
    path: String,
    value: Option<&'a Value>,
}

/// Parses a body into the payload's root object.
pub(super) fn root(event: &'static str, body: &[u8]) -> Result<Value, WebhookError> {
    let value: Value = serde_json::from_slice(body).map_err(|error| WebhookError::MalformedJson(error.to_string()))?;
    let found = match &value {
        Value::Object(_) => return Ok(value),
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    };
    Err(WebhookError::NotAnObject { event, found })
}

impl<'a> Field<'a> {
    /// The root of a payload.
    pub(super) fn root(event: &'static str, value: &'a Value) -> Self {
        Self { event, path: String::new(), value: Some(value) }
    }

    /// A member of this object (absent when this is absent, null or not an object).
    pub(super) fn get(&self, key: &str) -> Field<'a> {
        let path = if self.path.is_empty() { key.to_owned() } else { format!("{}.{key}", self.path) };
        Field { event: self.event, path, value: self.value.and_then(|value| value.get(key)) }
    }

    fn present(&self) -> Option<&'a Value> {
        self.value.filter(|value| !value.is_null())
    }

    fn missing(&self) -> WebhookError {
        WebhookError::MissingField { event: self.event, field: self.path.clone() }
    }

    fn wrong(&self, expected: &'static str) -> WebhookError {
        WebhookError::WrongType { event: self.event, field: self.path.clone(), expected }
    }

    /// Whether the field is present and not null.
    pub(super) fn exists(&self) -> bool {
        self.present().is_some()
    }

    /// A required string.
    pub(super) fn str(&self) -> Result<&'a str, WebhookError> {
        self.opt_str()?.ok_or_else(|| self.missing())
    }

    /// An optional string (absent or null is `None`).
    pub(super) fn opt_str(&self) -> Result<Option<&'a str>, WebhookError> {
        match self.present() {
            None => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(self.wrong("a string")),
        }
    }

    /// A required non-negative integer.
    pub(super) fn u64(&self) -> Result<u64, WebhookError> {
        match self.present() {
            None => Err(self.missing()),
            Some(value) => value.as_u64().ok_or_else(|| self.wrong("a non-negative integer")),
        }
    }

    /// An optional non-negative integer.
    pub(super) fn opt_u64(&self) -> Result<Option<u64>, WebhookError> {
        match self.present() {
            None => Ok(None),
            Some(value) => value.as_u64().map(Some).ok_or_else(|| self.wrong("a non-negative integer")),
        }
    }

    /// An optional boolean.
    pub(super) fn opt_bool(&self) -> Result<Option<bool>, WebhookError> {
        match self.present() {
            None => Ok(None),
            Some(value) => value.as_bool().map(Some).ok_or_else(|| self.wrong("true or false")),
        }
    }

    /// A required array.
    pub(super) fn array(&self) -> Result<Vec<Field<'a>>, WebhookError> {
        match self.present() {
            None => Err(self.missing()),
            Some(_) => self.opt_array(),
        }
    }

    /// An optional array (absent or null is empty).
    pub(super) fn opt_array(&self) -> Result<Vec<Field<'a>>, WebhookError> {
        match self.present() {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(index, item)| Field {
                    event: self.event,
                    path: format!("{}[{index}]", self.path),
                    value: Some(item),
                })
                .collect()),
            Some(_) => Err(self.wrong("an array")),
        }
    }

    /// An optional array of strings (absent or null is empty).
    pub(super) fn strings(&self) -> Result<Vec<&'a str>, WebhookError> {
        self.opt_array()?.iter().map(Field::str).collect()
    }
}
