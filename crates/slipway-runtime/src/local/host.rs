//! `task:` steps on the local executor: the task is resolved (a task folder first, then the
//! built-in tasks), the step's inputs (macros expanded) are checked against the task's inputs
//! with the agent's messages, and the task runs against a [`TaskHost`] that is this job: its
//! variables, its log (masked), its artifact store, its processes (in their own process groups,
//! output processed like a script's, stopped by timeouts and cancels) and its post-job steps.

use std::path::{Path, PathBuf};
use std::time::Instant;

use slipway_events::{Event, LogKind, Severity, Stream, TaskResult, now_ms};
use slipway_plan::{Action, Step};
use slipway_tasks::{
    CommandLine, HostError, Inputs, Outcome, PostJob, Resolved, SetVariable, SlotProcess, StartedProcess, TaskHost,
    TaskReference,
};

use super::{Attempt, JobRunner, ProcessRun, StepStop};
use crate::process::{Exit, ProcessSpec, StopReason, StopSignal};

pub(super) use crate::tasks::UNKNOWN_TASK_CODE;

/// The job as the task of one step sees it.
struct StepHost<'r, 'a> {
    runner: &'r mut JobRunner<'a>,
    step: &'r Step,
    number: u32,
    output_prefix: Option<&'r str>,
    /// The task's name, as resolved (`PublishBuildArtifacts` adds to an artifact instead of
    /// creating it).
    task: String,
    step_deadline: Option<Instant>,
    stderr_lines: usize,
    completed: Option<(TaskResult, String)>,
    stopped: Option<StopReason>,
    exit_code: Option<i32>,
}

impl<'r, 'a> StepHost<'r, 'a> {
    fn new(
        runner: &'r mut JobRunner<'a>,
        step: &'r Step,
        number: u32,
        output_prefix: Option<&'r str>,
        task: &str,
    ) -> Self {
        let step_deadline = runner.step_deadline(step);
        Self {
            runner,
            step,
            number,
            output_prefix,
            task: task.to_owned(),
            step_deadline,
            stderr_lines: 0,
            completed: None,
            stopped: None,
            exit_code: None,
        }
    }

    fn stop_signal(&self) -> StepStop<'a> {
        StepStop {
            cancel: self.runner.cancel,
            step_deadline: self.step_deadline,
            job_deadline: self.runner.job_deadline,
            cancel_deadline: self.runner.cancel_deadline,
            job_canceled: self.runner.canceled.is_some(),
        }
    }

    /// The step's attempt, from the task's outcome and what its processes did. A task that
    /// writes to standard error fails when `fail_on_stderr` names the message to fail with.
    fn conclude(self, outcome: Outcome, fail_on_stderr: Option<String>) -> Attempt {
        let Self { runner, number, stopped, completed, exit_code, stderr_lines, .. } = self;
        match stopped {
            Some(StopReason::TimedOut) => return runner.fail(number, "The task has timed out."),
            Some(StopReason::Canceled) => return runner.canceled_attempt(number),
            None => {}
        }
        let mut attempt = match outcome {
            Outcome::Succeeded => Attempt { result: TaskResult::Succeeded, exit_code, message: None },
            Outcome::SucceededWithIssues(message) => {
                runner.issue(Some(number), Severity::Warning, &message);
                Attempt { result: TaskResult::SucceededWithIssues, exit_code, message: Some(message) }
            }
            Outcome::Failed(message) => {
                runner.issue(Some(number), Severity::Error, &message);
                Attempt { result: TaskResult::Failed, exit_code, message: Some(message) }
            }
        };
        if let Some(message) = fail_on_stderr
            && stderr_lines > 0
            && attempt.result == TaskResult::Succeeded
        {
            attempt = runner.fail(number, &message);
            attempt.exit_code = exit_code;
        }
        if let Some((result, message)) = completed
            && result > attempt.result
        {
            attempt.result = result;
            if !message.is_empty() {
                attempt.message = Some(message);
            }
        }
        attempt
    }
}

/// Finds `program` in the `PATH` of an environment, unless it is a path already.
fn find_program(program: &str, environment: &[(String, String)]) -> Option<PathBuf> {
    if program.contains('/') {
        let path = PathBuf::from(program);
        return path.is_file().then_some(path);
    }
    let path = environment.iter().find(|(name, _)| name == "PATH").map(|(_, value)| value.as_str()).unwrap_or_default();
    std::env::split_paths(path).map(|directory| directory.join(program)).find(|candidate| candidate.is_file())
}

