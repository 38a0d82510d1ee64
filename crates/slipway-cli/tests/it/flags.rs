//! `slipway flags ...` against a real `slipway serve`: a flagd file imported (and one with
//! mistakes refused, each named), the flags listed, one flag's default variant and state set,
//! and flags evaluated for a context as an application asks over OFREP.

use std::process::Command;

use crate::support::Server;

const FLAGS: &str = r#"{
  "$schema": "https://flagd.dev/schema/v0/flags.json",
  "flags": {
    "new-checkout": {
      "state": "ENABLED",
      "variants": {"on": true, "off": false},
      "defaultVariant": "off",
      "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]}, "on", null]}
    },
    "banner-color": {
      "state": "ENABLED",
      "variants": {"red": "\#f00", "blue": "\#00f"},
      "defaultVariant": "red"
    }
  }
}"#;

const WRONG: &str = r#"{"flags": {"a": {"state": "ON", "variants": {"x": true}, "defaultVariant": "y"}}}"#;

fn record(transcripts: &mut Vec<String>, server: &Server, title: &str, command: &mut Command) {
    server.record(transcripts, title, command, &[]);
}

#[test]
fn flags_from_the_command_line() {
    let server = Server::start();
    std::fs::write(server.dir.join("flags.json"), FLAGS.replace("\\#", "#")).unwrap_or_else(|error| panic!("{error}"));
    std::fs::write(server.dir.join("wrong.json"), WRONG).unwrap_or_else(|error| panic!("{error}"));
    let mut transcripts = Vec::new();
    let mut step =
        |title: &str, arguments: &[&str]| record(&mut transcripts, &server, title, &mut server.admin(arguments));
    step("slipway environments create production", &["environments", "create", "production"]);
    step("slipway flags list production", &["flags", "list", "production"]);
    step("slipway flags import production wrong.json", &["flags", "import", "production", "wrong.json"]);
    step("slipway flags import production flags.json", &["flags", "import", "production", "flags.json"]);
    step("slipway flags list production", &["flags", "list", "production"]);
    step(
        "slipway flags eval production new-checkout --context ...ann@example.com",
        &[
            "flags",
            "eval",
            "production",
            "new-checkout",
            "--context",
            r#"{"targetingKey": "u1", "email": "ann@example.com"}"#,
        ],
    );
    step("slipway flags eval production new-checkout", &["flags", "eval", "production", "new-checkout"]);
    step(
        "slipway flags set production banner-color --variant blue",
        &["flags", "set", "production", "banner-color", "--variant", "blue"],
    );
    step(
        "slipway flags set production banner-color --variant green",
        &["flags", "set", "production", "banner-color", "--variant", "green"],
    );
    step(
        "slipway flags set production new-checkout --state disabled",
        &["flags", "set", "production", "new-checkout", "--state", "disabled"],
    );
    step(
        "slipway flags set production new-checkout --state enabled --revision 1",
        &["flags", "set", "production", "new-checkout", "--state", "enabled", "--revision", "1"],
    );
    step("slipway flags eval production new-checkout", &["flags", "eval", "production", "new-checkout"]);
    step("slipway flags eval production banner-color", &["flags", "eval", "production", "banner-color"]);
    step("slipway flags eval production nope", &["flags", "eval", "production", "nope"]);
    step("slipway flags set production banner-color", &["flags", "set", "production", "banner-color"]);
    step("slipway flags list production", &["flags", "list", "production"]);
    insta::assert_snapshot!(transcripts.join("\n"));
}
