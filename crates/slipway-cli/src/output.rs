//! Printing a command's output to standard output. A reader that goes away early (`slipway runs
//! list | head`) ends the command quietly with the status a shell gives a program stopped by
//! `SIGPIPE` (141), as `ls | head` does, instead of panicking as `println!` would; any other
//! failure to write is reported once and ends the command with status 1.

use std::fmt;
use std::io::{self, Write as _};

/// The status a shell reports for a program ended by `SIGPIPE` (128 + 13).
const CLOSED_PIPE_STATUS: i32 = 141;

/// Writes `text` to standard output, ending the process if it cannot be written.
pub(crate) fn print(text: fmt::Arguments<'_>) {
    let mut stdout = io::stdout().lock();
    if let Err(error) = stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        not_written(&error);
    }
}

/// Ends the process after a failed write to standard output.
fn not_written(error: &io::Error) -> ! {
    if error.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(CLOSED_PIPE_STATUS);
    }
    eprintln!("error: cannot write to standard output: {error}");
    std::process::exit(1);
}

/// `print!` for command output (see the module's documentation).
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::print(format_args!($($arg)*)) };
}

/// `println!` for command output (see the module's documentation).
macro_rules! outln {
    () => { $crate::output::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::print(format_args!("{}\n", format_args!($($arg)*))) };
}

pub(crate) use {out, outln};
