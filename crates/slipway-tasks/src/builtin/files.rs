//! Built-in tasks: files. `CopyFiles@2`, `DeleteFiles@1`, `ArchiveFiles@2` and `ExtractFiles@1`,
//! with the inputs, log lines and failure messages of Microsoft's tasks (azure-pipelines-tasks),
//! implemented natively so that they run without the `zip`, `unzip` and `tar` programs the real
//! tasks call on Linux. Only 7z archives (and `wim`, which Azure also makes with 7-Zip) need an
//! outside program, `7z`, run through the task host.
//!
//! Paths in inputs are relative to the job's default working directory when not absolute. Input
//! defaults that contain `$(macros)` (`ArchiveFiles`' `archiveFile`) are expanded here, since the
//! runtime expands only what the step wrote.

mod archive;
mod copy;
mod delete;
mod extract;
mod support;
#[cfg(test)]
mod testing;
mod unpack;

use super::Builtin;

/// The tasks of this module.
pub static TASKS: &[Builtin] = &[
    Builtin {
        name: "CopyFiles",
        id: "5BFB729A-A7C8-4A78-A7C3-8D717BB7C13C",
        majors: &[2],
        inputs: copy::inputs,
        run: copy::run,
    },
    Builtin {
        name: "DeleteFiles",
        id: "B7E8B412-0437-4065-9371-EDC5881DE25B",
        majors: &[1],
        inputs: delete::inputs,
        run: delete::run,
    },
    Builtin {
        name: "ArchiveFiles",
        id: "d8b84976-e99a-4b86-b885-4849694435b0",
        majors: &[2],
        inputs: archive::inputs,
        run: archive::run,
    },
    Builtin {
        name: "ExtractFiles",
        id: "5e1e3830-fbfb-11e5-aab1-090c92bc4988",
        majors: &[1],
        inputs: extract::inputs,
        run: extract::run,
    },
];
