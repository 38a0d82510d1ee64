//! SPDX 2.3 JSON, written with serde structs following the official schema
//! (`spdx-schema.json` of SPDX 2.3, which the tests validate every document against); there is
//! no well-kept Rust crate that writes SPDX 2.3 documents.
//!
//! The document describes the project (a package `SPDXRef-Project`); every component is a package
//! `SPDXRef-Package-N` (N its place in purl order) with its version, where it is downloaded from
//! when the lockfile says (`NOASSERTION` otherwise), its checksums, and its purl as a
//! `PACKAGE-MANAGER` external reference; licences and copyright are `NOASSERTION`, since
//! lockfiles do not say them. Relationships: the document `DESCRIBES` the project, which
//! `DEPENDS_ON` its direct dependencies, and each package `DEPENDS_ON` its own.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{BomInfo, Component, Ecosystem, Inventory, Origin};

const NOASSERTION: &str = "NOASSERTION";
const DOCUMENT: &str = "SPDXRef-DOCUMENT";
const PROJECT: &str = "SPDXRef-Project";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document<'a> {
    #[serde(rename = "spdxVersion")]
    spdx_version: &'static str,
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    document_namespace: String,
    creation_info: CreationInfo<'a>,
    packages: Vec<Package>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct CreationInfo<'a> {
    created: &'a str,
    creators: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    download_location: String,
    files_analyzed: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checksums: Vec<Checksum>,
    license_concluded: &'static str,
    license_declared: &'static str,
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    primary_package_purpose: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Checksum {
    algorithm: &'static str,
    checksum_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    reference_category: &'static str,
    reference_type: &'static str,
    reference_locator: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Relationship {
    spdx_element_id: String,
    relationship_type: &'static str,
    related_spdx_element: String,
}

/// The inventory as an SPDX 2.3 JSON document, indented.
#[must_use]
pub fn to_string_pretty(inventory: &Inventory, info: &BomInfo) -> String {
    serde_json::to_string_pretty(&build(inventory, info)).unwrap_or_default()
}

/// The inventory as an SPDX 2.3 JSON document.
#[must_use]
pub fn to_json(inventory: &Inventory, info: &BomInfo) -> serde_json::Value {
    serde_json::to_value(build(inventory, info)).unwrap_or_default()
}

fn build<'a>(inventory: &Inventory, info: &'a BomInfo) -> Document<'a> {
    let ids: BTreeMap<&str, String> = inventory
        .components
        .iter()
        .enumerate()
        .map(|(index, component)| (component.bom_ref(), format!("SPDXRef-Package-{}", index + 1)))
        .collect();
    let uuid = info.serial_number.trim_start_matches("urn:uuid:");
    let mut packages = vec![Package {
        spdx_id: PROJECT.to_owned(),
        name: inventory.project.clone(),
        version_info: None,
        download_location: NOASSERTION.to_owned(),
        files_analyzed: false,
        checksums: Vec::new(),
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION,
        copyright_text: NOASSERTION,
        external_refs: Vec::new(),
        primary_package_purpose: "APPLICATION",
    }];
    packages.extend(inventory.components.iter().map(|component| package(component, &ids)));
    let mut relationships = vec![Relationship {
        spdx_element_id: DOCUMENT.to_owned(),
        relationship_type: "DESCRIBES",
        related_spdx_element: PROJECT.to_owned(),
    }];
    let depends = |from: &str, to: &[String]| -> Vec<Relationship> {
        to.iter()
            .filter_map(|target| ids.get(target.as_str()))
            .map(|target| Relationship {
                spdx_element_id: from.to_owned(),
                relationship_type: "DEPENDS_ON",
                related_spdx_element: target.clone(),
            })
            .collect()
    };
    relationships.extend(depends(PROJECT, &inventory.direct));
    for component in &inventory.components {
        if let Some(id) = ids.get(component.bom_ref()) {
            relationships.extend(depends(id, &component.depends_on));
        }
    }
    Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: DOCUMENT,
        name: inventory.project.clone(),
        document_namespace: format!("https://spdx.org/spdxdocs/slipway-{}-{uuid}", sanitise(&inventory.project)),
        creation_info: CreationInfo {
            created: &info.timestamp,
            creators: vec![format!("Tool: slipway-{}", env!("CARGO_PKG_VERSION"))],
        },
        packages,
        relationships,
    }
}

