//! The run's stage and job graph as inline SVG: stages as columns (by how deep they are in the
//! `dependsOn` graph), each stage a frame holding its jobs as boxes coloured by status (one box
//! per matrix or parallel leg), and curves for the dependencies between stages and between jobs.

use std::collections::HashMap;
use std::fmt::Write as _;

use maud::{Markup, PreEscaped};
use slipway_store::{Job, RunId};

use super::log::escape;
use super::{job_label, url_encode};

const BOX_WIDTH: i64 = 190;
const BOX_HEIGHT: i64 = 40;
const BOX_GAP: i64 = 10;
const JOB_COLUMN_GAP: i64 = 34;
const STAGE_PADDING: i64 = 12;
const STAGE_TITLE: i64 = 26;
const STAGE_GAP: i64 = 20;
const COLUMN_GAP: i64 = 56;
const MARGIN: i64 = 8;
/// How many characters of a name fit in a box.
const NAME_FIT: usize = 24;

/// A job of the plan, for the graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct GraphJob {
    name: String,
    display_name: String,
    depends_on: Vec<String>,
}

/// A stage of the plan, for the graph.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct GraphStage {
    name: String,
    display_name: String,
    depends_on: Vec<String>,
    jobs: Vec<GraphJob>,
}

/// The shape of a run's graph: what the plan says, kept small so that a live page need not read
/// the plan again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct GraphPlan {
    stages: Vec<GraphStage>,
}

impl GraphPlan {
    /// The graph's shape from a plan.
    #[must_use]
    pub(crate) fn from_plan(plan: &slipway_plan::Plan) -> Self {
        let stages = plan
            .stages
            .iter()
            .map(|stage| GraphStage {
                name: stage.name.clone(),
                display_name: stage.display_name.clone().unwrap_or_else(|| stage.name.clone()),
                depends_on: stage.depends_on.clone(),
                jobs: stage
                    .jobs
                    .iter()
                    .map(|job| GraphJob {
                        name: job.name.clone(),
                        display_name: job.display_name.clone().unwrap_or_else(|| job.name.clone()),
                        depends_on: job.depends_on.clone(),
                    })
                    .collect(),
            })
            .collect();
        Self { stages }
    }
}

