//! The official JSON schemas Slipway's reports are checked against in tests: SARIF 2.1.0,
//! CycloneDX 1.6 (with the SPDX licence list and JSF schemas it refers to) and SPDX 2.3, kept in
//! `crates/slipway-security/tests/fixtures/` (their sources are in the README there). Each
//! function gives every schema error of a document as `message at /pointer`; none when it is
//! valid. A validator is built once per schema.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value;

/// The directory of the schema files.
#[must_use]
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../slipway-security/tests/fixtures")
}

fn read(name: &str) -> Value {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn errors(validator: &Validator, document: &Value) -> Vec<String> {
    validator.iter_errors(document).map(|error| format!("{error} at {}", error.instance_path())).collect()
}

/// Every error of `log` against SARIF 2.1.0's schema.
///
/// # Panics
/// When the schema cannot be read.
#[must_use]
pub fn sarif_errors(log: &Value) -> Vec<String> {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        jsonschema::validator_for(&read("sarif-schema-2.1.0.json")).unwrap_or_else(|error| panic!("{error}"))
    });
    errors(validator, log)
}

/// Every error of `bom` against CycloneDX 1.6's schema (formats checked too).
///
/// # Panics
/// When the schemas cannot be read.
#[must_use]
pub fn cyclonedx_errors(bom: &Value) -> Vec<String> {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        let (spdx, jsf) = (read("spdx.schema.json"), read("jsf-0.82.schema.json"));
        let registry = jsonschema::Registry::new()
            .add("http://cyclonedx.org/schema/spdx.schema.json", &spdx)
            .and_then(|registry| registry.add("http://cyclonedx.org/schema/jsf-0.82.schema.json", &jsf))
            .and_then(|registry| registry.prepare())
            .unwrap_or_else(|error| panic!("{error}"));
        jsonschema::options()
            .with_registry(&registry)
            .should_validate_formats(true)
            .build(&read("bom-1.6.schema.json"))
            .unwrap_or_else(|error| panic!("{error}"))
    });
    errors(validator, bom)
}

/// Every error of `document` against SPDX 2.3's schema (formats checked too).
///
/// # Panics
/// When the schema cannot be read.
#[must_use]
pub fn spdx_errors(document: &Value) -> Vec<String> {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| {
        jsonschema::options()
            .should_validate_formats(true)
            .build(&read("spdx-schema-2.3.json"))
            .unwrap_or_else(|error| panic!("{error}"))
    });
    errors(validator, document)
}
