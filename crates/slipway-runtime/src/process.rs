//! Running one process in its own process group, reading its output line by line, and stopping
//! it (and everything it started) on a timeout or a cancel: SIGTERM to the group, a grace period,
//! then SIGKILL.
//!
//! A step must not outlive the process that runs it (an agent or a server killed with `kill -9`
//! would otherwise leave it running beside the attempt that replaces it). When the binary says so
//! ([`reap_steps_with`]), a reaper is started beside it: the binary itself, run as
//! [`REAPER_COMMAND`] in a process group of its own, told over a pipe the process group of every
//! step as it starts and when it is gone. When the pipe closes (the process that runs the steps
//! ended, however it ended, even by SIGKILL), the reaper kills every group it was told of and
//! exits ([`reaper_main`]). Telling it costs a write to a pipe per step.

use std::io::{Read, Write as _};
use std::os::fd::AsFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use slipway_events::Stream;

/// Lines longer than this are cut into pieces, so that one huge line cannot use unbounded memory.
const MAX_LINE: usize = 64 * 1024;

/// How often a running process is checked for a cancel or a deadline.
const TICK: Duration = Duration::from_millis(50);

/// The hidden subcommand of the binary that runs the reaper (see the module's documentation).
pub const REAPER_COMMAND: &str = "__reaper";

/// The pipe to the reaper, when the program started one.
static REAPER: OnceLock<Mutex<Option<ChildStdin>>> = OnceLock::new();

/// From now on, every process group of a step is known to a reaper: `binary` run as
/// [`REAPER_COMMAND`] (the binary must call [`reaper_main`] for it). Called once, by the binary,
/// before any step runs.
///
/// # Errors
/// When the reaper cannot be started (steps would then outlive a killed process).
pub fn reap_steps_with(binary: &std::path::Path) -> std::io::Result<()> {
    let mut reaper = Command::new(binary)
        .arg(REAPER_COMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .process_group(0)
        .spawn()?;
    let pipe = reaper.stdin.take();
    let _ = REAPER.set(Mutex::new(pipe));
    Ok(())
}

/// Tells the reaper a line (`+PGID` or `-PGID`); a reaper that is gone is forgotten.
fn tell_reaper(line: &str) {
    let Some(reaper) = REAPER.get() else { return };
    let mut pipe = reaper.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(writer) = pipe.as_mut()
        && writer.write_all(line.as_bytes()).is_err()
    {
        *pipe = None;
        eprintln!("warning: the step reaper is gone: steps may outlive this process if it is killed");
    }
}

/// Tells the reaper of a process group this program started outside a step (a service's
/// version, kept running after its job): killed with this program if it is killed.
pub fn remember_group(pgid: i32) {
    tell_reaper(&format!("+{pgid}\n"));
}

/// Tells the reaper that a step's process group is gone (killed, or empty), so that it is not
/// killed later when its number is used again.
pub fn forget_group(pgid: i32) {
    tell_reaper(&format!("-{pgid}\n"));
}

/// The reaper: reads `+PGID` and `-PGID` lines on standard input; when it closes, kills every
/// group still known and exits. Ignores SIGINT, SIGTERM and SIGHUP (they are for the process that
/// runs the steps). Never returns.
pub fn reaper_main() -> ! {
    use std::io::BufRead as _;
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM, signal_hook::consts::SIGHUP] {
        let _ = signal_hook::flag::register(signal, std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)));
    }
    let mut groups = std::collections::HashSet::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let (sign, number) = line.split_at(line.len().min(1));
        match (sign, number.parse::<i32>()) {
            ("+", Ok(pgid)) if pgid > 1 => {
                groups.insert(pgid);
            }
            ("-", Ok(pgid)) => {
                groups.remove(&pgid);
            }
            _ => {}
        }
    }
    // Whoever ran the steps is gone: nothing of them may go on.
    for pgid in groups {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
    std::process::exit(0)
}

/// What to run.
#[derive(Clone, Debug)]
pub struct ProcessSpec {
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// The working directory.
    pub cwd: PathBuf,
    /// The whole environment (nothing is inherited).
    pub env: Vec<(String, String)>,
}

/// Why a process should stop early.
pub trait StopSignal {
    /// `Some(reason)` once the process should be stopped.
    fn should_stop(&self) -> Option<StopReason>;
    /// `true` once the process should be killed at once, without a grace period.
    fn force(&self) -> bool {
        false
    }
}

/// Why a process was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// A timeout ran out.
    TimedOut,
    /// The run or the job was cancelled.
    Canceled,
}

