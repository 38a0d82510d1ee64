//! `slipway dora`: DORA's metrics as series in GitLab's DORA API shape
//! (`GET /api/v1/dora/metrics`): for each metric asked for (all five by default), a table of
//! dates and values, or the API's JSON (one metric: its `[{"date", "value"}]`; all five: an
//! object of those arrays by metric name).

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use slipway_client::api;

use super::{Connection, Failure, ListFormat, Session, print_json, print_table};
use crate::output::outln;

/// The metrics, by the API's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum MetricArg {
    /// Successful deployments a day (per day over a week, a month or all).
    DeploymentFrequency,
    /// The median time from commit to deployment, in seconds.
    LeadTimeForChanges,
    /// Deployments that failed or needed remediation, as a ratio.
    ChangeFailureRate,
    /// The median failed deployment recovery time, in seconds.
    TimeToRestoreService,
    /// Unplanned deployments (a rollback, a recovery, an incident), as a ratio.
    ReworkRate,
}

impl MetricArg {
    const ALL: [Self; 5] = [
        Self::DeploymentFrequency,
        Self::LeadTimeForChanges,
        Self::ChangeFailureRate,
        Self::TimeToRestoreService,
        Self::ReworkRate,
    ];

    fn name(self) -> &'static str {
        match self {
            Self::DeploymentFrequency => "deployment_frequency",
            Self::LeadTimeForChanges => "lead_time_for_changes",
            Self::ChangeFailureRate => "change_failure_rate",
            Self::TimeToRestoreService => "time_to_restore_service",
            Self::ReworkRate => "rework_rate",
        }
    }
}

/// `slipway dora`.
#[derive(Args, Debug)]
pub struct DoraArgs {
    /// One metric [default: all five].
    #[arg(long, value_enum, value_name = "METRIC")]
    metric: Option<MetricArg>,
    /// `all`, `monthly`, `weekly` or `daily` [the server's default: daily].
    #[arg(long, value_name = "INTERVAL")]
    interval: Option<String>,
    /// One environment [the server's default: every environment whose name says production].
    #[arg(long, value_name = "NAME")]
    environment: Option<String>,
    /// The first day, YYYY-MM-DD (UTC) [the server's default: three months before the end date].
    #[arg(long, value_name = "DATE")]
    start_date: Option<String>,
    /// The last day, included, YYYY-MM-DD (UTC) [the server's default: today].
    #[arg(long, value_name = "DATE")]
    end_date: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
    #[command(flatten)]
    connection: Connection,
}

/// A value for people: deployments as counts or per day, times in seconds with a readable
/// duration, ratios with their percentage; `-` for none.
fn shown(metric: MetricArg, value: Option<f64>) -> String {
    let Some(value) = value else { return "-".to_owned() };
    match metric {
        MetricArg::DeploymentFrequency => {
            if (value - value.round()).abs() < 1e-9 {
                format!("{value:.0}")
            } else {
                format!("{value:.2}")
            }
        }
        MetricArg::LeadTimeForChanges | MetricArg::TimeToRestoreService => {
            let readable = if value < 3600.0 {
                format!("{:.0}m", value / 60.0)
            } else if value < 86_400.0 {
                format!("{:.1}h", value / 3600.0)
            } else {
                format!("{:.1}d", value / 86_400.0)
            };
            format!("{value:.0}s ({readable})")
        }
        MetricArg::ChangeFailureRate | MetricArg::ReworkRate => format!("{value:.3} ({:.1}%)", value * 100.0),
    }
}

/// Runs `slipway dora`.
///
/// # Errors
/// When the server refuses a parameter (it names it and what is allowed) or cannot be reached.
pub fn dora(args: DoraArgs) -> Result<ExitCode, Failure> {
    let session = Session::open(&args.connection)?;
    let client = session.client();
    let metrics: Vec<MetricArg> = args.metric.map_or_else(|| MetricArg::ALL.to_vec(), |metric| vec![metric]);
    let mut answers = Vec::new();
    for metric in &metrics {
        let query = api::DoraSeriesQuery {
            metric: Some(metric.name().to_owned()),
            interval: args.interval.clone(),
            environment: args.environment.clone(),
            start_date: args.start_date.clone(),
            end_date: args.end_date.clone(),
        };
        answers.push((*metric, client.dora_series(&query).map_err(|error| session.fail(error))?));
    }
    if args.format == ListFormat::Json {
        return match &answers[..] {
            [(_, points)] => print_json(points),
            _ => print_json(
                &answers
                    .iter()
                    .map(|(metric, points)| (metric.name(), points))
                    .collect::<std::collections::BTreeMap<_, _>>(),
            ),
        }
        .map(|()| ExitCode::SUCCESS);
    }
    let scope = args.environment.as_deref().map_or_else(
        || "the environments whose name says production".to_owned(),
        |name| format!("the environment {name}"),
    );
    for (index, (metric, points)) in answers.iter().enumerate() {
        if index > 0 {
            outln!("");
        }
        outln!("{} ({}, {scope}):", metric.name(), args.interval.as_deref().unwrap_or("daily"));
        let rows: Vec<Vec<String>> = points
            .iter()
            .map(|point| vec![point.date.clone().unwrap_or_else(|| "all".to_owned()), shown(*metric, point.value)])
            .collect();
        print_table(&["DATE", "VALUE"], &rows);
    }
    Ok(ExitCode::SUCCESS)
}
