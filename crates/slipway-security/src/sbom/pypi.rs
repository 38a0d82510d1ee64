//! Pinned `requirements*.txt` (pip's requirements format).
//!
//! Each requirement pinned to one version (`NAME==VERSION` or `NAME===VERSION`, with extras,
//! an environment marker and `--hash` options allowed) is a component `pkg:pypi/NAME@VERSION`,
//! its name normalised as PEP 503 says (lower case, runs of `-`, `_` and `.` made one `-`).
//! Anything else that names a package (a range, a wildcard, a URL, an editable install, another
//! requirements file) is not guessed at: it is reported as skipped with its `file:line`. The
//! format has no dependency graph: every component is a direct one.

use std::sync::LazyLock;

use regex::Regex;

use super::{Component, Ecosystem, Lockfile, Origin, SbomError, SkippedLine, purl_encode};

/// `NAME[extras] == VERSION` (the marker and options already cut off).
static PINNED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*===?\s*([A-Za-z0-9][A-Za-z0-9.!+_-]*)$",
    )
    .ok()
});

/// Whether a file name is one of requirements files Slipway reads (`requirements*.txt`).
#[must_use]
pub fn is_requirements_name(name: &str) -> bool {
    name.starts_with("requirements") && name.ends_with(".txt")
}

/// PEP 503's normal form of a package name.
#[must_use]
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut separator = false;
    for character in name.chars() {
        if matches!(character, '-' | '_' | '.') {
            separator = true;
        } else {
            if separator && !out.is_empty() {
                out.push('-');
            }
            separator = false;
            out.push(character.to_ascii_lowercase());
        }
    }
    out
}

/// Reads a requirements file's text; `file` names it in what was skipped.
///
/// # Errors
/// None so far: every line is either a pinned requirement or skipped with its reason.
pub fn read(file: &str, text: &str) -> Result<Lockfile, SbomError> {
    let mut lockfile = Lockfile::default();
    let mut logical = String::new();
    let mut start = 0;
    for (index, raw) in text.lines().enumerate() {
        if logical.is_empty() {
            start = index + 1;
        }
        if let Some(stripped) = raw.strip_suffix('\\') {
            logical.push_str(stripped);
            logical.push(' ');
            continue;
        }
        logical.push_str(raw);
        let line = std::mem::take(&mut logical);
        requirement(file, start, &line, &mut lockfile);
    }
    if !logical.is_empty() {
        requirement(file, start, &logical, &mut lockfile);
    }
    lockfile.components.sort_by(|a, b| a.purl.cmp(&b.purl));
    lockfile.components.dedup_by(|a, b| a.purl == b.purl);
    lockfile.direct = lockfile.components.iter().map(|c| c.purl.clone()).collect();
    Ok(lockfile)
}

fn requirement(file: &str, line: usize, text: &str, lockfile: &mut Lockfile) {
    // A comment starts a line or follows whitespace.
    let text = match text.find(" #").or_else(|| text.find("\t#")) {
        Some(index) => &text[..index],
        None => text,
    };
    let text = text.trim();
    if text.is_empty() || text.starts_with('#') {
        return;
    }
    let skip = |lockfile: &mut Lockfile, reason: String| {
        lockfile.skipped.push(SkippedLine { file: file.to_owned(), line, reason });
    };
    if text.starts_with('-') {
        let option = text.split([' ', '=']).next().unwrap_or(text);
        if matches!(option, "-r" | "--requirement" | "-c" | "--constraint" | "-e" | "--editable") {
            skip(lockfile, format!("`{text}`: {option} is not followed; name the file or package pinned instead"));
        }
        return;
    }
    // Options after the requirement (`--hash=...`), then the environment marker.
    let requirement = text.split(" -").next().unwrap_or(text);
    let requirement = requirement.split(';').next().unwrap_or(requirement).trim();
    let pinned = PINNED.as_ref().and_then(|pattern| pattern.captures(requirement));
    match pinned {
        Some(captures) if !captures[2].contains('*') => {
            let name = normalise(&captures[1]);
            let version = captures[2].to_owned();
            let purl = format!("pkg:pypi/{}@{}", purl_encode(&name), purl_encode(&version));
            lockfile.components.push(Component {
                ecosystem: Ecosystem::Pypi,
                group: None,
                name,
                version,
                purl,
                origin: Origin::Registry("https://pypi.org/simple".to_owned()),
                hashes: Vec::new(),
                depends_on: Vec::new(),
                development: false,
            });
        }
        _ if requirement.contains('@') || requirement.contains("://") => {
            skip(lockfile, format!("`{requirement}`: a direct URL or path, not a pinned version"));
        }
        _ => {
            skip(lockfile, format!("`{requirement}` is not pinned (expected NAME==VERSION; `pip freeze` writes them)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_as_pep_503_says() {
        assert_eq!(normalise("Django_REST.framework"), "django-rest-framework");
        assert_eq!(normalise("zope.interface"), "zope-interface");
        assert_eq!(normalise("a--_b"), "a-b");
    }

    #[test]
    fn pinned_requirements_become_components_and_the_rest_is_skipped_with_its_line() {
        let text = "# tools\nRequests[security]==2.31.0 ; python_version >= \"3.8\" \\\n    --hash=sha256:abc\n\
                    Flask>=2.0\nnumpy==1.*\n-r other.txt\n--index-url https://pypi.org/simple\n\
                    ruamel.yaml===0.18.6  # exact\npkg @ https://example.com/pkg.whl\n";
        let lock = read("requirements.txt", text).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(purls, ["pkg:pypi/requests@2.31.0", "pkg:pypi/ruamel-yaml@0.18.6"]);
        let skipped: Vec<String> = lock.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            skipped,
            [
                "requirements.txt:4: `Flask>=2.0` is not pinned (expected NAME==VERSION; `pip freeze` writes them)",
                "requirements.txt:5: `numpy==1.*` is not pinned (expected NAME==VERSION; `pip freeze` writes them)",
                "requirements.txt:6: `-r other.txt`: -r is not followed; name the file or package pinned instead",
                "requirements.txt:9: `pkg @ https://example.com/pkg.whl`: a direct URL or path, not a pinned version",
            ]
        );
    }
}
