//! How many `task:` steps of the shared corpus's entry pipelines Slipway can run with its
//! built-in tasks, before issue 4 (a hard-coded set of script and artifact tasks) and now. Skipped
//! when `shared/corpus/azure-pipelines` is not beside the checkout (`SLIPWAY_SHARED` overrides
//! where `shared/` is). Run with `--nocapture` to see the report.

use std::collections::BTreeMap;

use slipway_azure::{Location, Options, compile};
use slipway_tasks::TaskReference;

#[path = "../../../slipway-azure/tests/shared/corpus.rs"]
mod files;

/// The tasks the runtime ran before issue 4, with the major versions whose inputs it read. It
/// matched the names only, so it also "ran" other versions (`PowerShell@1` as an empty `pwsh`
/// script); those are counted apart, as matched by name.
const BEFORE: &[(&str, &[u32])] = &[
    ("CmdLine", &[2]),
    ("Bash", &[3]),
    ("PowerShell", &[2]),
    ("PublishPipelineArtifact", &[1]),
    ("DownloadPipelineArtifact", &[2]),
    ("PublishBuildArtifacts", &[1]),
    ("DownloadBuildArtifacts", &[0, 1]),
];

/// One distinct task (name and major version, as first spelled) and its steps.
#[derive(Default)]
struct Tally {
    spelling: String,
    steps: usize,
    before: bool,
    before_by_name: bool,
    now: bool,
}

#[test]
fn built_in_tasks_cover_at_least_what_was_covered_before() {
    let shared = std::env::var_os("SLIPWAY_SHARED")
        .map_or_else(|| crate::support::workspace().join("../shared"), std::path::PathBuf::from);
    let found = files::repositories(&shared.join("corpus/azure-pipelines"));
    let needed = found.as_ref().map(|_| ()).ok_or_else(|| "shared/corpus/azure-pipelines is not there".to_owned());
    if !slipway_testing::needed_or_skip("built_in_tasks_cover_at_least_what_was_covered_before", "CORPUS", needed) {
        return;
    }
    let Some(repositories) = found else { return };
    let mut tasks: BTreeMap<String, Tally> = BTreeMap::new();
    let (mut pipelines, mut compiled) = (0, 0);
    for (repository, entries) in &repositories {
        for path in entries {
            pipelines += 1;
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                compile(&Location::local(path.clone()), repository, &Options::default())
            }));
            let Some(plan) = result.ok().and_then(|compiled| compiled.plan) else { continue };
            compiled += 1;
            for step in slipway_runtime::tasks::task_steps(&plan) {
                let reference = step.reference();
                let key = format!(
                    "{}@{}",
                    reference.name.to_lowercase(),
                    reference.major.map_or_else(String::new, |major| major.to_string())
                );
                let tally = tasks.entry(key).or_insert_with(|| Tally {
                    spelling: reference.to_string(),
                    before: BEFORE.iter().any(|(name, majors)| {
                        name.eq_ignore_ascii_case(&reference.name)
                            && reference.major.is_some_and(|major| majors.contains(&major))
                    }),
                    before_by_name: BEFORE.iter().any(|(name, _)| name.eq_ignore_ascii_case(&reference.name)),
                    now: slipway_tasks::builtin::find(&TaskReference::new(step.name, step.version)).is_some(),
                    ..Tally::default()
                });
                tally.steps += 1;
            }
        }
    }
    let steps: usize = tasks.values().map(|tally| tally.steps).sum();
    let count = |covered: fn(&Tally) -> bool| {
        let distinct = tasks.values().filter(|tally| covered(tally)).count();
        let steps: usize = tasks.values().filter(|tally| covered(tally)).map(|tally| tally.steps).sum();
        (distinct, steps)
    };
    let before = count(|tally| tally.before);
    let before_by_name = count(|tally| tally.before_by_name);
    let now = count(|tally| tally.now);
    let percent = |part: usize, whole: usize| if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 };
    println!("task coverage over {compiled} of {pipelines} entry pipelines that compiled to a plan:");
    println!("  {} distinct tasks (name@major), {steps} task steps", tasks.len());
    println!(
        "  before issue 4: {} distinct tasks ({:.1}%), {} steps ({:.1}%)",
        before.0,
        percent(before.0, tasks.len()),
        before.1,
        percent(before.1, steps)
    );
    println!(
        "  (before, matching names at any version: {} distinct tasks, {} steps)",
        before_by_name.0, before_by_name.1
    );
    println!(
        "  now (built in):  {} distinct tasks ({:.1}%), {} steps ({:.1}%)",
        now.0,
        percent(now.0, tasks.len()),
        now.1,
        percent(now.1, steps)
    );
    let mut uncovered: Vec<&Tally> = tasks.values().filter(|tally| !tally.now).collect();
    uncovered.sort_by(|left, right| right.steps.cmp(&left.steps).then_with(|| left.spelling.cmp(&right.spelling)));
    println!("  top uncovered tasks by steps:");
    for tally in uncovered.iter().take(15) {
        println!("    {:>4}  {}", tally.steps, tally.spelling);
    }
    assert!(now.0 >= before.0 && now.1 >= before.1, "built-in tasks cover less than before issue 4");
}
