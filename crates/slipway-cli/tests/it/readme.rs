//! The commands the README gives are the binary's (issue 11: the README once gave an address that
//! did not exist; its API addresses and pages are checked by the server's tests).

use std::collections::BTreeSet;

use crate::support::{slipway, workspace};

/// Every `slipway COMMAND [SUBCOMMAND]` the README names, with each `--flag` written after it on
/// the same line.
fn readme_commands() -> Vec<(String, Option<String>, Vec<String>)> {
    let text = std::fs::read_to_string(workspace().join("README.md")).unwrap_or_default();
    let mut found = Vec::new();
    for line in text.lines() {
        for (at, _) in line.match_indices("slipway ") {
            // Not part of a longer word (`slipway-cli`, `.slipway`) nor a path.
            if line[..at].ends_with(['/', '-', '.', '_']) {
                continue;
            }
            let words: Vec<&str> = line[at + "slipway ".len()..]
                .split(|c: char| c.is_whitespace() || "`|".contains(c))
                .take_while(|word| !word.is_empty())
                .collect();
            let Some(command) = words.first().filter(|word| word.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            else {
                continue;
            };
            let sub = words
                .get(1)
                .filter(|word| word.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
                .map(|w| (*w).to_owned());
            let flags = words
                .iter()
                .map(|word| word.trim_start_matches(['[', '(']))
                .filter(|word| word.starts_with("--"))
                .map(|word| word.split(['=', ']', ')', ',']).next().unwrap_or(word).to_owned())
                .collect();
            found.push(((*command).to_owned(), sub, flags));
        }
    }
    found
}

#[test]
fn every_command_and_flag_the_readme_gives_exists() {
    let commands = readme_commands();
    assert!(commands.len() >= 25, "only {} commands were found in the README", commands.len());
    let directory = workspace();
    let mut checked = BTreeSet::new();
    for (command, sub, flags) in commands {
        let help = |words: &[&str]| {
            let output =
                slipway(&directory).args(words).arg("--help").output().unwrap_or_else(|error| panic!("{error}"));
            (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned())
        };
        let (ok, top) = help(&[&command]);
        assert!(ok, "the README gives `slipway {command}`, which is not a command");
        // A word after a command that has subcommands must be one of them.
        let (words, text) = match &sub {
            Some(sub) if top.contains("\nCommands:") => {
                let (ok, text) = help(&[&command, sub]);
                assert!(ok, "the README gives `slipway {command} {sub}`, which is not a command");
                (format!("{command} {sub}"), text)
            }
            _ => (command.clone(), top),
        };
        for flag in flags {
            if flag == "--help" || flag == "--version" {
                continue;
            }
            assert!(text.contains(&flag), "the README gives `slipway {words} ... {flag}`, which it does not take");
        }
        checked.insert(words);
    }
    assert!(checked.len() >= 20, "only {} distinct commands were checked: {checked:?}", checked.len());
}
