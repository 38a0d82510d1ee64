//! `slipway serve --log-format json`: the server's log lines are JSON objects, one a line, with
//! their level, message, target and fields, for log collectors.

use crate::support::{Server, output, scratch_directory};

/// A server started with `--log-format json` writes its log as JSON objects: a work item opened
/// through the API gives the line `work item opened` with its level and fields, and no line is in
/// the text format (`TIME  INFO target: message`).
#[test]
fn the_server_logs_json_objects_with_level_and_message() {
    let dir = scratch_directory("serve-log");
    std::fs::create_dir_all(dir.join("cwd")).expect("a working directory");
    let server = Server::start_at(dir.clone(), &dir.join("cwd"), &["--log-format", "json"]);
    let (created, printed) =
        output(&mut server.admin(&["work-items", "create", "--kind", "bug", "--title", "Login fails"]));
    assert!(created, "{printed}");
    let log = server.wait_for_output("work item opened");
    let text_format = regex::Regex::new(r"^\S+\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s").expect("a pattern");
    let mut objects = Vec::new();
    for line in log.lines() {
        assert!(!text_format.is_match(line), "a log line in the text format: {line}\n{log}");
        if line.starts_with('{') {
            let object: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
            assert!(object.is_object(), "{line}");
            assert!(object["level"].is_string() && object["message"].is_string(), "no level or message: {line}");
            objects.push(object);
        }
    }
    let opened = objects
        .iter()
        .find(|object| object["message"] == "work item opened")
        .unwrap_or_else(|| panic!("no JSON line says the work item was opened:\n{log}"));
    assert_eq!(opened["level"], "INFO", "{opened}");
    assert_eq!(opened["target"], "slipway_service::work_items", "{opened}");
    assert_eq!((&opened["kind"], &opened["by"]), (&serde_json::json!("bug"), &serde_json::json!("admin")), "{opened}");
    assert!(opened["id"].is_u64() && opened["timestamp"].is_string(), "{opened}");
}