/// How deep each item is: 0 without dependencies, else one more than its deepest dependency.
/// Unknown names and cycles are ignored.
fn levels<'a>(items: impl Iterator<Item = (&'a str, &'a [String])> + Clone) -> Vec<usize> {
    let names: Vec<&str> = items.clone().map(|(name, _)| name).collect();
    let dependencies: Vec<Vec<usize>> = items
        .map(|(_, depends_on)| {
            depends_on.iter().filter_map(|dependency| names.iter().position(|name| name == dependency)).collect()
        })
        .collect();
    let mut levels = vec![0; names.len()];
    // At most as many passes as items: longer chains would be cycles.
    for _ in 0..names.len() {
        let mut changed = false;
        for (index, depends) in dependencies.iter().enumerate() {
            let level = depends.iter().map(|dependency| levels[*dependency] + 1).max().unwrap_or(0);
            if level > levels[index] && level <= names.len() {
                levels[index] = level;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    levels
}

/// A box placed on the drawing.
#[derive(Clone, Copy, Debug)]
struct Rect {
    x: i64,
    y: i64,
    width: i64,
    height: i64,
}

impl Rect {
    fn right_middle(self) -> (i64, i64) {
        (self.x + self.width, self.y + self.height / 2)
    }

    fn left_middle(self) -> (i64, i64) {
        (self.x, self.y + self.height / 2)
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= NAME_FIT {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(NAME_FIT - 1).collect();
        short.push('…');
        short
    }
}

fn curve(out: &mut String, class: &str, from: (i64, i64), to: (i64, i64)) {
    let middle = (from.0 + to.0) / 2;
    let _ = write!(
        out,
        "<path class=\"{class}\" d=\"M{} {} C{middle} {} {middle} {} {} {}\"/>",
        from.0, from.1, from.1, to.1, to.0, to.1
    );
}

/// A stage laid out: its frame and, per plan job, the boxes of its legs.
struct PlacedStage {
    frame: Rect,
    jobs: Vec<Vec<(Rect, Option<usize>)>>,
}

/// The SVG of the graph, with `jobs` (the run's stored jobs) giving each box its status. Each
/// box links to the run page showing that job's log; the `selected` one is outlined. Jobs with
/// no record yet are "not started", or "not run" once the run has `finished`.
#[must_use]
pub(crate) fn svg(plan: &GraphPlan, jobs: &[Job], run: RunId, finished: bool, selected: Option<&str>) -> Markup {
    if plan.stages.is_empty() {
        return PreEscaped("<p class=\"muted\">This run has no plan to draw.</p>".to_owned());
    }
    let implicit = plan.stages.len() == 1 && plan.stages[0].name == "__default";
    let title_height = if implicit { 0 } else { STAGE_TITLE };
    let stage_levels = levels(plan.stages.iter().map(|stage| (stage.name.as_str(), stage.depends_on.as_slice())));

    // Lay out each stage on its own, then place the stages in their columns.
    let mut placed: Vec<PlacedStage> = Vec::new();
    for stage in &plan.stages {
        let job_levels = levels(stage.jobs.iter().map(|job| (job.name.as_str(), job.depends_on.as_slice())));
        let columns = job_levels.iter().max().map_or(1, |level| level + 1);
        let mut column_heights = vec![0_i64; columns];
        let mut boxes = Vec::new();
        for (job, level) in stage.jobs.iter().zip(&job_levels) {
            let key = slipway_plan::job_key(&stage.name, &job.name, None);
            let legs: Vec<usize> = jobs
                .iter()
                .enumerate()
                .filter(|(_, stored)| slipway_plan::is_key_of_job(&stored.key, &key))
                .map(|(index, _)| index)
                .collect();
            let legs: Vec<Option<usize>> =
                if legs.is_empty() { vec![None] } else { legs.into_iter().map(Some).collect() };
            let x = STAGE_PADDING + i64::try_from(*level).unwrap_or(0) * (BOX_WIDTH + JOB_COLUMN_GAP);
            let mut job_boxes = Vec::new();
            for leg in legs {
                let y = title_height + STAGE_PADDING + column_heights[*level];
                column_heights[*level] += BOX_HEIGHT + BOX_GAP;
                job_boxes.push((Rect { x, y, width: BOX_WIDTH, height: BOX_HEIGHT }, leg));
            }
            boxes.push(job_boxes);
        }
        let columns = i64::try_from(columns).unwrap_or(1);
        let width = 2 * STAGE_PADDING + columns * BOX_WIDTH + (columns - 1) * JOB_COLUMN_GAP;
        let tallest = column_heights.iter().copied().max().unwrap_or(0).max(BOX_HEIGHT + BOX_GAP) - BOX_GAP;
        let height = title_height + 2 * STAGE_PADDING + tallest;
        placed.push(PlacedStage { frame: Rect { x: 0, y: 0, width, height }, jobs: boxes });
    }
    let column_count = stage_levels.iter().max().map_or(1, |level| level + 1);
    let mut column_x = Vec::with_capacity(column_count);
    let mut x = MARGIN;
    for column in 0..column_count {
        column_x.push(x);
        let widest = stage_levels
            .iter()
            .zip(&placed)
            .filter(|(level, _)| **level == column)
            .map(|(_, stage)| stage.frame.width)
            .max()
            .unwrap_or(0);
        x += widest + COLUMN_GAP;
    }
    let mut column_y = vec![MARGIN; column_count];
    for (stage, level) in placed.iter_mut().zip(&stage_levels) {
        let (dx, dy) = (column_x[*level], column_y[*level]);
        column_y[*level] += stage.frame.height + STAGE_GAP;
        stage.frame.x += dx;
        stage.frame.y += dy;
        for job in &mut stage.jobs {
            for (rect, _) in job.iter_mut() {
                rect.x += dx;
                rect.y += dy;
            }
        }
    }
    let width = x - COLUMN_GAP + MARGIN;
    let height = column_y.iter().copied().max().unwrap_or(MARGIN) - STAGE_GAP + MARGIN;

    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"graph\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"Stages and jobs\">"
    );
    // Stage frames first, then the edges, then the job boxes over them.
    if !implicit {
        for (stage, placed_stage) in plan.stages.iter().zip(&placed) {
            let statuses: Vec<&Job> =
                placed_stage.jobs.iter().flatten().filter_map(|(_, leg)| leg.map(|index| &jobs[index])).collect();
            let stage_class = stage_state(&statuses, stage.jobs.len());
            let frame = placed_stage.frame;
            let _ = write!(
                out,
                "<g class=\"stage {stage_class}\"><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\"/><text class=\"stage-title\" x=\"{}\" y=\"{}\">{}</text></g>",
                frame.x,
                frame.y,
                frame.width,
                frame.height,
                frame.x + STAGE_PADDING,
                frame.y + 18,
                escape(&shorten(&stage.display_name)),
            );
        }
    }
    let stage_index: HashMap<&str, usize> =
        plan.stages.iter().enumerate().map(|(index, stage)| (stage.name.as_str(), index)).collect();
    for (stage, placed_stage) in plan.stages.iter().zip(&placed) {
        for dependency in &stage.depends_on {
            if let Some(from) = stage_index.get(dependency.as_str()).map(|index| placed[*index].frame) {
                curve(&mut out, "edge stage-edge", from.right_middle(), placed_stage.frame.left_middle());
            }
        }
        for (job, boxes) in stage.jobs.iter().zip(&placed_stage.jobs) {
            for dependency in &job.depends_on {
                let Some(index) = stage.jobs.iter().position(|other| &other.name == dependency) else { continue };
                let (Some((from, _)), Some((to, _))) = (placed_stage.jobs[index].last(), boxes.first()) else {
                    continue;
                };
                curve(&mut out, "edge", from.right_middle(), to.left_middle());
            }
        }
    }
    let unstarted = if finished { ("s-skip", "not run") } else { ("s-wait", "not started") };
    for (stage, placed_stage) in plan.stages.iter().zip(&placed) {
        for (job, boxes) in stage.jobs.iter().zip(&placed_stage.jobs) {
            for (rect, leg) in boxes {
                let stored = leg.map(|index| &jobs[index]);
                let (class, word) = stored.map_or(unstarted, |stored| job_label(stored.status, stored.result));
                let name = stored.map_or(job.display_name.as_str(), |stored| stored.display_name.as_str());
                let key = stored.map(|stored| stored.key.as_str());
                let chosen = if key.is_some() && key == selected { " selected" } else { "" };
                if let Some(key) = key {
                    let _ = write!(out, "<a href=\"/runs/{run}?job={}\">", escape(&url_encode(key)));
                }
                let _ = write!(
                    out,
                    "<g class=\"job {class}{chosen}\" data-key=\"{}\"><title>{} — {word}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\"/><circle cx=\"{}\" cy=\"{}\" r=\"6\"/><text x=\"{}\" y=\"{}\">{}</text><text class=\"job-state\" x=\"{}\" y=\"{}\">{word}</text></g>",
                    escape(key.unwrap_or_default()),
                    escape(name),
                    rect.x,
                    rect.y,
                    rect.width,
                    rect.height,
                    rect.x + 14,
                    rect.y + rect.height / 2,
                    rect.x + 28,
                    rect.y + 17,
                    escape(&shorten(name)),
                    rect.x + 28,
                    rect.y + 32,
                );
                if key.is_some() {
                    out.push_str("</a>");
                }
            }
        }
    }
    out.push_str("</svg>");
    PreEscaped(out)
}

/// The class of a stage from its jobs: failed or running if one is, succeeded when all are done.
fn stage_state(jobs: &[&Job], planned: usize) -> &'static str {
    let labels: Vec<&str> = jobs.iter().map(|job| job_label(job.status, job.result).0).collect();
    if labels.contains(&"s-fail") {
        "s-fail"
    } else if labels.contains(&"s-run") {
        "s-run"
    } else if labels.contains(&"s-cancel") {
        "s-cancel"
    } else if jobs.len() >= planned
        && !labels.is_empty()
        && labels.iter().all(|label| *label == "s-ok" || *label == "s-warn" || *label == "s-skip")
    {
        if labels.iter().all(|label| *label == "s-skip") { "s-skip" } else { "s-ok" }
    } else {
        "s-wait"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(name: &str, depends_on: &[&str], jobs: &[(&str, &[&str])]) -> GraphStage {
        GraphStage {
            name: name.to_owned(),
            display_name: format!("<{name}>"),
            depends_on: depends_on.iter().map(|dependency| (*dependency).to_owned()).collect(),
            jobs: jobs
                .iter()
                .map(|(job, depends_on)| GraphJob {
                    name: (*job).to_owned(),
                    display_name: (*job).to_owned(),
                    depends_on: depends_on.iter().map(|dependency| (*dependency).to_owned()).collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn levels_follow_dependencies_and_survive_cycles() {
        let deps: Vec<(String, Vec<String>)> = vec![
            ("a".into(), vec![]),
            ("b".into(), vec!["a".into()]),
            ("c".into(), vec!["a".into(), "b".into()]),
            ("d".into(), vec!["missing".into()]),
        ];
        assert_eq!(levels(deps.iter().map(|(name, depends)| (name.as_str(), depends.as_slice()))), [0, 1, 2, 0]);
        let cycle: Vec<(String, Vec<String>)> = vec![("x".into(), vec!["y".into()]), ("y".into(), vec!["x".into()])];
        let found = levels(cycle.iter().map(|(name, depends)| (name.as_str(), depends.as_slice())));
        assert!(found.iter().all(|level| *level <= 2));
    }

    #[test]
    fn stages_are_columns_with_escaped_names_and_edges() {
        let plan = GraphPlan {
            stages: vec![
                stage("Build", &[], &[("compile", &[]), ("lint", &[])]),
                stage("Test", &["Build"], &[("unit", &[]), ("report", &["unit"])]),
            ],
        };
        let drawn = svg(&plan, &[], RunId(7), false, None).into_string();
        let finished = svg(&plan, &[], RunId(7), true, None).into_string();
        assert_eq!(finished.matches("class=\"job s-skip\"").count(), 4);
        assert!(drawn.starts_with("<svg class=\"graph\""));
        assert!(drawn.contains("&lt;Build&gt;") && !drawn.contains("<Build>"), "{drawn}");
        assert_eq!(drawn.matches("class=\"edge stage-edge\"").count(), 1);
        assert_eq!(drawn.matches("<path class=\"edge\"").count(), 1);
        assert_eq!(drawn.matches("class=\"job s-wait\"").count(), 4);
        assert!(drawn.contains("not started"));
    }
}