fn package(component: &Component, ids: &BTreeMap<&str, String>) -> Package {
    let name = match &component.group {
        Some(group) => format!("{group}/{}", component.name),
        None => component.name.clone(),
    };
    Package {
        spdx_id: ids.get(component.bom_ref()).cloned().unwrap_or_default(),
        name,
        version_info: Some(component.version.clone()),
        download_location: download_location(component),
        files_analyzed: false,
        checksums: component
            .hashes
            .iter()
            .filter_map(|hash| {
                let algorithm = match hash.algorithm {
                    "SHA-1" => "SHA1",
                    "SHA-256" => "SHA256",
                    "SHA-384" => "SHA384",
                    "SHA-512" => "SHA512",
                    _ => return None,
                };
                Some(Checksum { algorithm, checksum_value: hash.hex.clone() })
            })
            .collect(),
        license_concluded: NOASSERTION,
        license_declared: NOASSERTION,
        copyright_text: NOASSERTION,
        external_refs: vec![ExternalRef {
            reference_category: "PACKAGE-MANAGER",
            reference_type: "purl",
            reference_locator: component.purl.clone(),
        }],
        primary_package_purpose: "LIBRARY",
    }
}

/// Where the lockfile says a component is downloaded from: crates.io's download address for its
/// crates, npm's `resolved` (and the registry's address Yarn 2 and pnpm lockfiles imply),
/// Composer's `dist` archive, the Go module proxy's `.zip` of a module, rubygems.org's `.gem` of
/// a gem, nuget.org's `.nupkg` of a NuGet package, a git address; `NOASSERTION` when it does not
/// say (a Python package's lockfile names its index, not one file of it).
fn download_location(component: &Component) -> String {
    match (&component.origin, component.ecosystem) {
        (Origin::Registry(source), Ecosystem::Cargo) if source.contains("crates.io") => {
            format!("https://crates.io/api/v1/crates/{}/{}/download", component.name, component.version)
        }
        (Origin::Registry(resolved), Ecosystem::Npm | Ecosystem::Composer) if resolved.starts_with("http") => {
            resolved.clone()
        }
        (Origin::Registry(proxy), Ecosystem::Go) if proxy.starts_with("http") => {
            let path = match &component.group {
                Some(group) => format!("{group}/{}", component.name),
                None => component.name.clone(),
            };
            format!("{}/{}/@v/{}.zip", proxy.trim_end_matches('/'), go_escape(&path), go_escape(&component.version))
        }
        (Origin::Registry(remote), Ecosystem::Gem) if remote.contains("rubygems.org") => {
            let platform = component.purl.split_once("?platform=").map(|(_, platform)| format!("-{platform}"));
            format!(
                "https://rubygems.org/downloads/{}-{}{}.gem",
                component.name,
                component.version,
                platform.unwrap_or_default()
            )
        }
        (Origin::Registry(source), Ecosystem::Nuget) if source.contains("nuget.org") => {
            let id = component.name.to_lowercase();
            let version = component.version.to_lowercase();
            format!("https://api.nuget.org/v3-flatcontainer/{id}/{version}/{id}.{version}.nupkg")
        }
        (Origin::Git(address), _) if address.starts_with("https://codeload.github.com/") => address.clone(),
        (Origin::Git(address), _) => {
            // SPDX's form is `git+URL@REVISION`; Cargo writes `git+URL?branch=..#REVISION`, Yarn
            // `URL#commit=REVISION`.
            let address = address.strip_prefix("git+").unwrap_or(address);
            let (address, revision) = address.split_once('#').unwrap_or((address, ""));
            let revision = revision.strip_prefix("commit=").unwrap_or(revision);
            let address = address.split_once('?').map_or(address, |(address, _)| address);
            if revision.is_empty() { format!("git+{address}") } else { format!("git+{address}@{revision}") }
        }
        _ => NOASSERTION.to_owned(),
    }
}

/// The Go module proxy's escaping of a path or version: each upper-case letter as `!` and its
/// lower case.
fn go_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_ascii_uppercase() {
            out.push('!');
            out.push(character.to_ascii_lowercase());
        } else {
            out.push(character);
        }
    }
    out
}

/// A name made safe for a URI's path (letters, digits, `.`, `-`, `_`).
fn sanitise(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '-' }).collect()
}
