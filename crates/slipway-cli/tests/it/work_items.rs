//! `slipway work-items` against a real server: items opened (and mistakes refused, each named),
//! listed with filters, changed, commented on, linked, shown and resolved.

use std::process::Command;

use crate::support::{Server, output};

/// Records a command's transcript with its times replaced.
fn record(transcripts: &mut Vec<String>, server: &Server, title: &str, command: &mut Command) {
    server.record(transcripts, title, command, &[(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "[when]")]);
}

#[test]
fn work_items_from_the_command_line() {
    let server = Server::start();
    let mut transcripts = Vec::new();
    let mut step =
        |title: &str, arguments: &[&str]| record(&mut transcripts, &server, title, &mut server.admin(arguments));
    step("slipway environments create production", &["environments", "create", "production"]);
    step("slipway work-items list", &["work-items", "list"]);
    step(
        "slipway work-items create --kind bug --title 'Login fails' --severity high --assignee admin",
        &[
            "work-items",
            "create",
            "--kind",
            "bug",
            "--title",
            "Login fails",
            "--severity",
            "high",
            "--assignee",
            "admin",
        ],
    );
    step(
        "slipway work-items create --kind incident --title 'Checkout down' --environment production --description ...",
        &[
            "work-items",
            "create",
            "--kind",
            "incident",
            "--title",
            "Checkout down",
            "--environment",
            "production",
            "--description",
            "Payments time out.\nSince the 14:00 deployment.",
        ],
    );
    step(
        "slipway work-items create --kind epic --title Big",
        &["work-items", "create", "--kind", "epic", "--title", "Big"],
    );
    step(
        "slipway work-items create --kind task --title T --assignee nobody",
        &["work-items", "create", "--kind", "task", "--title", "T", "--assignee", "nobody"],
    );
    step("slipway work-items list", &["work-items", "list"]);
    step("slipway work-items list --kind incident", &["work-items", "list", "--kind", "incident"]);
    step("slipway work-items list --state finished", &["work-items", "list", "--state", "finished"]);
    step(
        "slipway work-items update 1 --state active --assignee ''",
        &["work-items", "update", "1", "--state", "active", "--assignee", ""],
    );
    step("slipway work-items update 1", &["work-items", "update", "1"]);
    step("slipway work-items comment 1 'Seen on main'", &["work-items", "comment", "1", "Seen on main"]);
    step(
        "slipway work-items link 1 --commit 0123456789abcdef",
        &["work-items", "link", "1", "--commit", "0123456789abcdef"],
    );
    step(
        "slipway work-items link 1 --environment production",
        &["work-items", "link", "1", "--environment", "production"],
    );
    step("slipway work-items link 1 --run 99", &["work-items", "link", "1", "--run", "99"]);
    step("slipway work-items link 1", &["work-items", "link", "1"]);
    step("slipway work-items show 1", &["work-items", "show", "1"]);
    step("slipway work-items show 2", &["work-items", "show", "2"]);
    step(
        "slipway work-items resolve 1 --resolution 'Fixed in 0123456'",
        &["work-items", "resolve", "1", "--resolution", "Fixed in 0123456"],
    );
    step("slipway work-items list --open", &["work-items", "list", "--open"]);
    step("slipway work-items list --state done", &["work-items", "list", "--state", "done"]);
    step("slipway work-items show 1", &["work-items", "show", "1"]);
    step("slipway work-items show 99", &["work-items", "show", "99"]);
    insta::assert_snapshot!(transcripts.join("\n"));

    // The JSON listing is the API's.
    let (ok, text) = output(&mut server.admin(&["work-items", "list", "--open", "--format", "json"]));
    assert!(ok, "{text}");
    let page: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{error}: {text}"));
    assert_eq!(page["workItems"][0]["id"], 2);
    assert_eq!(page["workItems"][0]["kind"], "incident");
    assert_eq!(page["workItems"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_pipelines_work_item_rules_from_the_command_line() {
    let server = Server::start();
    crate::support::make_repository(
        &server.dir.join("repo"),
        &[("azure-pipelines.yml", "steps:\n- script: echo hi\n")],
    );
    let (ok, text) = output(&mut server.admin(&["pipelines", "create", "--name", "shop", "--repo", "repo"]));
    assert!(ok, "{text}");
    let mut transcripts = Vec::new();
    let mut step =
        |title: &str, arguments: &[&str]| record(&mut transcripts, &server, title, &mut server.admin(arguments));
    step("slipway work-items rules shop", &["work-items", "rules", "shop"]);
    step(
        "slipway work-items rules shop --branch main --branch 'release/*' --security medium --failures off --assignee admin",
        &[
            "work-items",
            "rules",
            "shop",
            "--branch",
            "main",
            "--branch",
            "release/*",
            "--security",
            "medium",
            "--failures",
            "off",
            "--assignee",
            "admin",
        ],
    );
    step("slipway work-items rules shop --security urgent", &["work-items", "rules", "shop", "--security", "urgent"]);
    step("slipway work-items rules shop --incidents maybe", &["work-items", "rules", "shop", "--incidents", "maybe"]);
    step(
        "slipway work-items rules shop --default-branch --assignee ''",
        &["work-items", "rules", "shop", "--default-branch", "--assignee", ""],
    );
    step("slipway work-items rules nope", &["work-items", "rules", "nope"]);
    insta::assert_snapshot!(transcripts.join("\n"));
}
