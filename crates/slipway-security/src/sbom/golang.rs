//! Go's `go.mod` with the `go.sum` beside it, read line by line (there is no well-kept Rust crate
//! for `go.mod`; its grammar is a few directives, alone or in `( )` blocks), each mistake an
//! error at its line and column.
//!
//! Each `require`d module is a component `pkg:golang/MODULE@VERSION` (the module path in lower
//! case in the purl, as the purl specification says; the component's name is the path's last
//! element and its group the rest, as Go writes them), from the Go module proxy; a `replace` by another module makes the
//! component that module, one by a directory keeps the module and comes from that directory
//! beside `go.mod`. The modules required without `// indirect` are the project's direct
//! dependencies. `go.mod` records no dependency graph between the modules, so components have
//! no dependencies of their own. `go.sum`'s `h1:` hash of a module is kept as its SHA-256: it
//! is Go's hash of the module's files (a SHA-256 over the list of its files' SHA-256s), not of
//! an archive.

use std::collections::BTreeMap;

use base64::Engine as _;

use super::{Component, Ecosystem, Hash, Lockfile, Origin, SbomError, hex, invalid_at, purl_encode};

const PROXY: &str = "https://proxy.golang.org";
const HINT: &str = "run `go mod tidy`";

/// A module's purl: its path in lower case, each element percent-encoded.
fn purl(path: &str, version: &str) -> String {
    let path = path.to_lowercase();
    let encoded: Vec<String> = path.split('/').map(purl_encode).collect();
    format!("pkg:golang/{}@{}", encoded.join("/"), purl_encode(version))
}

/// `"quoted"` or `` `raw` `` tokens unquoted.
fn unquote(token: &str) -> &str {
    token
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .or_else(|| token.strip_prefix('`').and_then(|rest| rest.strip_suffix('`')))
        .unwrap_or(token)
}

/// One `require` of `go.mod`.
struct Require {
    path: String,
    version: String,
    indirect: bool,
}

/// What a `replace` leads to: another module, or a directory.
enum Replacement {
    Module(String, String),
    Directory(String),
}