impl TaskHost for StepHost<'_, '_> {
    fn variable(&self, name: &str) -> Option<String> {
        match self.runner.variables.value(name) {
            Some(value) => Some(value.to_owned()),
            // `PATH` is the job's: with the directories steps prepended (`task.prependpath`).
            None if name == "PATH" => {
                self.runner.environment(self.step).into_iter().find(|(key, _)| key == "PATH").map(|(_, value)| value)
            }
            None => None,
        }
    }

    fn set_variable(&mut self, name: &str, value: &str, options: SetVariable) {
        self.runner.set_step_variable(self.number, self.step, self.output_prefix, name, value, options);
    }

    fn working_directory(&self) -> PathBuf {
        PathBuf::from(self.runner.variables.value("System.DefaultWorkingDirectory").unwrap_or("."))
    }

    fn log(&mut self, line: &str) {
        self.runner.events.emit(Event::Log {
            time: now_ms(),
            job: Some(self.runner.job_id()),
            step: Some(self.number),
            stream: Stream::Stdout,
            kind: LogKind::Output,
            text: self.runner.request.run.masker.mask(line),
        });
    }

    fn warning(&mut self, message: &str) {
        self.runner.issue(Some(self.number), Severity::Warning, message);
    }

    fn error(&mut self, message: &str) {
        self.runner.issue(Some(self.number), Severity::Error, message);
    }

    fn prepend_path(&mut self, directory: &Path) {
        self.runner.path_prepend.insert(0, directory.display().to_string());
    }

    fn run(&mut self, command: &CommandLine) -> Result<i32, HostError> {
        let mut environment = self.runner.environment(self.step);
        for (name, value) in &command.environment {
            match environment.iter_mut().find(|(existing, _)| existing == name) {
                Some(entry) => entry.1.clone_from(value),
                None => environment.push((name.clone(), value.clone())),
            }
        }
        let Some(program) = find_program(&command.program, &environment) else {
            return Err(HostError::ProgramNotFound(command.program.clone()));
        };
        let cwd = command.working_directory.clone().unwrap_or_else(|| self.working_directory());
        if !cwd.is_dir() {
            return Err(HostError::NoWorkingDirectory(cwd));
        }
        let shown = CommandLine { program: program.display().to_string(), ..command.clone() };
        self.runner.log(Some(self.number), LogKind::Command, &shown.display());
        let spec = ProcessSpec { program, args: command.arguments.clone(), cwd, env: environment };
        let ProcessRun { exit, stderr_lines, completed } =
            self.runner.run_process(&spec, self.step, self.number, self.output_prefix, self.step_deadline);
        self.stderr_lines += stderr_lines;
        if let Some(result) = completed {
            self.completed = Some(match self.completed.take() {
                Some((previous, _)) if previous > result.0 => (previous, result.1),
                _ => result,
            });
        }
        match exit {
            Exit::Code(code) => {
                self.exit_code = Some(code);
                Ok(code)
            }
            Exit::Signal(signal) => {
                self.exit_code = None;
                Ok(128 + signal)
            }
            Exit::Stopped(reason) => {
                self.stopped = Some(reason);
                Err(match reason {
                    StopReason::TimedOut => HostError::TimedOut,
                    StopReason::Canceled => HostError::Canceled,
                })
            }
            Exit::SpawnFailed(source) => Err(HostError::CannotStart { program: command.program.clone(), source }),
        }
    }

    fn publish_artifact(&mut self, name: &str, path: &Path) -> Result<(), HostError> {
        let store = &self.runner.request.run.artifacts;
        // Build artifacts (`artifact.upload`) add to an artifact several jobs may share;
        // pipeline artifacts are published once.
        let published = if self.task.eq_ignore_ascii_case("PublishBuildArtifacts") {
            store.upload(name, None, path)
        } else {
            store.publish(name, path)
        };
        let manifest = published.map_err(|error| HostError::Failed(Box::new(error)))?;
        self.runner.events.emit(Event::ArtifactPublished {
            time: now_ms(),
            job: self.runner.job_id(),
            step: self.number,
            name: name.to_owned(),
            digest: manifest.digest(),
            files: manifest.files.len() as u64,
            bytes: manifest.bytes(),
        });
        Ok(())
    }

