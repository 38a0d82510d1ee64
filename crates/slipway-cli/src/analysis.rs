//! `slipway analysis show ID` and `slipway analysis decide ID --pass|--fail`: the server's
//! analysis runs, and a person's decision on an inconclusive one.
//!
//! `slipway analysis judge`: the statistical judge of canary analysis in retrospective mode
//! (Kayenta's way to tune a configuration quickly) over recorded series: `--baseline FILE` and
//! `--canary FILE`, each JSON `{"metric": [numbers, ...], ...}`, and `--config FILE` with each
//! metric's direction, criticality and group, the groups' weights and the thresholds. Exit status
//! 0 pass, 1 fail, 3 marginal, 2 bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use slipway_delivery::judge::{self, Classification, JudgeConfig, Outcome, Verdict};

use crate::output::outln;

/// `slipway analysis`.
#[derive(Args, Debug)]
pub struct AnalysisArgs {
    #[command(subcommand)]
    command: AnalysisCommand,
}

#[derive(Subcommand, Debug)]
enum AnalysisCommand {
    /// Judge a canary's recorded metrics against its baseline's (Mann-Whitney U at 98%, a
    /// Hodges-Lehmann tolerance band, weighted groups): exit 0 pass, 1 fail, 3 marginal, 2 bad input.
    Judge {
        /// The baseline's series: JSON `{"metric": [numbers, ...]}`.
        #[arg(long, value_name = "FILE")]
        baseline: PathBuf,
        /// The canary's series, in the same form.
        #[arg(long, value_name = "FILE")]
        canary: PathBuf,
        /// The judge's configuration: JSON `{"metrics": {"NAME": {"direction": "increase" |
        /// "decrease" | "either", "critical": bool, "mustHaveData": bool, "group": "..."}},
        /// "groupWeights": {"GROUP": N}, "pass": 95, "marginal": 75, "confidence": 0.98,
        /// "tolerance": 0.25}` (every field optional).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show an analysis run of the server with its measurements.
    Show {
        #[command(flatten)]
        connection: crate::client_commands::Connection,
        /// The run's id (the analysis step's log names it).
        id: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Decide an inconclusive analysis run (the deployment waiting on it goes on, or rolls back).
    Decide {
        #[command(flatten)]
        connection: crate::client_commands::Connection,
        /// The run's id.
        id: i64,
        /// It passes.
        #[arg(long, conflicts_with = "fail", required_unless_present = "fail")]
        pass: bool,
        /// It fails.
        #[arg(long)]
        fail: bool,
        /// Why, for the run's message and the audit log.
        #[arg(long, value_name = "TEXT")]
        comment: Option<String>,
    },
}

/// Prints an analysis run for people.
fn print_run(run: &slipway_events::delivery::AnalysisState) {
    outln!("Analysis run {}: {}", run.id, run.phase);
    if let Some(message) = &run.message {
        outln!("  {message}");
    }
    for metric in &run.metrics {
        outln!("  {} {}", metric.name, metric.phase);
        for measurement in &metric.measurements {
            let value = measurement.value.as_ref().map_or_else(
                || "no value".to_owned(),
                |value| {
                    // A judge's verdict is long: its score says it.
                    value.get("score").map_or_else(|| value.to_string(), |score| format!("score {score}"))
                },
            );
            let message = measurement.message.as_deref().map(|message| format!(": {message}")).unwrap_or_default();
            outln!("    {} {value}{message}", measurement.phase);
        }
    }
}

fn server_command(
    connection: &crate::client_commands::Connection,
    ask: impl FnOnce(
        &slipway_client::Client,
    ) -> Result<slipway_events::delivery::AnalysisState, slipway_client::ClientError>,
    format: Format,
) -> Result<ExitCode, crate::client_commands::Failure> {
    let session = crate::client_commands::Session::open(connection)?;
    let run = ask(session.client()).map_err(|error| session.fail(error))?;
    if format == Format::Json {
        return crate::client_commands::print_json(&run).map(|()| ExitCode::SUCCESS);
    }
    print_run(&run);
    Ok(ExitCode::SUCCESS)
}

/// How the verdict is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people.
    Text,
    /// The verdict as JSON.
    Json,
}

/// Reads a JSON file, or says where it is wrong.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("{}: cannot read the {what}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| {
        format!("{}:{}:{}: the {what} is not what is expected: {error}", path.display(), error.line(), error.column())
    })
}