/// Reads a `go.mod`'s text, and the `go.sum` beside it when there is one (its name and text);
/// `file` names `go.mod` in errors.
///
/// # Errors
/// [`SbomError::Invalid`] at a line of either file that is not what Go writes.
pub fn read(file: &str, text: &str, sum: Option<(&str, &str)>) -> Result<Lockfile, SbomError> {
    let mut requires: Vec<Require> = Vec::new();
    let mut replaces: BTreeMap<(String, Option<String>), Replacement> = BTreeMap::new();
    let mut block: Option<String> = None;
    let mut offset = 0;
    for raw in text.split('\n') {
        let line_offset = offset;
        offset += raw.len() + 1;
        let (code, comment) = raw.split_once("//").map_or((raw, ""), |(code, comment)| (code, comment));
        let indirect = comment.trim().split(';').next().is_some_and(|word| word.trim() == "indirect");
        let tokens: Vec<&str> = code.split_whitespace().map(unquote).collect();
        let column = raw.len() - raw.trim_start().len();
        let wrong = |message: String| {
            invalid_at(
                file,
                text,
                line_offset + column,
                format!("not a valid go.mod: {message}"),
                Some(HINT.to_owned()),
            )
        };
        let Some(&first) = tokens.first() else { continue };
        let (directive, arguments): (String, &[&str]) = match &block {
            Some(_) if first == ")" => {
                block = None;
                continue;
            }
            Some(directive) => (directive.clone(), &tokens[..]),
            None if tokens.get(1) == Some(&"(") && tokens.len() == 2 => {
                block = Some(first.to_owned());
                continue;
            }
            None => (first.to_owned(), &tokens[1..]),
        };
        match directive.as_str() {
            "require" => match arguments {
                [path, version] => {
                    requires.push(Require { path: (*path).to_owned(), version: (*version).to_owned(), indirect })
                }
                _ => return Err(wrong(format!("`{}` is not `require MODULE VERSION`", code.trim()))),
            },
            "replace" => {
                let Some(arrow) = arguments.iter().position(|token| *token == "=>") else {
                    return Err(wrong(format!("`{}` has no `=>`", code.trim())));
                };
                let old = match &arguments[..arrow] {
                    [path] => ((*path).to_owned(), None),
                    [path, version] => ((*path).to_owned(), Some((*version).to_owned())),
                    _ => return Err(wrong(format!("`{}` is not `replace MODULE [VERSION] => ...`", code.trim()))),
                };
                let new = match &arguments[arrow + 1..] {
                    [directory] => Replacement::Directory((*directory).to_owned()),
                    [path, version] => Replacement::Module((*path).to_owned(), (*version).to_owned()),
                    _ => {
                        return Err(wrong(format!(
                            "`{}` is not `replace ... => MODULE VERSION` or `=> DIRECTORY`",
                            code.trim()
                        )));
                    }
                };
                replaces.insert(old, new);
            }
            "module" | "go" | "toolchain" | "godebug" | "exclude" | "retract" | "tool" | "ignore" => {}
            other => return Err(wrong(format!("unknown directive `{other}`"))),
        }
    }
    let hashes = match sum {
        Some((sum_file, sum_text)) => read_sum(sum_file, sum_text)?,
        None => BTreeMap::new(),
    };
    let mut lockfile = Lockfile::default();
    let mut components: BTreeMap<String, Component> = BTreeMap::new();
    for require in requires {
        let replacement = replaces
            .get(&(require.path.clone(), Some(require.version.clone())))
            .or_else(|| replaces.get(&(require.path.clone(), None)));
        let (path, version, origin) = match replacement {
            Some(Replacement::Module(path, version)) => {
                (path.clone(), version.clone(), Origin::Registry(PROXY.to_owned()))
            }
            Some(Replacement::Directory(directory)) => (require.path, require.version, Origin::Path(directory.clone())),
            None => (require.path, require.version, Origin::Registry(PROXY.to_owned())),
        };
        let (group, name) = match path.rsplit_once('/') {
            Some((namespace, name)) => (Some(namespace.to_owned()), name.to_owned()),
            None => (None, path.clone()),
        };
        let purl = purl(&path, &version);
        if !require.indirect {
            lockfile.direct.push(purl.clone());
        }
        let hashes = match origin {
            Origin::Path(_) => Vec::new(),
            _ => hashes.get(&(path.clone(), version.clone())).cloned().into_iter().collect(),
        };
        components.entry(purl.clone()).or_insert(Component {
            ecosystem: Ecosystem::Go,
            group,
            name,
            version,
            purl,
            origin,
            hashes,
            depends_on: Vec::new(),
            development: false,
        });
    }
    lockfile.components = components.into_values().collect();
    lockfile.direct.sort();
    lockfile.direct.dedup();
    Ok(lockfile)
}