/// How a process ended.
#[derive(Debug)]
pub enum Exit {
    /// It exited with this code.
    Code(i32),
    /// A signal ended it.
    Signal(i32),
    /// It was stopped.
    Stopped(StopReason),
    /// It could not be started.
    SpawnFailed(std::io::Error),
}

/// Whether a piece of output given to `on_line` ends its line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnd {
    /// The line ends here (a newline, or the end of the output).
    Complete,
    /// The line was longer than the longest line kept whole: it goes on in the next piece of the
    /// same stream (so a secret may straddle the two).
    Continues,
}

/// Runs `spec`, calling `on_line` for every line of output, until it exits or `stop` says to stop.
/// `grace` is the time between SIGTERM and SIGKILL. Returns how it ended and its process group id
/// (which may still hold background processes it started; see [`kill_group`]).
pub fn run(
    spec: &ProcessSpec,
    stop: &dyn StopSignal,
    grace: Duration,
    on_line: &mut dyn FnMut(Stream, &str, LineEnd),
) -> (Exit, Option<i32>) {
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .envs(spec.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => return (Exit::SpawnFailed(error), None),
    };
    let pgid = i32::try_from(child.id()).ok();
    if let Some(pgid) = pgid {
        tell_reaper(&format!("+{pgid}\n"));
    }
    let exit = supervise(&mut child, pgid, stop, grace, on_line);
    (exit, pgid)
}

struct Reader<R> {
    pipe: Option<R>,
    stream: Stream,
    pending: Vec<u8>,
}

impl<R: Read + AsFd> Reader<R> {
    fn new(pipe: Option<R>, stream: Stream) -> Self {
        Self { pipe, stream, pending: Vec::new() }
    }

    /// Reads what is available; closes the pipe at end of file.
    fn read(&mut self, buffer: &mut [u8], on_line: &mut dyn FnMut(Stream, &str, LineEnd)) {
        let Some(pipe) = self.pipe.as_mut() else { return };
        match pipe.read(buffer) {
            Ok(0) | Err(_) => {
                self.pipe = None;
                self.flush(on_line);
            }
            Ok(count) => {
                self.pending.extend_from_slice(&buffer[..count]);
                self.emit_lines(on_line);
            }
        }
    }

    fn emit_lines(&mut self, on_line: &mut dyn FnMut(Stream, &str, LineEnd)) {
        let mut start = 0;
        while let Some(offset) = self.pending[start..].iter().position(|&byte| byte == b'\n') {
            let end = start + offset;
            let line = &self.pending[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            on_line(self.stream, &String::from_utf8_lossy(line), LineEnd::Complete);
            start = end + 1;
        }
        self.pending.drain(..start);
        while self.pending.len() > MAX_LINE {
            // Cut where a UTF-8 character starts, so that no character is broken in two.
            let cut = (MAX_LINE.saturating_sub(3)..=MAX_LINE)
                .rev()
                .find(|&at| self.pending.get(at).is_some_and(|&byte| (byte & 0xC0) != 0x80))
                .unwrap_or(MAX_LINE);
            let rest = self.pending.split_off(cut);
            on_line(self.stream, &String::from_utf8_lossy(&self.pending), LineEnd::Continues);
            self.pending = rest;
        }
    }

    fn flush(&mut self, on_line: &mut dyn FnMut(Stream, &str, LineEnd)) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            let line = line.strip_suffix(b"\r").unwrap_or(&line);
            on_line(self.stream, &String::from_utf8_lossy(line), LineEnd::Complete);
        }
    }
}

