//! Package URLs (purl), read as far as matching needs: `pkg:TYPE/NAMESPACE/NAME@VERSION?...#...`
//! with percent-decoding, and the OSV package each type maps to.

/// A purl's parts, decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purl {
    /// The type, lower-case (`cargo`, `npm`, `pypi`, `golang`, `nuget`, `gem`, `composer`, `maven`).
    pub kind: String,
    /// The namespace (`@scope`, a Maven group, a Go module's host and path).
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
    /// The version.
    pub version: Option<String>,
}

/// Reads a purl.
///
/// # Errors
/// A message saying what is missing.
pub fn parse(text: &str) -> Result<Purl, String> {
    let rest = text
        .trim()
        .strip_prefix("pkg:")
        .ok_or_else(|| format!("'{text}' is not a package URL (it does not start with pkg:)"))?;
    let rest = rest.trim_start_matches('/');
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let rest = rest.split_once('?').map_or(rest, |(before, _)| before);
    let (kind, path) = rest.split_once('/').ok_or_else(|| format!("'{text}' is not a package URL (no type/name)"))?;
    let (path, version) = match path.rsplit_once('@') {
        Some((path, version)) if !path.is_empty() => (path, Some(decode(version))),
        _ => (path, None),
    };
    let mut segments: Vec<String> =
        path.trim_matches('/').split('/').filter(|segment| !segment.is_empty()).map(decode).collect();
    let name = segments.pop().filter(|name| !name.is_empty()).ok_or_else(|| format!("'{text}' has no name"))?;
    let namespace = if segments.is_empty() { None } else { Some(segments.join("/")) };
    Ok(Purl {
        kind: kind.to_ascii_lowercase(),
        namespace,
        name,
        version: version.filter(|version| !version.is_empty()),
    })
}

impl Purl {
    /// The OSV ecosystem and package name, for the types Slipway matches.
    #[must_use]
    pub fn osv_package(&self) -> Option<(&'static str, String)> {
        let joined = |separator: &str| match &self.namespace {
            Some(namespace) => format!("{namespace}{separator}{}", self.name),
            None => self.name.clone(),
        };
        Some(match self.kind.as_str() {
            "cargo" => ("crates.io", self.name.clone()),
            "npm" => ("npm", joined("/")),
            "pypi" => ("PyPI", self.name.clone()),
            "golang" => ("Go", joined("/")),
            "nuget" => ("NuGet", self.name.clone()),
            "gem" => ("RubyGems", self.name.clone()),
            "composer" => ("Packagist", joined("/")),
            "maven" => ("Maven", joined(":")),
            _ => return None,
        })
    }
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_give_osv_packages() {
        let purl = parse("pkg:npm/%40scope/widgets@2.1.0").unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(purl.osv_package(), Some(("npm", "@scope/widgets".to_owned())));
        assert_eq!(purl.version.as_deref(), Some("2.1.0"));
        let maven =
            parse("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1?type=jar").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(maven.osv_package(), Some(("Maven", "org.apache.logging.log4j:log4j-core".to_owned())));
        let go = parse("pkg:golang/golang.org/x/text@v0.3.7").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(go.osv_package(), Some(("Go", "golang.org/x/text".to_owned())));
        assert_eq!(parse("pkg:cargo/x@1.0.0%2Bbuild").map(|purl| purl.version), Ok(Some("1.0.0+build".to_owned())));
        assert_eq!(parse("pkg:deb/debian/curl@7").map(|purl| purl.osv_package()), Ok(None));
        assert!(parse("npm/x@1").is_err());
        assert!(parse("pkg:npm").is_err());
    }
}
