//! CycloneDX 1.6 JSON.
//!
//! Written with serde structs that follow the official schema (`bom-1.6.schema.json`, which the
//! tests validate every BOM against) rather than with the `cyclonedx-bom` crate: its current
//! release (0.8.1) writes spec versions 1.3 to 1.5 only, not 1.6. Only what an SBOM of lockfiles
//! needs is modelled: `bomFormat`, `specVersion`, `serialNumber` (a random `urn:uuid`),
//! `version`, `metadata` (`timestamp`, `tools.components` naming Slipway, `component` for the
//! project), `components[]` (`type` library, `bom-ref` = purl, `group`, `name`, `version`,
//! `purl`, `hashes`, `scope`, `properties` saying where each came from) and `dependencies[]`
//! (`ref`, `dependsOn`), one for the project and one for every component. A vulnerability scan
//! adds `vulnerabilities[]` ([`Vulnerability`]: `id`, `source`, `references` for aliases,
//! `ratings` with score, severity, method and vector, `description`, `recommendation`,
//! `advisories`, `published`, `updated`, `analysis` for ignored ones, `affects` by `bom-ref`).

use serde::Serialize;

use super::{BomInfo, Component, Inventory};

/// The spec version written.
pub const SPEC_VERSION: &str = "1.6";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Bom<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    bom_format: &'static str,
    spec_version: &'static str,
    serial_number: &'a str,
    version: u32,
    metadata: Metadata<'a>,
    components: Vec<BomComponent<'a>>,
    dependencies: Vec<Dependency<'a>>,
    #[serde(skip_serializing_if = "<[Vulnerability]>::is_empty")]
    vulnerabilities: &'a [Vulnerability],
}

/// A known vulnerability of components, as CycloneDX's `vulnerabilities[]` holds it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Vulnerability {
    /// Its id (`GHSA-...`).
    pub id: String,
    /// The database it is from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<VulnerabilitySource>,
    /// Its other ids (`CVE-...`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<VulnerabilityReference>,
    /// Its ratings.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ratings: Vec<VulnerabilityRating>,
    /// A summary.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What to do (upgrade to a fixed version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
    /// Advisories' addresses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advisories: Vec<Advisory>,
    /// When it was published (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    /// When it was last changed (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// Why it was set aside (an ignore's reason and expiry).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<Analysis>,
    /// The components it affects.
    pub affects: Vec<Affects>,
}

/// A vulnerability database.
#[derive(Clone, Debug, Serialize)]
pub struct VulnerabilitySource {
    /// Its name (`OSV`, `GitHub`).
    pub name: String,
    /// The record's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Another id of a vulnerability.
#[derive(Clone, Debug, Serialize)]
pub struct VulnerabilityReference {
    /// The id.
    pub id: String,
    /// Its database.
    pub source: VulnerabilitySource,
}

/// A rating.
#[derive(Clone, Debug, Serialize)]
pub struct VulnerabilityRating {
    /// The base score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// `critical`, `high`, `medium`, `low`, `none` or `unknown`.
    pub severity: String,
    /// `CVSSv2`, `CVSSv3`, `CVSSv31`, `CVSSv4` or `other`.
    pub method: String,
    /// The vector.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector: Option<String>,
}

/// An advisory's address.
#[derive(Clone, Debug, Serialize)]
pub struct Advisory {
    /// The address.
    pub url: String,
}

/// An analysis (here, why a finding is ignored).
#[derive(Clone, Debug, Serialize)]
pub struct Analysis {
    /// What was said.
    pub detail: String,
}

/// A component a vulnerability affects.
#[derive(Clone, Debug, Serialize)]
pub struct Affects {
    /// Its `bom-ref`.
    #[serde(rename = "ref")]
    pub reference: String,
}

#[derive(Serialize)]
struct Metadata<'a> {
    timestamp: &'a str,
    tools: Tools,
    component: Project<'a>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Tool>,
}

#[derive(Serialize)]
struct Tool {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Project<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    name: &'a str,
}