    fn download_artifact(&mut self, name: Option<&str>, target: &Path, patterns: &[String]) -> Result<(), HostError> {
        let store = self.runner.request.run.artifacts.clone();
        // One artifact goes to `target` and its patterns match paths inside it; every artifact
        // goes to `target/NAME` and the patterns match `NAME/path`, as the agent matches them.
        let downloads: Vec<(String, PathBuf, bool)> = match name {
            Some(name) => vec![(name.to_owned(), target.to_path_buf(), false)],
            None => store.names().into_iter().map(|name| (name.clone(), target.join(&name), true)).collect(),
        };
        if downloads.is_empty() {
            self.log("No artifacts were published in this run so far.");
        }
        for (name, directory, prefixed) in downloads {
            let keep = |path: &str| {
                if prefixed {
                    crate::artifacts::matches_any(patterns, &format!("{name}/{path}"))
                } else {
                    crate::artifacts::matches_any(patterns, path)
                }
            };
            let manifest = store
                .download_filtered(&name, &directory, &keep)
                .map_err(|error| HostError::Failed(Box::new(error)))?;
            let kept = manifest.files.iter().filter(|file| keep(&file.path)).count();
            self.log(&format!(
                "Downloaded {kept} of the {} files of artifact '{name}' to {}",
                manifest.files.len(),
                directory.display()
            ));
            self.runner.events.emit(Event::ArtifactDownloaded {
                time: now_ms(),
                job: self.runner.job_id(),
                step: self.number,
                name,
                path: directory.display().to_string(),
            });
        }
        Ok(())
    }

    fn publish_test_results(&mut self, results: slipway_events::TestRun) {
        self.runner.events.emit(Event::TestResultsPublished {
            time: now_ms(),
            job: self.runner.job_id(),
            step: self.number,
            results,
        });
    }

    fn publish_coverage(&mut self, coverage: slipway_events::Coverage) {
        self.runner.events.emit(Event::CoveragePublished {
            time: now_ms(),
            job: self.runner.job_id(),
            step: self.number,
            coverage,
        });
    }

    fn cache_directory(&self) -> PathBuf {
        self.runner.request.run.cache_dir.clone()
    }

    fn is_canceled(&self) -> bool {
        self.stop_signal().should_stop().is_some()
    }

    fn secret_variables(&self) -> Vec<(String, String)> {
        self.runner
            .variables
            .iter()
            .filter(|variable| variable.secret)
            .map(|variable| (variable.name.clone(), variable.value.clone()))
            .collect()
    }

    fn post_job(&mut self, display_name: &str, action: PostJob) {
        self.runner.post_jobs.push((display_name.to_owned(), action));
    }

    fn delivery(
        &mut self,
        request: &slipway_events::delivery::DeliveryRequest,
    ) -> Result<slipway_events::delivery::DeliveryAnswer, HostError> {
        let Some(link) = self.runner.request.run.delivery.clone() else {
            return Err(HostError::NoDelivery);
        };
        link.remote.call(request).map_err(HostError::Refused)
    }

    fn start_slot(&mut self, process: &SlotProcess) -> Result<StartedProcess, HostError> {
        let Some(link) = self.runner.request.run.delivery.clone() else {
            return Err(HostError::NoDelivery);
        };
        let mut environment = self.runner.environment(self.step);
        for (name, value) in &process.command.environment {
            match environment.iter_mut().find(|(existing, _)| existing == name) {
                Some(entry) => entry.1.clone_from(value),
                None => environment.push((name.clone(), value.clone())),
            }
        }
        let working_directory = process.command.working_directory.clone().unwrap_or_else(|| self.working_directory());
        if !working_directory.is_dir() {
            return Err(HostError::NoWorkingDirectory(working_directory));
        }
        let spec = crate::slots::SlotSpec {
            key: process.key.clone(),
            program: process.command.program.clone(),
            arguments: process.command.arguments.clone(),
            working_directory,
            environment,
            host: process.host.clone(),
            port: process.port,
            health_path: process.health_path.clone(),
            health_timeout: process.health_timeout,
            log_directory: link.log_directory.clone(),
        };
        let stop = self.stop_signal();
        let mut lines = Vec::new();
        let started =
            link.slots.start(spec, &mut |line: &str| lines.push(line.to_owned()), &|| stop.should_stop().is_some());
        for line in lines {
            self.log(&line);
        }
        let started = started.map_err(|error| HostError::Failed(Box::new(error)))?;
        Ok(StartedProcess {
            port: started.port,
            upstream: started.upstream,
            pid: started.pid,
            log_file: started.log_file,
        })
    }

    fn slot_command(&mut self, upstream: &str) -> Option<CommandLine> {
        let launched = self.runner.request.run.delivery.as_ref()?.slots.command_of(upstream)?;
        Some(CommandLine {
            program: launched.program.display().to_string(),
            arguments: launched.arguments,
            working_directory: Some(launched.working_directory),
            environment: launched.environment,
        })
    }

    fn stop_slot(&mut self, upstream: &str) -> bool {
        self.runner.request.run.delivery.as_ref().is_some_and(|link| link.slots.stop(upstream))
    }
}