fn series(path: &Path, what: &str) -> Result<BTreeMap<String, Vec<f64>>, String> {
    let parsed: BTreeMap<String, Vec<Option<f64>>> = read_json(path, what).map_err(|error| {
        if error.contains("cannot read") {
            error
        } else {
            format!(
                "{error}\n  (write it as {{\"metric name\": [numbers, ...], ...}}; null stands for a missing value)"
            )
        }
    })?;
    if let Some((name, values)) = parsed.iter().find(|(_, values)| values.len() > judge::MAX_SAMPLES) {
        return Err(format!(
            "{}: series '{name}' of the {what} has {} values; the judge takes at most {} per series (aggregate them into fewer intervals)",
            path.display(),
            values.len(),
            judge::MAX_SAMPLES
        ));
    }
    Ok(parsed
        .into_iter()
        .map(|(name, values)| (name, values.into_iter().map(|value| value.unwrap_or(f64::NAN)).collect()))
        .collect())
}

fn label(classification: Classification) -> &'static str {
    match classification {
        Classification::Pass => "pass",
        Classification::High => "high",
        Classification::Low => "low",
        Classification::NoData => "no data",
    }
}

fn print_text(verdict: &Verdict) {
    let outcome = match verdict.outcome {
        Outcome::Pass => "PASS",
        Outcome::Marginal => "MARGINAL",
        Outcome::Fail => "FAIL",
    };
    outln!(
        "{outcome}: score {:.1} (pass at {}, fail below {})",
        verdict.score,
        verdict.config.pass,
        verdict.config.marginal
    );
    outln!(
        "judge: Mann-Whitney U at {}% confidence, tolerance {} x |Hodges-Lehmann estimate|, outliers beyond 3 IQR removed",
        verdict.config.confidence * 100.0,
        verdict.config.tolerance
    );
    for (group, score) in &verdict.groups {
        outln!("group {group}: {score:.1}");
    }
    for metric in &verdict.metrics {
        let mut line = format!(
            "  {:<24} {:<8} {}{}",
            metric.name,
            label(metric.classification),
            if metric.failed { "FAILS" } else { "ok" },
            if metric.critical { " (critical)" } else { "" }
        );
        if let (Some(estimate), Some((lower, upper))) = (metric.estimate, metric.interval) {
            line.push_str(&format!(" shift {estimate:+.4} in [{lower:+.4}, {upper:+.4}]"));
        }
        if let Some(ratio) = metric.ratio {
            line.push_str(&format!(", means ratio {ratio:.3}"));
        }
        line.push_str(&format!(", samples {}/{}", metric.samples.0, metric.samples.1));
        outln!("{line}");
    }
}

/// `slipway analysis ...`.
pub fn analysis_command(args: AnalysisArgs) -> ExitCode {
    match args.command {
        AnalysisCommand::Show { connection, id, format } => {
            crate::client_commands::finish(server_command(&connection, |client| client.analysis_run(id), format))
        }
        AnalysisCommand::Decide { connection, id, pass, fail: _, comment } => crate::client_commands::finish(
            server_command(&connection, |client| client.decide_analysis(id, pass, comment.as_deref()), Format::Text),
        ),
        AnalysisCommand::Judge { baseline, canary, config, format } => {
            let loaded = (|| -> Result<_, String> {
                let settings: JudgeConfig = match &config {
                    Some(path) => {
                        let settings: JudgeConfig = read_json(path, "judge configuration")?;
                        settings.validate().map_err(|error| format!("{}: {error}", path.display()))?;
                        settings
                    }
                    None => JudgeConfig::default(),
                };
                Ok((series(&baseline, "baseline")?, series(&canary, "canary")?, settings))
            })();
            let (baseline, canary, config) = match loaded {
                Ok(loaded) => loaded,
                Err(error) => {
                    eprintln!("error: {error}");
                    return ExitCode::from(2);
                }
            };
            if baseline.is_empty() && canary.is_empty() {
                eprintln!("error: the baseline and the canary hold no metric; give at least one series");
                return ExitCode::from(2);
            }
            let verdict = judge::judge(&baseline, &canary, &config);
            match format {
                Format::Text => print_text(&verdict),
                Format::Json => match serde_json::to_string_pretty(&verdict) {
                    Ok(text) => outln!("{text}"),
                    Err(error) => {
                        eprintln!("error: {error}");
                        return ExitCode::from(2);
                    }
                },
            }
            ExitCode::from(match verdict.outcome {
                Outcome::Pass => 0,
                Outcome::Fail => 1,
                Outcome::Marginal => 3,
            })
        }
    }
}
