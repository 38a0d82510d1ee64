//! `slipway osv` and `slipway scan vulns`, end to end: an OSV export zip built here (records in
//! OSV's schema for crates.io, npm and PyPI) imported into a database, then a project's
//! `Cargo.lock`, `package-lock.json` and `requirements.txt` scanned: exit 1 with the findings,
//! SARIF and CycloneDX output valid against their official schemas, `--fail-on critical` exit 0,
//! an ignore exit 0 and listed as ignored, an expired ignore exit 1, and bad input (a zip that is
//! not an OSV export, a malformed record) exit 2 with a clear message.

use std::io::Write as _;
use std::path::Path;

use slipway_testing::schemas::{cyclonedx_errors, sarif_errors};

use crate::support::{scratch_directory, slipway, transcript};

const RECORDS: &[(&str, &str)] = &[
    (
        "RUSTSEC-2099-0001.json",
        r#"{"schema_version": "1.7.0", "id": "RUSTSEC-2099-0001", "modified": "2024-05-01T00:00:00Z", "published": "2024-04-01T00:00:00Z",
  "aliases": ["CVE-2099-1001"], "summary": "itoa writes past its buffer",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
  "affected": [{"package": {"ecosystem": "crates.io", "name": "itoa", "purl": "pkg:cargo/itoa"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.0.16"}]}]}],
  "references": [{"type": "ADVISORY", "url": "https://rustsec.org/advisories/RUSTSEC-2099-0001.html"}]}"#,
    ),
    (
        "GHSA-aaaa-bbbb-cccc.json",
        r#"{"id": "GHSA-aaaa-bbbb-cccc", "modified": "2024-05-02T00:00:00Z", "summary": "left-pad pads too much",
  "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"last_affected": "1.3.0"}]}]}],
  "database_specific": {"severity": "MODERATE"}}"#,
    ),
    (
        "PYSEC-2099-7.json",
        r#"{"id": "PYSEC-2099-7", "modified": "2024-05-03T00:00:00Z", "aliases": ["GHSA-pppp-qqqq-rrrr"], "summary": "Flask leaks a session",
  "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:H/VA:N/SC:N/SI:N/SA:N"}],
  "affected": [{"package": {"ecosystem": "PyPI", "name": "Flask"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "3.0.0"}, {"fixed": "3.0.4"}, {"introduced": "2.0"}, {"fixed": "2.3.5"}]}]}]}"#,
    ),
    (
        "GHSA-wwww-xxxx-yyyy.json",
        r#"{"id": "GHSA-wwww-xxxx-yyyy", "modified": "2024-05-04T00:00:00Z", "withdrawn": "2024-05-05T00:00:00Z", "summary": "withdrawn",
  "affected": [{"package": {"ecosystem": "crates.io", "name": "itoa"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]}]}"#,
    ),
];

const CARGO_LOCK: &str = "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\ndependencies = [\"itoa\"]\n\n\
[[package]]\nname = \"itoa\"\nversion = \"1.0.15\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

const PACKAGE_LOCK: &str = r#"{"name": "demo", "version": "0.1.0", "lockfileVersion": 3, "requires": true,
  "packages": {"": {"name": "demo", "version": "0.1.0", "dependencies": {"left-pad": "^1.3.0"}},
               "node_modules/left-pad": {"version": "1.3.0", "resolved": "https://registry.npmjs.org/left-pad/-/left-pad-1.3.0.tgz"}}}
"#;

fn write(root: &Path, path: &str, bytes: &[u8]) {
    let path = root.join(path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap_or_else(|error| panic!("{error}"));
    }
    std::fs::write(path, bytes).unwrap_or_else(|error| panic!("{error}"));
}

fn zip_of(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut writer = zip::ZipWriter::new(&mut buffer);
        for (name, text) in entries {
            writer
                .start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap_or_else(|error| panic!("{error}"));
            writer.write_all(text.as_bytes()).unwrap_or_else(|error| panic!("{error}"));
        }
        writer.finish().unwrap_or_else(|error| panic!("{error}"));
    }
    buffer.into_inner()
}

fn output(directory: &Path, arguments: &[&str]) -> (i32, String, String) {
    let result = slipway(directory).args(arguments).output().unwrap_or_else(|error| panic!("{error}"));
    (
        result.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&result.stdout).into_owned(),
        String::from_utf8_lossy(&result.stderr).into_owned(),
    )
}