fn supervise(
    child: &mut Child,
    pgid: Option<i32>,
    stop: &dyn StopSignal,
    grace: Duration,
    on_line: &mut dyn FnMut(Stream, &str, LineEnd),
) -> Exit {
    let mut out = Reader::new(child.stdout.take(), Stream::Stdout);
    let mut err = Reader::new(child.stderr.take(), Stream::Stderr);
    let mut buffer = vec![0_u8; 16 * 1024];
    let mut stopped: Option<(StopReason, Instant)> = None;
    let mut killed = false;
    let mut exited_at: Option<Instant> = None;
    let mut status = None;
    loop {
        if out.pipe.is_none() && err.pipe.is_none() {
            break;
        }
        let (out_ready, err_ready) = {
            let mut fds = Vec::with_capacity(2);
            if let Some(pipe) = out.pipe.as_ref() {
                fds.push(PollFd::new(pipe.as_fd(), PollFlags::POLLIN));
            }
            if let Some(pipe) = err.pipe.as_ref() {
                fds.push(PollFd::new(pipe.as_fd(), PollFlags::POLLIN));
            }
            let timeout = PollTimeout::try_from(TICK).unwrap_or(PollTimeout::NONE);
            let ready = poll(&mut fds, timeout).unwrap_or(0);
            let is_ready = |fd: Option<&PollFd<'_>>| {
                ready > 0 && fd.and_then(PollFd::revents).is_some_and(|events| !events.is_empty())
            };
            let mut index = 0;
            let out_ready = if out.pipe.is_some() {
                index += 1;
                is_ready(fds.first())
            } else {
                false
            };
            let err_ready = err.pipe.is_some() && is_ready(fds.get(index));
            (out_ready, err_ready)
        };
        if out_ready {
            out.read(&mut buffer, on_line);
        }
        if err_ready {
            err.read(&mut buffer, on_line);
        }
        if out_ready || err_ready {
            continue;
        }
        // Nothing to read: look at the clock, the stop signal and the process.
        if status.is_none()
            && let Ok(Some(exit)) = child.try_wait()
        {
            status = Some(exit);
            exited_at = Some(Instant::now());
        }
        if let Some(at) = exited_at {
            // The process is gone but something it started still holds the pipes open: give the
            // output a moment to drain, then stop reading.
            if at.elapsed() > Duration::from_millis(200) {
                break;
            }
        }
        match stopped {
            None => {
                if let Some(reason) = stop.should_stop() {
                    signal_group(pgid, Signal::SIGTERM);
                    stopped = Some((reason, Instant::now()));
                    if stop.force() {
                        signal_group(pgid, Signal::SIGKILL);
                        killed = true;
                    }
                }
            }
            Some((_, at)) => {
                if !killed && (at.elapsed() >= grace || stop.force()) {
                    signal_group(pgid, Signal::SIGKILL);
                    killed = true;
                }
                if killed && at.elapsed() >= grace + Duration::from_secs(2) {
                    break;
                }
            }
        }
    }
    out.flush(on_line);
    err.flush(on_line);
    drop(out);
    drop(err);
    // The pipes closed, so the process is usually exiting right now: look again soon, then less often.
    let mut pause = Duration::from_micros(50);
    let status = match status {
        Some(status) => Ok(status),
        None => loop {
            // The pipes are closed; the process is exiting or ignoring SIGTERM.
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) => {}
                Err(error) => break Err(error),
            }
            match stopped {
                None => {
                    if let Some(reason) = stop.should_stop() {
                        signal_group(pgid, Signal::SIGTERM);
                        stopped = Some((reason, Instant::now()));
                    }
                }
                Some((_, at)) if !killed && (at.elapsed() >= grace || stop.force()) => {
                    signal_group(pgid, Signal::SIGKILL);
                    killed = true;
                }
                Some(_) => {}
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        },
    };
    if let Some((reason, _)) = stopped {
        return Exit::Stopped(reason);
    }
    match status {
        Ok(status) => match status.code() {
            Some(code) => Exit::Code(code),
            None => Exit::Signal(status.signal().unwrap_or(0)),
        },
        Err(error) => Exit::SpawnFailed(error),
    }
}

fn signal_group(pgid: Option<i32>, signal: Signal) {
    if let Some(pgid) = pgid {
        // The group may be gone already; that is fine.
        let _ = killpg(Pid::from_raw(pgid), signal);
    }
}