#[derive(Serialize)]
struct BomComponent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref")]
    bom_ref: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'a str>,
    name: &'a str,
    version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<BomHash<'a>>,
    purl: &'a str,
    properties: Vec<Property<'a>>,
}

#[derive(Serialize)]
struct BomHash<'a> {
    alg: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct Property<'a> {
    name: &'static str,
    value: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Dependency<'a> {
    #[serde(rename = "ref")]
    reference: &'a str,
    depends_on: Vec<&'a str>,
}

/// The `bom-ref` of the project (the BOM's `metadata.component`).
#[must_use]
pub fn project_ref(inventory: &Inventory) -> String {
    format!("project:{}", inventory.project)
}

/// The inventory as a CycloneDX 1.6 JSON document.
#[must_use]
pub fn to_json(inventory: &Inventory, info: &BomInfo) -> serde_json::Value {
    let project = project_ref(inventory);
    serde_json::to_value(build(inventory, info, &project, &[])).unwrap_or_default()
}

/// The inventory with `vulnerabilities[]` as a CycloneDX 1.6 JSON document.
#[must_use]
pub fn to_json_with_vulnerabilities(
    inventory: &Inventory,
    info: &BomInfo,
    vulnerabilities: &[Vulnerability],
) -> serde_json::Value {
    let project = project_ref(inventory);
    serde_json::to_value(build(inventory, info, &project, vulnerabilities)).unwrap_or_default()
}

/// The inventory with `vulnerabilities[]` as CycloneDX 1.6 JSON text, indented.
#[must_use]
pub fn to_string_pretty_with_vulnerabilities(
    inventory: &Inventory,
    info: &BomInfo,
    vulnerabilities: &[Vulnerability],
) -> String {
    let project = project_ref(inventory);
    serde_json::to_string_pretty(&build(inventory, info, &project, vulnerabilities)).unwrap_or_default()
}

/// The inventory as CycloneDX 1.6 JSON text, indented, its keys in the schema's order.
#[must_use]
pub fn to_string_pretty(inventory: &Inventory, info: &BomInfo) -> String {
    let project = project_ref(inventory);
    serde_json::to_string_pretty(&build(inventory, info, &project, &[])).unwrap_or_default()
}

fn build<'a>(
    inventory: &'a Inventory,
    info: &'a BomInfo,
    project: &'a str,
    vulnerabilities: &'a [Vulnerability],
) -> Bom<'a> {
    let components = inventory.components.iter().map(component).collect();
    let mut dependencies =
        vec![Dependency { reference: project, depends_on: inventory.direct.iter().map(String::as_str).collect() }];
    dependencies.extend(inventory.components.iter().map(|component| Dependency {
        reference: component.bom_ref(),
        depends_on: component.depends_on.iter().map(String::as_str).collect(),
    }));
    Bom {
        schema: "http://cyclonedx.org/schema/bom-1.6.schema.json",
        bom_format: "CycloneDX",
        spec_version: SPEC_VERSION,
        serial_number: &info.serial_number,
        version: 1,
        metadata: Metadata {
            timestamp: &info.timestamp,
            tools: Tools {
                components: vec![Tool { kind: "application", name: "slipway", version: env!("CARGO_PKG_VERSION") }],
            },
            component: Project { kind: "application", bom_ref: project.to_owned(), name: &inventory.project },
        },
        components,
        dependencies,
        vulnerabilities,
    }
}

fn component(component: &Component) -> BomComponent<'_> {
    let mut properties = vec![Property { name: "slipway:source", value: component.origin.kind() }];
    let location = match &component.origin {
        super::Origin::Registry(location) | super::Origin::Git(location) | super::Origin::Path(location) => location,
    };
    if !location.is_empty() {
        properties.push(Property { name: "slipway:source:location", value: location });
    }
    BomComponent {
        kind: "library",
        bom_ref: component.bom_ref(),
        group: component.group.as_deref(),
        name: &component.name,
        version: &component.version,
        scope: component.development.then_some("optional"),
        hashes: component.hashes.iter().map(|hash| BomHash { alg: hash.algorithm, content: &hash.hex }).collect(),
        purl: &component.purl,
        properties,
    }
}
