//! The server's offline OSV vulnerability database (wire types): what `GET /osv` shows, what an
//! import (`POST /osv/imports`, admin) answers. The database is the directory `DATA_DIR/osv` in
//! `slipway-security`'s format; agents get it as one archive whose SHA-256 is its [`digest`]
//! (`OsvDatabase::digest`), so that they download it again only when it changed.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// The media type of an import's body when it holds several files: a tar of them (each entry
/// an OSV zip export or a `.json` record). A body that is itself one zip export or one JSON record
/// is taken as that file.
pub const OSV_IMPORT_MEDIA_TYPE: &str = "application/x-tar";

/// The most bytes an import may upload; larger uploads are refused with 413.
pub const MAX_OSV_IMPORT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// What the server's OSV database holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct OsvDatabase {
    /// Whether anything was imported; the rest is empty when not.
    pub present: bool,
    /// The database's version: the SHA-256 (hex) of the archive agents download.
    pub digest: String,
    /// The archive's size in bytes.
    pub bytes: u64,
    /// When the last import was made (milliseconds since the Unix epoch).
    pub imported_at: i64,
    /// Who made it.
    pub imported_by: String,
    /// The files it imported.
    pub sources: Vec<String>,
    /// Records kept, over all ecosystems (withdrawn ones too).
    pub records: usize,
    /// Each ecosystem, by name.
    pub ecosystems: Vec<OsvEcosystem>,
}

/// One ecosystem of the database.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct OsvEcosystem {
    /// OSV's name of it (`PyPI`, `npm`, `crates.io`, ...).
    pub name: String,
    /// Advisories kept (withdrawn ones too).
    pub records: usize,
    /// Of those, withdrawn.
    pub withdrawn: usize,
    /// When it was last imported into (RFC 3339).
    pub imported: String,
    /// The files last imported into it.
    pub sources: Vec<String>,
}

/// `POST /osv/imports`'s query.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OsvImportQuery {
    /// Start from an empty database instead of adding to the current one.
    pub replace: bool,
    /// The file's name, when the body is one zip export or record (shown in the database's
    /// sources and in errors); `upload` when not given.
    pub name: Option<String>,
}

/// What an import did in one ecosystem.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct OsvImportCounts {
    /// The ecosystem.
    pub ecosystem: String,
    /// New records.
    pub added: usize,
    /// Records replaced by a newer `modified`.
    pub updated: usize,
    /// Records already there, as new or newer.
    pub unchanged: usize,
    /// Of the records read, how many are withdrawn.
    pub withdrawn: usize,
}

/// The answer to an import.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct OsvImport {
    /// Records read from the files.
    pub read: usize,
    /// Records with no package in an ecosystem (only `GIT` ranges), not kept.
    pub without_package: usize,
    /// Counts per ecosystem.
    pub ecosystems: Vec<OsvImportCounts>,
    /// Whether the import started from an empty database.
    pub replaced: bool,
    /// The database now.
    pub database: OsvDatabase,
}