#[test]
fn an_osv_export_imported_and_a_project_scanned() {
    let directory = scratch_directory("vulns");
    write(&directory, "all.zip", &zip_of(RECORDS));
    write(&directory, "demo/Cargo.lock", CARGO_LOCK.as_bytes());
    write(&directory, "demo/package-lock.json", PACKAGE_LOCK.as_bytes());
    write(&directory, "demo/requirements.txt", b"flask==3.0.3\nrequests==2.32.3\n");
    write(&directory, "not-osv.zip", &zip_of(&[("README.txt", "hello")]));
    write(&directory, "broken.zip", &zip_of(&[("X-1.json", "{\n  \"id\": \"X-1\",\n  \"modified\": 5\n}")]));
    write(&directory, "text.zip", b"PK this is not a zip");

    let mut transcripts = Vec::new();
    let mut run = |title: &str, arguments: &[&str]| {
        let mut command = slipway(&directory);
        command.args(arguments);
        let text = transcript(&mut command).replace(&directory.display().to_string(), "[DIR]");
        transcripts.push(format!("$ {title}\n{text}"));
    };
    run("import an export", &["osv", "import", "--db", "db", "all.zip"]);
    run("import it again", &["osv", "import", "--db", "db", "all.zip"]);
    run("scan the project", &["scan", "vulns", "demo", "--db", "db"]);
    run("only critical fails", &["scan", "vulns", "demo", "--db", "db", "--fail-on", "critical"]);
    run("a zip that is not an OSV export", &["osv", "import", "--db", "db", "not-osv.zip"]);
    run("a malformed record", &["osv", "import", "--db", "db", "broken.zip"]);
    run("a file that is not a zip", &["osv", "import", "--db", "db", "text.zip"]);
    run("no database", &["scan", "vulns", "demo", "--db", "nowhere"]);
    let transcripts = transcripts.join("\n");
    let time = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap_or_else(|error| panic!("{error}"));
    insta::assert_snapshot!(time.replace_all(&transcripts, "[time]"));

    // SARIF and CycloneDX against their schemas.
    let (code, sarif, _) = output(&directory, &["scan", "vulns", "demo", "--db", "db", "--format", "sarif"]);
    assert_eq!(code, 1);
    let sarif: serde_json::Value = serde_json::from_str(&sarif).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(sarif_errors(&sarif), Vec::<String>::new());
    assert_eq!(sarif["runs"][0]["results"].as_array().map(Vec::len), Some(3));
    let (code, bom, _) = output(&directory, &["scan", "vulns", "demo", "--db", "db", "--format", "cyclonedx"]);
    assert_eq!(code, 1);
    let bom: serde_json::Value = serde_json::from_str(&bom).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(cyclonedx_errors(&bom), Vec::<String>::new());
    let ids: Vec<&str> =
        bom["vulnerabilities"].as_array().into_iter().flatten().filter_map(|v| v["id"].as_str()).collect();
    assert_eq!(ids, ["PYSEC-2099-7", "RUSTSEC-2099-0001", "GHSA-aaaa-bbbb-cccc"]);
    let (code, json, _) =
        output(&directory, &["scan", "vulns", "demo", "--db", "db", "--format", "json", "--only-fixable"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(json["summary"]["failing"], 2, "{json}");

    // An ignore (of an alias), then the same ignore expired.
    write(
        &directory,
        "demo/osv-scanner.toml",
        b"[[IgnoredVulns]]\nid = \"CVE-2099-1001\"\nignoreUntil = 2999-01-01\nreason = \"only used at build time\"\n\n\
          [[IgnoredVulns]]\nid = \"GHSA-pppp-qqqq-rrrr\"\nignoreUntil = 2999-01-01\nreason = \"sessions are not used\"\n\n\
          [[IgnoredVulns]]\nid = \"GHSA-aaaa-bbbb-cccc\"\nignoreUntil = 2999-01-01\nreason = \"padding is fine\"\n",
    );
    let (code, text, _) = output(&directory, &["scan", "vulns", "demo", "--db", "db"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(
            "ignored: RUSTSEC-2099-0001 (CVE-2099-1001) itoa@1.0.15 until 2999-01-01: only used at build time"
        ),
        "{text}"
    );
    write(
        &directory,
        "demo/osv-scanner.toml",
        b"[[IgnoredVulns]]\nid = \"RUSTSEC-2099-0001\"\nignoreUntil = 2020-01-01\nreason = \"was build-only\"\n",
    );
    let (code, text, _) = output(&directory, &["scan", "vulns", "demo", "--db", "db"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("expired: the ignore of RUSTSEC-2099-0001 at "), "{text}");
    assert!(text.contains("ended on 2020-01-01; the finding counts again"), "{text}");

    // An SBOM instead of lockfiles.
    let (code, bom_text, _) = output(&directory, &["sbom", "demo", "--output", "bom.json"]);
    assert_eq!(code, 0, "{bom_text}");
    let (code, text, _) =
        output(&directory, &["scan", "vulns", "--sbom", "bom.json", "--db", "db", "--format", "json"]);
    assert_eq!(code, 1, "{text}");
    let _ = std::fs::remove_dir_all(&directory);
}
