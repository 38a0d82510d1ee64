//! `slipway audit` against a real server: changes people make are audited, the log is exported
//! as JSON lines and verified (by the server, and offline from the export); then the server's
//! database is edited behind its back (an entry's details changed, an entry deleted) and the
//! check names the entry and the break, with exit status 1; an edited export is caught offline,
//! and a file that is not an export is refused with exit status 2.

use std::path::Path;
use std::process::Command;

use slipway_events::audit_chain::{self, ChainedEntry, GENESIS};

use crate::support::Server;

/// Runs a command: its exit status, standard output and standard error.
fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().unwrap_or_else(|error| panic!("{error}"));
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs one SQL statement on the server's SQLite database behind its back, with Python's sqlite3.
fn tamper(database: &Path, sql: &str) {
    let script = "import sqlite3, sys\nc = sqlite3.connect(sys.argv[1])\nc.execute(sys.argv[2])\nc.commit()\nc.close()";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(database)
        .arg(sql)
        .status()
        .unwrap_or_else(|error| panic!("python3: {error}"));
    assert!(status.success(), "python3 could not run {sql}");
}

fn read_export(path: &Path) -> Vec<ChainedEntry> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{error}"));
    text.lines().map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{line}: {error}"))).collect()
}

#[test]
fn audit_export_and_verify_find_entries_changed_and_deleted_behind_the_servers_back() {
    let server = Server::start();
    let scratch = server.dir.join("cwd");
    for arguments in [
        &["groups", "create", "shared"][..],
        &["groups", "create", "scratch"],
        &["groups", "set", "shared", "REGION", "--value", "eu-west"],
        &["groups", "set", "shared", "API_KEY", "--value", "s3cret", "--secret"],
        &["groups", "delete", "scratch"],
    ] {
        let (code, stdout, stderr) = run(&mut server.admin(arguments));
        assert_eq!(code, 0, "{arguments:?}: {stdout}{stderr}");
    }

    // Exported to a file and to standard output alike, oldest first, and whole.
    let export = scratch.join("audit.jsonl");
    let export_arg = export.display().to_string();
    let (code, stdout, stderr) = run(&mut server.admin(&["audit", "export", "--output", &export_arg]));
    let entries = read_export(&export);
    assert_eq!((code, stdout.as_str()), (0, ""), "{stderr}");
    assert_eq!(stderr, format!("Exported {} audit log entries to {export_arg}.\n", entries.len()));
    assert!(entries.len() >= 5, "{entries:?}");
    assert_eq!(entries[0].prev_hash, GENESIS);
    let actions: Vec<&str> = entries.iter().map(|entry| entry.action.as_str()).collect();
    for action in ["variable-group.create", "variable-group.delete"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    let (code, stdout, _) = run(&mut server.admin(&["audit", "export"]));
    assert_eq!((code, stdout), (0, std::fs::read_to_string(&export).unwrap_or_default()));

    let last = entries.last().unwrap_or_else(|| panic!("no entries"));
    let intact = format!(
        "The audit log is intact: {} entries checked; the newest is entry {} with hash {}.\n",
        entries.len(),
        last.id,
        last.hash
    );
    assert_eq!(run(&mut server.admin(&["audit", "verify"])), (0, intact.clone(), String::new()));
    let offline = intact.replace("The audit log", &format!("The export {export_arg}"));
    assert_eq!(run(&mut server.admin(&["audit", "verify", "--file", &export_arg])), (0, offline, String::new()));

    // The newest entry noted as an anchor: still there, then cut off behind the server's back,
    // which only the anchor shows.
    let database = server.dir.join("data").join("slipway.db");
    let anchor = format!("{}:{}", last.id, last.hash);
    assert_eq!(run(&mut server.admin(&["audit", "verify", "--anchor", &anchor])), (0, intact.clone(), String::new()));
    tamper(&database, &format!("DELETE FROM audit_log WHERE id = {}", last.id));
    let newest = &entries[entries.len() - 2];
    let shorter = format!(
        "The audit log is intact: {} entries checked; the newest is entry {} with hash {}.\n",
        entries.len() - 1,
        newest.id,
        newest.hash
    );
    assert_eq!(run(&mut server.admin(&["audit", "verify"])), (0, shorter, String::new()));
    let cut = format!(
        "The audit log is broken: the chain ends at entry {}, before entry {} noted with hash {}: the newest entries \
         were cut off.\nChecked {} entries, up to the first break.\n",
        newest.id,
        last.id,
        last.hash,
        entries.len() - 1
    );
    assert_eq!(run(&mut server.admin(&["audit", "verify", "--anchor", &anchor])), (1, cut, String::new()));
    let text = std::fs::read_to_string(&export).unwrap_or_default();
    let truncated = scratch.join("truncated.jsonl");
    let kept: Vec<&str> = text.lines().take(entries.len() - 1).collect();
    std::fs::write(&truncated, kept.join("\n") + "\n").unwrap_or_else(|error| panic!("{error}"));
    let truncated_arg = truncated.display().to_string();
    let (code, stdout, _) = run(&mut server.admin(&["audit", "verify", "--file", &truncated_arg, "--anchor", &anchor]));
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("the newest entries were cut off"), "{stdout}");
    let (code, _, stderr) = run(&mut server.admin(&["audit", "verify", "--anchor", "12"]));
    assert_eq!(
        (code, stderr.as_str()),
        (2, "error: --anchor is ID:HASH (an entry id and its 64-digit hex hash), not `12`\n")
    );

    // An entry's details changed in the database: the server's check names it.
    let changed = &entries[1];
    tamper(&database, &format!("UPDATE audit_log SET details = '{{\"role\":\"admin\"}}' WHERE id = {}", changed.id));
    let rewritten = ChainedEntry { details: serde_json::json!({ "role": "admin" }), ..changed.clone() };
    let expected = format!(
        "The audit log is broken: entry {} was changed: its hash is {} but its fields hash to {}.\n\
         Checked 2 entries, up to the first break.\n",
        changed.id,
        changed.hash,
        rewritten.computed_hash()
    );
    assert_eq!(run(&mut server.admin(&["audit", "verify"])), (1, expected, String::new()));

    // That entry deleted: the break shows at the next one.
    tamper(&database, &format!("DELETE FROM audit_log WHERE id = {}", changed.id));
    let (before, after) = (&entries[0], &entries[2]);
    let expected = format!(
        "The audit log is broken: the chain breaks between entries {} and {}: an entry between them was deleted \
         (or entry {} rewritten): entry {}'s prev_hash is {} but entry {}'s hash is {}.\n\
         Checked 2 entries, up to the first break.\n",
        before.id, after.id, before.id, after.id, changed.hash, before.id, before.hash
    );
    assert_eq!(run(&mut server.admin(&["audit", "verify"])), (1, expected, String::new()));
    let (code, stdout, _) = run(&mut server.admin(&["audit", "verify", "--format", "json"]));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|error| panic!("{stdout}: {error}"));
    assert_eq!(
        (code, &report["intact"], &report["firstBreak"]["kind"]),
        (1, &serde_json::json!(false), &serde_json::json!("deleted"))
    );
    assert_eq!(report["firstBreak"]["id"], after.id);

    // Offline: an export whose third line was edited (actor changed) is caught at that entry.
    let text = std::fs::read_to_string(&export).unwrap_or_default();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let edited_entry = ChainedEntry { actor: "mallory".to_owned(), ..entries[2].clone() };
    lines[2] = serde_json::to_string(&edited_entry).unwrap_or_default();
    let edited = scratch.join("edited.jsonl");
    std::fs::write(&edited, lines.join("\n") + "\n").unwrap_or_else(|error| panic!("{error}"));
    let edited_arg = edited.display().to_string();
    let expected = format!(
        "The export {edited_arg} is broken: entry {} was changed: its hash is {} but its fields hash to {}.\n\
         Checked 3 entries, up to the first break.\n",
        edited_entry.id,
        edited_entry.hash,
        edited_entry.computed_hash()
    );
    assert_eq!(run(&mut server.admin(&["audit", "verify", "--file", &edited_arg])), (1, expected, String::new()));
    assert!(!audit_chain::verify(&read_export(&edited)).intact());

    // A line that is not an entry, and a file that is not there: bad input, named.
    lines[1] = "{\"id\": 2, \"note\": \"not an entry\"}".to_owned();
    std::fs::write(&edited, lines.join("\n") + "\n").unwrap_or_else(|error| panic!("{error}"));
    let (code, stdout, stderr) = run(&mut server.admin(&["audit", "verify", "--file", &edited_arg]));
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_eq!(
        stderr,
        format!("error: {edited_arg}, line 2: not an audit log entry: missing field `at` at line 1 column 33\n")
    );
    let missing = scratch.join("missing.jsonl").display().to_string();
    let (code, _, stderr) = run(&mut server.admin(&["audit", "verify", "--file", &missing]));
    assert_eq!((code, stderr), (2, format!("error: cannot read {missing}: No such file or directory (os error 2)\n")));
}