/// Stops every process left in a process group: SIGTERM, up to `grace` for them to go, SIGKILL.
pub fn kill_group(pgid: i32, grace: Duration) {
    let pid = Pid::from_raw(pgid);
    if !group_alive(pgid) {
        return;
    }
    let _ = killpg(pid, Signal::SIGTERM);
    let start = Instant::now();
    while start.elapsed() < grace {
        if !group_alive(pgid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = killpg(pid, Signal::SIGKILL);
}

/// Whether any live (not zombie) process of the group is still there.
#[must_use]
pub fn group_alive(pgid: i32) -> bool {
    if killpg(Pid::from_raw(pgid), None).is_err() {
        return false;
    }
    // Signals reach zombies too; look at /proc to tell the living from the dead.
    let Ok(entries) = std::fs::read_dir("/proc") else { return true };
    entries.filter_map(Result::ok).any(|entry| {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { return false };
        // The command name is in parentheses and may hold spaces: split after the last ')'.
        let Some((_, rest)) = stat.rsplit_once(')') else { return false };
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let _parent = fields.next();
        let group = fields.next().and_then(|group| group.parse::<i32>().ok());
        group == Some(pgid) && state != Some("Z") && state != Some("X")
    })
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    struct Never;
    impl StopSignal for Never {
        fn should_stop(&self) -> Option<StopReason> {
            None
        }
    }

    struct After(Instant, Duration);
    impl StopSignal for After {
        fn should_stop(&self) -> Option<StopReason> {
            (self.0.elapsed() >= self.1).then_some(StopReason::TimedOut)
        }
    }

    fn bash(script: &str) -> ProcessSpec {
        ProcessSpec {
            program: "bash".into(),
            args: vec!["--noprofile".into(), "--norc".into(), "-c".into(), script.into()],
            cwd: std::env::temp_dir(),
            env: vec![("PATH".into(), std::env::var("PATH").unwrap_or_default())],
        }
    }

    #[test]
    fn collects_lines_from_both_streams_and_the_exit_code() {
        let mut lines = Vec::new();
        let (exit, _) =
            run(&bash("echo one; echo two >&2; printf 'no newline'; exit 3"), &Never, TICK, &mut |s, l, _| {
                lines.push((s, l.to_owned()));
            });
        assert!(matches!(exit, Exit::Code(3)), "{exit:?}");
        assert!(lines.contains(&(Stream::Stdout, "one".into())));
        assert!(lines.contains(&(Stream::Stderr, "two".into())));
        assert!(lines.contains(&(Stream::Stdout, "no newline".into())));
    }

    #[test]
    fn stops_the_whole_group_on_timeout() {
        let marker = tempfile::NamedTempFile::new().ok();
        let path = marker.as_ref().map(|file| file.path().display().to_string()).unwrap_or_default();
        let script = format!("(sleep 30; echo late > {path}) & sleep 30");
        let started = Instant::now();
        let pgid = Cell::new(None);
        let (exit, group) = run(
            &bash(&script),
            &After(Instant::now(), Duration::from_millis(200)),
            Duration::from_millis(500),
            &mut |_, _, _| {},
        );
        pgid.set(group);
        assert!(matches!(exit, Exit::Stopped(StopReason::TimedOut)), "{exit:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(100));
        assert!(!group_alive(pgid.get().unwrap_or(0)), "processes left behind");
    }

    #[test]
    fn kills_processes_that_ignore_sigterm_after_the_grace_period() {
        let started = Instant::now();
        let (exit, group) = run(
            &bash("trap '' TERM; sleep 30 & wait; sleep 30"),
            &After(Instant::now(), Duration::from_millis(100)),
            Duration::from_millis(300),
            &mut |_, _, _| {},
        );
        assert!(matches!(exit, Exit::Stopped(_)), "{exit:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(100));
        assert!(!group_alive(group.unwrap_or(0)));
    }

    #[test]
    fn background_processes_do_not_hold_the_step_open() {
        let started = Instant::now();
        let (exit, group) = run(&bash("sleep 5 & echo started"), &Never, TICK, &mut |_, _, _| {});
        assert!(matches!(exit, Exit::Code(0)), "{exit:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        let group = group.unwrap_or(0);
        assert!(group_alive(group));
        kill_group(group, Duration::from_millis(200));
        std::thread::sleep(Duration::from_millis(50));
        assert!(!group_alive(group));
    }

    #[test]
    fn an_over_long_line_comes_in_pieces_that_say_so() {
        let mut pieces: Vec<(String, LineEnd)> = Vec::new();
        let long = "x".repeat(3 * MAX_LINE + 10);
        let script = format!("head -c {} /dev/zero | tr '\\0' x; echo; echo short", long.len());
        run(&bash(&script), &Never, TICK, &mut |_, text, end| pieces.push((text.to_owned(), end)));
        let (last, rest) = pieces.split_last().unwrap_or_else(|| panic!("no output"));
        assert_eq!(last, &("short".to_owned(), LineEnd::Complete));
        let (line_end, pieces_before) = rest.split_last().unwrap_or_else(|| panic!("one piece"));
        assert_eq!(line_end.1, LineEnd::Complete);
        assert!(!pieces_before.is_empty() && pieces_before.iter().all(|(_, end)| *end == LineEnd::Continues));
        let whole: String = rest.iter().map(|(text, _)| text.as_str()).collect();
        assert_eq!(whole, long);
    }

    #[test]
    fn reports_programs_that_cannot_start() {
        let spec = ProcessSpec { program: "/nonexistent/program".into(), ..bash("") };
        assert!(matches!(run(&spec, &Never, TICK, &mut |_, _, _| {}).0, Exit::SpawnFailed(_)));
    }
}