impl JobRunner<'_> {
    /// Why the task of a `task:` step cannot run, or `None` (also for other steps).
    pub(super) fn unavailable_task(&self, step: &Step) -> Option<String> {
        let Action::Task { name, version, .. } = &step.action else { return None };
        crate::tasks::unavailable(&TaskReference::new(name, version.as_deref()), &self.request.run.task_folders)
    }

    /// Runs a `task:` step.
    pub(super) fn task(
        &mut self,
        step: &Step,
        number: u32,
        name: &str,
        version: Option<&str>,
        given: &[(String, String)],
        output_prefix: Option<&str>,
    ) -> Attempt {
        let reference = TaskReference::new(name, version);
        let Some(resolved) = slipway_tasks::resolve(&reference, &self.request.run.task_folders) else {
            let problem = crate::tasks::unavailable(&reference, &self.request.run.task_folders).unwrap_or_default();
            return self.fail(number, &format!("{problem}; add a folder that has it with `--tasks DIR`"));
        };
        let (task_name, specs) = match &resolved {
            Resolved::Builtin(builtin) => (builtin.name.to_owned(), (builtin.inputs)(builtin.major_for(&reference))),
            Resolved::Folder(folder) => (folder.name.clone(), folder.inputs.clone()),
        };
        // Defaults may use macros (`$(Pipeline.Workspace)`), as the step's values may.
        let specs: Vec<_> = specs
            .into_iter()
            .map(|mut spec| {
                spec.default = spec.default.map(|value| self.variables.expand(&value));
                spec
            })
            .collect();
        let given: Vec<(String, String)> =
            given.iter().map(|(input, value)| (input.clone(), self.variables.expand(value))).collect();
        let inputs = match Inputs::resolve(&specs, &given) {
            Ok(inputs) => inputs,
            Err(error) => {
                for problem in &error.problems {
                    self.issue(Some(number), Severity::Error, problem);
                }
                return Attempt { result: TaskResult::Failed, exit_code: None, message: Some(error.to_string()) };
            }
        };
        for unknown in &inputs.unknown {
            self.issue(
                Some(number),
                Severity::Warning,
                &format!("'{unknown}' is not an input of the task {reference}; it is ignored"),
            );
        }
        // Script tasks fail on standard error output when asked; the job sees that stream.
        let fail_on_stderr = matches!(resolved, Resolved::Builtin(_))
            .then(|| inputs.boolean("failOnStderr"))
            .filter(|&fail| fail)
            .map(|_| slipway_tasks::builtin::scripts::stderr_message(&task_name));
        let mut host = StepHost::new(self, step, number, output_prefix, &task_name);
        let outcome = match &resolved {
            Resolved::Builtin(builtin) => (builtin.run)(builtin.major_for(&reference), &inputs, &mut host),
            Resolved::Folder(folder) => slipway_tasks::folder::run(folder, &inputs, &mut host),
        };
        host.conclude(outcome, fail_on_stderr)
    }

    /// Runs the post-job steps tasks registered, last first, each shown as `Post-job: NAME`;
    /// they are skipped when the job has failed or was cancelled.
    pub(super) fn run_post_jobs(&mut self) {
        let actions = std::mem::take(&mut self.post_jobs);
        for (name, action) in actions.into_iter().rev() {
            let mut step = Step::new(Action::Other { kind: "postJob".into(), definition: serde_json::Value::Null });
            step.display_name = Some(format!("Post-job: {name}"));
            self.check_cancel();
            if self.cancel.is_forced()
                || self.canceled.is_some()
                || matches!(self.status, Some(TaskResult::Failed | TaskResult::Canceled))
            {
                self.skip_step(&step, "the job did not succeed");
                continue;
            }
            self.step_number += 1;
            let number = self.step_number;
            let display = self.display_name(&step);
            let started = Instant::now();
            self.events.emit(Event::StepStarted {
                time: now_ms(),
                job: self.job_id(),
                step: number,
                name: None,
                display_name: display.clone(),
            });
            let mut host = StepHost::new(self, &step, number, None, &name);
            let outcome = action(&mut host);
            let attempt = host.conclude(outcome, None);
            self.finish_step(&step, number, &display, started, attempt, 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_the_path_of_the_environment() {
        let environment = vec![("PATH".to_owned(), "/nonexistent:/bin:/usr/bin".to_owned())];
        assert!(find_program("sh", &environment).is_some());
        assert!(find_program("surely-no-such-program", &environment).is_none());
        assert_eq!(find_program("/bin/sh", &[]), Some(PathBuf::from("/bin/sh")));
    }
}
