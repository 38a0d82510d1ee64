//! Workflow parser conformance: the reader cases of GitHub's own workflow parser
//! (`tests/fixtures/reader/*.yml`, from `actions/languageservices`; see `fixtures/SOURCE.md`).
//!
//! For every case, Slipway must agree on whether the workflow is valid; where GitHub expects
//! errors, each expected message is looked for among Slipway's at the same line and column
//! (messages compared after normalizing: case, `key`/`value`, and Slipway's additions after
//! GitHub's words). The figures are printed; a case that disagrees fails the test unless
//! `fixtures/DEVIATIONS.md` lists it with the reason.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use slipway_diagnostics::{Diagnostic, FileId};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// One reader case, cut into its documents.
struct Case {
    options: slipway_github::Options,
    workflow: String,
    called: BTreeMap<String, String>,
    expected: serde_json::Value,
}

fn read_case(text: &str) -> Option<Case> {
    let mut documents: Vec<String> = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            documents.push(String::new());
        } else if let Some(last) = documents.last_mut() {
            last.push_str(line);
            last.push('\n');
        }
    }
    if documents.len() < 3 {
        return None;
    }
    let expected = serde_json::from_str(documents.last()?).ok()?;
    let workflow = documents[1].clone();
    // The options GitHub's test runner passes to its parser.
    let mut options = slipway_github::Options::default();
    for line in documents[0].lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.split('#').next().unwrap_or_default().trim();
        match key.trim() {
            "permissions-policy" if value == "LimitedRead" => {
                options.default_permissions = slipway_github::DefaultPermissions::LimitedRead;
            }
            "max-depth" => options.max_depth = value.parse().unwrap_or(options.max_depth),
            "max-job-limit" => options.max_jobs = value.parse().unwrap_or(options.max_jobs),
            "max-nested-reusable-workflows-depth" => {
                options.max_nested_calls = value.parse().unwrap_or(options.max_nested_calls);
            }
            _ => {}
        }
    }
    let mut called = BTreeMap::new();
    let middle = &documents[2..documents.len() - 1];
    for pair in middle.chunks(2) {
        if let [reference, text] = pair {
            called.insert(reference.trim().to_owned(), text.clone());
        }
    }
    Some(Case { options, workflow, called, expected })
}

/// An expected error: its place when GitHub gives one, and its message.
struct Expected {
    at: Option<(u32, u32)>,
    message: String,
}

fn expected_errors(expected: &serde_json::Value) -> Vec<Expected> {
    let Some(errors) = expected.get("errors").and_then(serde_json::Value::as_array) else { return Vec::new() };
    errors
        .iter()
        .filter_map(|error| error.get("Message").and_then(serde_json::Value::as_str))
        .map(|message| {
            let message = message.trim();
            if let Some(start) = message.find("(Line: ")
                && let Some(end) = message[start..].find("): ")
            {
                let inside = &message[start + 7..start + end];
                let (line, column) = inside.split_once(", Col: ").unwrap_or(("0", "0"));
                return Expected {
                    at: Some((line.parse().unwrap_or(0), column.parse().unwrap_or(0))),
                    message: message[start + end + 3..].to_owned(),
                };
            }
            // `.github/workflows/x.yml: Maximum object depth exceeded`: the file is named, no place.
            let message = match message.split_once(".yml: ") {
                Some((_, rest)) if message.starts_with(".github/") => rest,
                _ => message,
            };
            Expected { at: None, message: message.to_owned() }
        })
        .collect()
}

/// Lower case, `unexpected key` read as GitHub's `unexpected value`, no final full stop, no
/// `[...]` where the expectation was cut short.
fn normalize(message: &str) -> String {
    let message = message.trim();
    let message = message.strip_suffix("[...]").unwrap_or(message);
    message.trim_end_matches('.').to_lowercase().replace("unexpected key", "unexpected value")
}

