//! The shared corpus of real pipelines (`shared/corpus/azure-pipelines`) as file systems, one per
//! repository. Used by the corpus test and the front-end benchmark.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use slipway_azure::{FileSystem, Location, ReadError};

pub struct Entry {
    pub repository: String,
    pub path: String,
    pub role: String,
    pub local_file: String,
}

/// The corpus directory and its manifest, if present.
pub fn manifest(directory: &Path) -> Option<(PathBuf, Vec<Entry>)> {
    let directory = directory.to_path_buf();
    let text = std::fs::read_to_string(directory.join("manifest.tsv")).ok()?;
    let entries = text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let columns: Vec<&str> = line.split('\t').collect();
            Some(Entry {
                repository: (*columns.first()?).to_owned(),
                path: (*columns.get(1)?).to_owned(),
                role: (*columns.get(4)?).to_owned(),
                local_file: (*columns.get(7)?).to_owned(),
            })
        })
        .collect();
    Some((directory, entries))
}

/// One repository of the corpus, as a file system: repository paths map to the stored files.
pub struct CorpusRepository {
    pub directory: PathBuf,
    pub name: String,
    pub files: HashMap<String, String>,
}

impl FileSystem for CorpusRepository {
    fn read(&self, location: &Location) -> Result<String, ReadError> {
        if location.repository.is_some() {
            return Err(ReadError::NoCheckout);
        }
        let local = self.files.get(&location.path).ok_or(ReadError::NotFound)?;
        std::fs::read(self.directory.join(local)).map_err(|error| ReadError::from_io(&error)).and_then(ReadError::text)
    }

    fn display_name(&self, location: &Location) -> String {
        format!("{}/{location}", self.name)
    }
}

/// The file systems of every repository and the entry pipelines in each.
pub fn repositories(directory: &Path) -> Option<Vec<(CorpusRepository, Vec<String>)>> {
    let (directory, entries) = manifest(directory)?;
    let mut by_repository: BTreeMap<String, (HashMap<String, String>, Vec<String>)> = BTreeMap::new();
    for entry in entries {
        let (files, pipelines) = by_repository.entry(entry.repository.clone()).or_default();
        files.insert(entry.path.clone(), entry.local_file.clone());
        if entry.role == "pipeline" {
            pipelines.push(entry.path.clone());
        }
    }
    Some(
        by_repository
            .into_iter()
            .map(|(name, (files, pipelines))| {
                (CorpusRepository { directory: directory.clone(), name, files }, pipelines)
            })
            .collect(),
    )
}
