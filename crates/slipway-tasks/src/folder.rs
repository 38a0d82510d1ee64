//! Task folders: a `task.json` and its implementation, as in Microsoft's azure-pipelines-tasks
//! repository or an extracted marketplace extension. (Being written.)

use crate::TaskReference;

/// A task folder that was found and read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskFolder {
    /// The task's name from `task.json`.
    pub name: String,
}

/// The folder that provides `reference`, if any.
#[must_use]
pub fn find<'a>(folders: &'a [TaskFolder], reference: &TaskReference) -> Option<&'a TaskFolder> {
    folders.iter().find(|folder| folder.name.eq_ignore_ascii_case(&reference.name))
}
