//! `slipway team`: the team dashboard (`GET /api/v1/team`) over the last days: each pipeline's
//! health, the flaky tests, queue times per pool and agent use as tables, DORA's figures of each
//! environment in a line; or the API's JSON. The daily series are in the JSON and on the web
//! page (`/team`).

use std::process::ExitCode;

use clap::Args;
use slipway_client::api::team::TeamDashboard;

use super::{Connection, Failure, ListFormat, Session, print_json, print_table};
use crate::output::outln;

/// `slipway team`.
#[derive(Args, Debug)]
pub struct TeamArgs {
    /// The last this many days, 1 to 90 [the server's default: 30].
    #[arg(long, value_name = "N")]
    days: Option<u32>,
    /// Only this pipeline's runs (pipeline health, flaky tests, queue times).
    #[arg(long, value_name = "NAME")]
    pipeline: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
    #[command(flatten)]
    connection: Connection,
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |rate| format!("{:.1}%", rate * 100.0))
}

/// Milliseconds for people: `850ms`, `12s`, `3m 05s`, `2h 03m`; `-` for none.
fn duration(milliseconds: Option<i64>) -> String {
    let Some(milliseconds) = milliseconds else { return "-".to_owned() };
    let seconds = milliseconds / 1000;
    match milliseconds {
        ..1000 => format!("{milliseconds}ms"),
        1000..60_000 => format!("{seconds}s"),
        60_000..3_600_000 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        _ => format!("{}h {:02}m", seconds / 3600, seconds % 3600 / 60),
    }
}

/// Runs `slipway team`.
///
/// # Errors
/// When the server refuses a parameter (it names it and what is allowed) or cannot be reached.
pub fn team(args: TeamArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    let figures = client.team(args.days, args.pipeline.as_deref()).map_err(|error| session.fail(error))?;
    if args.format == ListFormat::Json {
        return print_json(&figures).map(|()| ExitCode::SUCCESS);
    }
    print_text(&figures);
    Ok(ExitCode::SUCCESS)
}

fn print_text(figures: &TeamDashboard) {
    let scope = figures.pipeline.as_deref().map_or_else(String::new, |name| format!(", pipeline {name}"));
    outln!("Pipeline health over the last {} days{scope}:", figures.days);
    let rows: Vec<Vec<String>> = figures
        .pipelines
        .iter()
        .map(|pipeline| {
            vec![
                pipeline.pipeline.clone(),
                pipeline.runs.to_string(),
                pipeline.succeeded.to_string(),
                pipeline.failed.to_string(),
                pipeline.canceled.to_string(),
                percent(pipeline.pass_rate),
                duration(pipeline.median_duration_ms),
                duration(pipeline.p90_duration_ms),
            ]
        })
        .collect();
    print_table(&["PIPELINE", "RUNS", "SUCCEEDED", "FAILED", "CANCELED", "PASS RATE", "MEDIAN", "P90"], &rows);

    outln!("");
    outln!("Flaky tests (failed and passed on the same commit):");
    let rows: Vec<Vec<String>> = figures
        .flaky_tests
        .iter()
        .map(|test| {
            let runs = |ids: &[i64]| ids.iter().map(|id| format!("#{id}")).collect::<Vec<_>>().join(",");
            let name = test.suite.as_ref().map_or_else(|| test.name.clone(), |suite| format!("{suite}.{}", test.name));
            vec![
                name,
                test.pipeline.clone(),
                test.commit.get(..12).unwrap_or(&test.commit).to_owned(),
                runs(&test.failed_runs),
                runs(&test.passed_runs),
                test.count.to_string(),
            ]
        })
        .collect();
    print_table(&["TEST", "PIPELINE", "COMMIT", "FAILED IN", "PASSED IN", "FAILURES"], &rows);

    outln!("");
    outln!("Queue times (queued to started):");
    let rows: Vec<Vec<String>> = figures
        .queues
        .iter()
        .map(|queue| {
            vec![queue.pool.clone(), queue.jobs.to_string(), duration(queue.median_ms), duration(queue.p90_ms)]
        })
        .collect();
    print_table(&["POOL", "JOBS", "MEDIAN", "P90"], &rows);

    outln!("");
    outln!("Agent use:");
    let rows: Vec<Vec<String>> = figures
        .agents
        .iter()
        .map(|agent| {
            vec![
                agent.agent.clone(),
                agent.pool.clone().unwrap_or_else(|| "-".to_owned()),
                agent.jobs.to_string(),
                duration(Some(agent.busy_ms)),
                percent(Some(agent.busy_share)),
            ]
        })
        .collect();
    print_table(&["AGENT", "POOL", "JOBS", "BUSY", "SHARE"], &rows);

    outln!("");
    outln!("DORA:");
    let rows: Vec<Vec<String>> = figures
        .dora
        .iter()
        .map(|metrics| {
            vec![
                metrics.environment.clone(),
                metrics.deployment_frequency.deployments.to_string(),
                duration(metrics.lead_time_for_changes.median_ms),
                percent(metrics.change_failure_rate.rate),
                duration(metrics.failed_deployment_recovery_time.median_ms),
                percent(metrics.deployment_rework_rate.rate),
            ]
        })
        .collect();
    print_table(&["ENVIRONMENT", "DEPLOYMENTS", "LEAD TIME", "FAIL RATE", "RECOVERY", "REWORK"], &rows);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_rates_read_for_people() {
        assert_eq!(
            [None, Some(850), Some(12_500), Some(185_000), Some(7_380_000)].map(duration),
            ["-", "850ms", "12s", "3m 05s", "2h 03m"]
        );
        assert_eq!((percent(Some(2.0 / 3.0)), percent(None)), ("66.7%".to_owned(), "-".to_owned()));
    }
}