/// The same place; for an expression's error (`G02xx`), GitHub gives the start of the value that
/// holds the expression and Slipway the expression's own place, at or after it.
fn matches(expected: &Expected, diagnostic: &Diagnostic) -> bool {
    let place_ok = match (expected.at, diagnostic.span) {
        (Some(at), Some(span)) if diagnostic.code.starts_with("G02") => (span.start.line, span.start.column) >= at,
        (Some((line, column)), Some(span)) => span.start.line == line && span.start.column == column,
        (Some(_), None) => false,
        (None, _) => true,
    };
    place_ok && normalize(&diagnostic.message).starts_with(&normalize(&expected.message))
}

/// `## name` headings of DEVIATIONS.md, each with its reason below.
fn deviations() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(fixtures().join("DEVIATIONS.md")).unwrap_or_default();
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("## ") {
            current = Some(name.trim().trim_matches('`').to_owned());
            out.insert(name.trim().trim_matches('`').to_owned(), String::new());
        } else if let Some(name) = &current
            && let Some(reason) = out.get_mut(name)
        {
            reason.push_str(line.trim());
            reason.push(' ');
        }
    }
    out
}

#[test]
fn workflow_parser_reader_cases() {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures().join("reader"))
        .expect("the reader fixtures are there")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    paths.sort();
    let deviations = deviations();
    let (mut validity_agrees, mut messages_agree, mut expected_invalid, mut total) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let mut listed_but_agreeing = Vec::new();
    for path in &paths {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_owned();
        let text = std::fs::read_to_string(path).expect("readable");
        let Some(case) = read_case(&text) else {
            failures.push(format!("{name}: the case could not be read"));
            continue;
        };
        total += 1;
        let called = |reference: &str| {
            let index = case.called.keys().position(|key| key == reference)?;
            Some((FileId(u32::try_from(index).ok()? + 1), case.called.get(reference)?.clone()))
        };
        let checked = slipway_github::check_with(&case.workflow, FileId(0), &case.options, &called);
        let errors: Vec<&Diagnostic> = checked.diagnostics.iter().filter(|d| d.is_error()).collect();
        let expected = expected_errors(&case.expected);
        let invalid = !expected.is_empty();
        expected_invalid += usize::from(invalid);
        let has_errors = !errors.is_empty();
        let validity_ok = invalid == has_errors;
        let messages_ok = validity_ok
            && (!invalid
                || (expected.iter().all(|e| errors.iter().any(|d| matches(e, d))) && errors.len() == expected.len()));
        validity_agrees += usize::from(validity_ok);
        messages_agree += usize::from(messages_ok);
        let ours: Vec<String> = errors
            .iter()
            .map(|d| {
                let at = d.span.map(|s| format!("{}:{}", s.start.line, s.start.column)).unwrap_or_default();
                format!("{at} {}", d.message)
            })
            .collect();
        let theirs: Vec<String> = expected
            .iter()
            .map(|e| format!("{} {}", e.at.map(|(l, c)| format!("{l}:{c}")).unwrap_or_default(), e.message))
            .collect();
        if !messages_ok {
            if !deviations.contains_key(&name) {
                failures.push(format!(
                    "{name}: {}\n    GitHub: {theirs:#?}\n    Slipway: {ours:#?}",
                    if validity_ok { "the errors differ" } else { "valid/invalid disagrees" }
                ));
            }
        } else if deviations.contains_key(&name) {
            listed_but_agreeing.push(name.clone());
        }
    }
    println!(
        "workflow-parser reader cases: valid/invalid agrees on {validity_agrees}/{total}; errors agree (place and \
         message) on {messages_agree}/{total}; {expected_invalid} cases expect errors; {} listed in DEVIATIONS.md",
        deviations.len()
    );
    assert_eq!(total, 130, "all 130 cases are read");
    assert!(listed_but_agreeing.is_empty(), "DEVIATIONS.md lists cases that now agree: {listed_but_agreeing:?}");
    assert!(
        failures.is_empty(),
        "{} cases disagree and are not in DEVIATIONS.md:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
