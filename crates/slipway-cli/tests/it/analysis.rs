//! `slipway analysis judge` in retrospective mode: a good canary passes, a slower one fails, a
//! worse non-critical metric is marginal, and bad input is exit status 2 with where it is wrong.

use crate::support::{scratch_directory, slipway, transcript};

fn write(directory: &std::path::Path, name: &str, json: &serde_json::Value) {
    std::fs::write(directory.join(name), serde_json::to_string(json).unwrap_or_default())
        .unwrap_or_else(|error| panic!("{error}"));
}

#[test]
fn retrospective_judgement_of_recorded_series() {
    let directory = scratch_directory("analysis");
    std::fs::create_dir_all(&directory).unwrap_or_else(|error| panic!("{error}"));
    let latency: Vec<f64> = (0..60).map(|index| 100.0 + f64::from(index % 12) * 2.5).collect();
    let errors: Vec<f64> = (0..60).map(|index| f64::from(u8::from(index % 20 == 0))).collect();
    let slower: Vec<f64> = latency.iter().map(|value| value * 1.25).collect();
    write(&directory, "baseline.json", &serde_json::json!({ "latency_ms": latency, "errors": errors, "cpu": latency }));
    write(&directory, "good.json", &serde_json::json!({ "latency_ms": latency, "errors": errors, "cpu": latency }));
    write(&directory, "slow.json", &serde_json::json!({ "latency_ms": slower, "errors": errors, "cpu": latency }));
    write(&directory, "busy.json", &serde_json::json!({ "latency_ms": latency, "errors": errors, "cpu": slower }));
    write(
        &directory,
        "config.json",
        &serde_json::json!({
            "metrics": {
                "latency_ms": { "direction": "increase", "critical": true, "group": "latency" },
                "errors": { "direction": "increase", "group": "errors" },
                "cpu": { "direction": "increase", "group": "resources" }
            },
            "groupWeights": { "latency": 50, "errors": 30 }
        }),
    );
    std::fs::write(directory.join("broken.json"), "{\n  \"latency_ms\": [1, 2,\n}")
        .unwrap_or_else(|error| panic!("{error}"));
    write(&directory, "bad-config.json", &serde_json::json!({ "pass": 70, "marginal": 90 }));
    write(&directory, "long.json", &serde_json::json!({ "latency_ms": vec![1.0; 2_001] }));
    let mut transcripts = Vec::new();
    for (title, arguments) in [
        ("good canary", vec!["--canary", "good.json", "--config", "config.json"]),
        ("slower canary (critical metric)", vec!["--canary", "slow.json", "--config", "config.json"]),
        ("busier canary (a group of 20%)", vec!["--canary", "busy.json", "--config", "config.json"]),
        ("broken series", vec!["--canary", "broken.json"]),
        ("bad configuration", vec!["--canary", "good.json", "--config", "bad-config.json"]),
        ("missing file", vec!["--canary", "nowhere.json"]),
        ("a series too long", vec!["--canary", "long.json"]),
    ] {
        let mut command = slipway(&directory);
        command.args(["analysis", "judge", "--baseline", "baseline.json"]).args(&arguments);
        transcripts.push(format!("$ {title}\n{}", transcript(&mut command)));
    }
    insta::assert_snapshot!(transcripts.join("\n"));
    let output = slipway(&directory)
        .args(["analysis", "judge", "--baseline", "baseline.json", "--canary", "slow.json", "--format", "json"])
        .output()
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(output.status.code(), Some(1));
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    assert_eq!(verdict["outcome"], "fail");
    assert_eq!(verdict["config"]["confidence"], 0.98);
    let _ = std::fs::remove_dir_all(&directory);
}