/// `go.sum`'s `h1:` hashes of modules' files (not of their `go.mod`s), by module and version.
fn read_sum(file: &str, text: &str) -> Result<BTreeMap<(String, String), Hash>, SbomError> {
    let mut hashes = BTreeMap::new();
    let mut offset = 0;
    for raw in text.split('\n') {
        let line_offset = offset;
        offset += raw.len() + 1;
        let tokens: Vec<&str> = raw.split_whitespace().collect();
        let wrong = |message: String| {
            invalid_at(file, text, line_offset, format!("not a valid go.sum: {message}"), Some(HINT.to_owned()))
        };
        match tokens.as_slice() {
            [] => {}
            [path, version, hash] => {
                if version.ends_with("/go.mod") {
                    continue;
                }
                let Some(digest) = hash.strip_prefix("h1:") else { continue };
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(digest)
                    .ok()
                    .filter(|bytes| bytes.len() == 32)
                    .ok_or_else(|| wrong(format!("`{hash}` is not an h1: hash (base64 of 32 bytes)")))?;
                hashes.insert(
                    ((*path).to_owned(), (*version).to_owned()),
                    Hash { algorithm: "SHA-256", hex: hex(&bytes) },
                );
            }
            _ => return Err(wrong(format!("`{}` is not `MODULE VERSION HASH`", raw.trim()))),
        }
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODULE: &str = "module example.com/app

go 1.22

toolchain go1.22.1

require (
\tgithub.com/BurntSushi/toml v1.3.2
\tgithub.com/google/uuid v1.6.0
\tgolang.org/x/text v0.14.0 // indirect
\texample.com/local v0.0.0-00010101000000-000000000000
)

require github.com/pkg/errors v0.9.1

replace github.com/pkg/errors => github.com/pkg/errors v0.9.0

replace example.com/local => ../local
";

    const SUM: &str = "github.com/BurntSushi/toml v1.3.2 h1:o7IhLm0Msx3BaB+n3Ag7L8EVlByGnpq14C4YWiu/gL8=
github.com/BurntSushi/toml v1.3.2/go.mod h1:CxXYINrC8qIiEnFrOxCa7Jy5BFHlXnUU2pbicEuybxQ=
github.com/google/uuid v1.6.0 h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=
github.com/google/uuid v1.6.0/go.mod h1:TIyPZe4MgqvfeYDBFedMoGGpEw/LqOeaOT+nhxU+yHo=
github.com/pkg/errors v0.9.0 h1:FEBLx1zS214owpjy7qsBeixbURkuhQAwrK5UwLGTwt4=
golang.org/x/text v0.14.0 h1:ScX5w1eTa3QqT8oi6+ziP7dTV1S2+ALU0bI+0zXKWiQ=
golang.org/x/text v0.14.0/go.mod h1:18ZOQIKpY8NJVqYksKHtTdi31H5itFRjB5/qKTNYzSU=
";

    #[test]
    fn requires_replacements_indirect_ones_and_sums() {
        let lock = read("go.mod", MODULE, Some(("go.sum", SUM))).unwrap_or_else(|error| panic!("{error}"));
        let purls: Vec<&str> = lock.components.iter().map(|c| c.purl.as_str()).collect();
        assert_eq!(
            purls,
            [
                "pkg:golang/example.com/local@v0.0.0-00010101000000-000000000000",
                "pkg:golang/github.com/burntsushi/toml@v1.3.2",
                "pkg:golang/github.com/google/uuid@v1.6.0",
                "pkg:golang/github.com/pkg/errors@v0.9.0",
                "pkg:golang/golang.org/x/text@v0.14.0",
            ]
        );
        assert_eq!(lock.components[0].origin, Origin::Path("../local".to_owned()));
        assert_eq!(lock.components[2].group.as_deref(), Some("github.com/google"));
        assert_eq!(lock.components[2].name, "uuid");
        assert_eq!(lock.components[1].hashes[0].algorithm, "SHA-256");
        assert_eq!(
            (lock.components[1].group.as_deref(), lock.components[1].name.as_str()),
            (Some("github.com/BurntSushi"), "toml")
        );
        assert_eq!(lock.components[3].hashes.len(), 1, "the replacement's hash");
        assert_eq!(lock.direct.len(), 4);
        assert!(!lock.direct.contains(&"pkg:golang/golang.org/x/text@v0.14.0".to_owned()));
    }

    #[test]
    fn malformed_files_are_named_at_their_place() {
        let error = |module: &str, sum: &str| {
            read("go.mod", module, Some(("go.sum", sum))).err().map(|e| e.to_string()).unwrap_or_default()
        };
        let message = error("module a\n\nrequire (\n\tgithub.com/google/uuid\n)\n", "");
        assert!(
            message.starts_with(
                "go.mod:4:2: not a valid go.mod: `github.com/google/uuid` is not `require MODULE VERSION`"
            ),
            "{message}"
        );
        assert!(message.contains("help: run `go mod tidy`"), "{message}");
        let message = error("module a\nrequires b v1\n", "");
        assert!(message.starts_with("go.mod:2:1: not a valid go.mod: unknown directive `requires`"), "{message}");
        let message = error("module a\n", "a v1.0.0 h1:abc=\n");
        assert!(message.starts_with("go.sum:1:1: not a valid go.sum: `h1:abc=` is not an h1: hash"), "{message}");
    }
}
