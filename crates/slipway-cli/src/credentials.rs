//! The saved login: the server and token that `slipway login` keeps in
//! `$XDG_CONFIG_HOME/slipway/credentials.toml` (`~/.config/slipway/credentials.toml`), readable
//! by its owner only, for the client commands to use when neither flags nor environment
//! variables name a server and token.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The file's name in the configuration directory.
const FILE_NAME: &str = "credentials.toml";

/// A saved login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// The server's address.
    pub server: String,
    /// The personal access token.
    pub token: String,
}

/// The user's Slipway configuration directory: `$XDG_CONFIG_HOME/slipway`, or
/// `~/.config/slipway`.
pub fn config_directory() -> Option<PathBuf> {
    let base =
        std::env::var_os("XDG_CONFIG_HOME").filter(|value| !value.is_empty()).map(PathBuf::from).or_else(|| {
            std::env::var_os("HOME").filter(|value| !value.is_empty()).map(|home| PathBuf::from(home).join(".config"))
        })?;
    Some(base.join("slipway"))
}

/// Where the saved login is (or would be).
///
/// # Errors
/// When neither `XDG_CONFIG_HOME` nor `HOME` is set.
pub fn path() -> Result<PathBuf, String> {
    config_directory()
        .map(|directory| directory.join(FILE_NAME))
        .ok_or_else(|| "neither XDG_CONFIG_HOME nor HOME is set, so there is no place for a saved login".to_owned())
}

/// The saved login, if there is one.
///
/// # Errors
/// When the file exists but cannot be read or is damaged.
pub fn load(path: &Path) -> Result<Option<Credentials>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text)
            .map(Some)
            .map_err(|error| format!("{} is damaged ({}); run `slipway login` again", path.display(), error.message())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(format!("cannot read {}: {error}", path.display())),
    }
}

/// Saves a login, readable by its owner only (the directory is made private too when created).
/// The file is replaced whole, so a failure leaves the old one.
///
/// # Errors
/// When the directory or the file cannot be written.
pub fn save(path: &Path, credentials: &Credentials) -> Result<(), String> {
    let failed = |error: std::io::Error| format!("cannot write {}: {error}", path.display());
    let directory = path.parent().ok_or_else(|| format!("{} has no directory", path.display()))?;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(directory).map_err(failed)?;
    let text = format!(
        "# Written by `slipway login`. It holds a secret token: keep it private (mode 0600).\n{}",
        toml::to_string(credentials).map_err(|error| format!("cannot write the login: {error}"))?
    );
    let temporary = directory.join(format!(".{FILE_NAME}.{}", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| file.write_all(text.as_bytes()).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::set_permissions(&temporary, std::fs::Permissions::from_mode(0o600)))
        .and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(failed(error));
    }
    Ok(())
}

/// Removes the saved login; whether there was one.
///
/// # Errors
/// When the file exists but cannot be removed.
pub fn remove(path: &Path) -> Result<bool, String> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(format!("cannot remove {}: {error}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_privately_and_loads_back() {
        let directory = std::env::temp_dir().join(format!("slipway-credentials-{}", std::process::id()));
        let path = directory.join("slipway").join(FILE_NAME);
        let credentials = Credentials { server: "http://127.0.0.1:8080".into(), token: "slw_secret".into() };
        assert_eq!(save(&path, &credentials), Ok(()));
        let mode = std::fs::metadata(&path).map(|metadata| metadata.permissions().mode() & 0o777).unwrap_or_default();
        assert_eq!(mode, 0o600);
        assert_eq!(load(&path), Ok(Some(credentials)));
        assert_eq!(remove(&path), Ok(true));
        assert_eq!(load(&path), Ok(None));
        assert_eq!(remove(&path), Ok(false));
        std::fs::write(&path, "server = 1").unwrap_or_default();
        assert!(load(&path).is_err_and(|error| error.contains("damaged")));
        let _ = std::fs::remove_dir_all(directory);
    }
}
