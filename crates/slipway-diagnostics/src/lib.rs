//! Source positions and diagnostics shared by every Slipway front end.
//!
//! A [`SourceMap`] owns the text of every file a pipeline was read from; a [`Span`] points into one
//! of them by line and column; a [`Diagnostic`] carries a stable code, a message, the span it is
//! about, and an optional hint and notes. [`render`] turns diagnostics into the text a person reads
//! (`file:line:col`, the source line, a caret under the offending text), [`Diagnostic::to_json`]
//! into the JSON a tool reads. This crate does no I/O.

use std::fmt::Write as _;

use serde::Serialize;

/// Identifies one file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct FileId(pub u32);

/// A position in a file: 1-based line, 1-based column counted in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct Position {
    /// Line number, starting at 1.
    pub line: u32,
    /// Column number in characters, starting at 1.
    pub column: u32,
}

impl Position {
    /// Creates a position from a 1-based line and column.
    #[must_use]
    pub fn new(line: u32, column: u32) -> Self {
        Self { line, column }
    }
}

/// A range of text in one file. `end` is exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub struct Span {
    /// The file the span is in.
    pub file: FileId,
    /// First character of the range.
    pub start: Position,
    /// One past the last character of the range.
    pub end: Position,
}

impl Span {
    /// Creates a span.
    #[must_use]
    pub fn new(file: FileId, start: Position, end: Position) -> Self {
        Self { file, start, end }
    }

    /// A span of `length` characters starting `offset` characters after this span's start, on the
    /// same line. Used to point inside a single-line scalar (an expression inside a value). When the
    /// span covers several lines the narrowed span would be a guess, so the span is returned unchanged.
    #[must_use]
    pub fn narrow(self, offset: usize, length: usize) -> Self {
        if self.start.line != self.end.line {
            return self;
        }
        let offset = u32::try_from(offset).unwrap_or(u32::MAX);
        let length = u32::try_from(length.max(1)).unwrap_or(u32::MAX);
        let column = self.start.column.saturating_add(offset);
        Self {
            file: self.file,
            start: Position::new(self.start.line, column),
            end: Position::new(self.start.line, column.saturating_add(length)),
        }
    }
}

/// One file's name (as shown to the user) and text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The name shown in diagnostics, usually a path relative to where the user ran the command.
    pub name: String,
    /// The whole text of the file.
    pub text: String,
}

/// Every file read while loading a pipeline, addressed by [`FileId`].
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// Creates an empty source map.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile { name: name.into(), text: text.into() });
        id
    }

    /// Returns a file by id.
    #[must_use]
    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    /// The display name of a file, or `<unknown>`.
    #[must_use]
    pub fn name(&self, id: FileId) -> &str {
        self.get(id).map_or("<unknown>", |file| file.name.as_str())
    }

    /// Returns the text of one line (1-based) without its line ending.
    #[must_use]
    pub fn line(&self, id: FileId, line: u32) -> Option<&str> {
        let file = self.get(id)?;
        let index = usize::try_from(line.checked_sub(1)?).ok()?;
        file.text.lines().nth(index)
    }

    /// The number of files.
    #[must_use]
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The pipeline cannot be used.
    Error,
    /// The pipeline can be used, but something looks wrong.
    Warning,
}

/// A message about a place in a pipeline, with a stable code.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Stable identifier, such as `Y0001`. Documented in `docs/diagnostics.md`.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// Where it is wrong, when a place is known.
    pub span: Option<Span>,
    /// How to fix it, when that can be said.
    pub hint: Option<String>,
    /// Further context, such as the chain of templates that led here.
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// Creates an error.
    #[must_use]
    pub fn error(code: &'static str, message: impl Into<String>, span: Option<Span>) -> Self {
        Self { code, severity: Severity::Error, message: message.into(), span, hint: None, notes: Vec::new() }
    }

    /// Creates a warning.
    #[must_use]
    pub fn warning(code: &'static str, message: impl Into<String>, span: Option<Span>) -> Self {
        Self { code, severity: Severity::Warning, message: message.into(), span, hint: None, notes: Vec::new() }
    }

    /// Adds a hint.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a note.
    #[must_use]
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Whether this is an error.
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The diagnostic as a JSON value, with the file name resolved through `sources`.
    #[must_use]
    pub fn to_json(&self, sources: &SourceMap) -> JsonDiagnostic {
        JsonDiagnostic {
            code: self.code,
            severity: self.severity,
            message: self.message.clone(),
            file: self.span.map(|span| sources.name(span.file).to_owned()),
            line: self.span.map(|span| span.start.line),
            column: self.span.map(|span| span.start.column),
            end_line: self.span.map(|span| span.end.line),
            end_column: self.span.map(|span| span.end.column),
            hint: self.hint.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// The JSON form of a diagnostic (`--format json`).
#[derive(Debug, Clone, Serialize)]
pub struct JsonDiagnostic {
    /// Stable code.
    pub code: &'static str,
    /// `error` or `warning`.
    pub severity: Severity,
    /// The message.
    pub message: String,
    /// File name, when the diagnostic has a place.
    pub file: Option<String>,
    /// 1-based line.
    pub line: Option<u32>,
    /// 1-based column.
    pub column: Option<u32>,
    /// 1-based line where the span ends.
    pub end_line: Option<u32>,
    /// 1-based column where the span ends (exclusive).
    pub end_column: Option<u32>,
    /// How to fix it.
    pub hint: Option<String>,
    /// Further context.
    pub notes: Vec<String>,
}

/// Renders one diagnostic as text, in the style of rustc and just:
///
/// ```text
/// error[V0001]: unknown key `stpes` in a job
///   --> azure-pipelines.yml:12:3
///    |
/// 12 |   stpes:
///    |   ^^^^^
///    = hint: did you mean `steps`?
/// ```
#[must_use]
pub fn render(diagnostic: &Diagnostic, sources: &SourceMap) -> String {
    let mut out = String::new();
    let level = match diagnostic.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{level}[{}]: {}", diagnostic.code, diagnostic.message);
    let mut gutter = 1;
    if let Some(span) = diagnostic.span {
        let line_label = span.start.line.to_string();
        gutter = line_label.len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}--> {}:{}:{}", sources.name(span.file), span.start.line, span.start.column);
        if let Some(text) = sources.line(span.file, span.start.line) {
            let text = text.replace('\t', " ");
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{line_label} | {text}");
            let width = text.chars().count();
            let start = (span.start.column as usize).saturating_sub(1).min(width);
            let end =
                if span.end.line == span.start.line { (span.end.column as usize).saturating_sub(1) } else { width };
            let carets = end.min(width).saturating_sub(start).max(1);
            let _ = writeln!(out, "{pad} | {}{}", " ".repeat(start), "^".repeat(carets));
        }
    }
    let pad = " ".repeat(gutter);
    for note in &diagnostic.notes {
        let _ = writeln!(out, "{pad} = note: {note}");
    }
    if let Some(hint) = &diagnostic.hint {
        let _ = writeln!(out, "{pad} = hint: {hint}");
    }
    out
}

/// Renders many diagnostics, separated by blank lines, followed by a count line.
#[must_use]
pub fn render_all(diagnostics: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for diagnostic in diagnostics {
        out.push_str(&render(diagnostic, sources));
        out.push('\n');
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let warnings = diagnostics.len() - errors;
    if errors > 0 || warnings > 0 {
        let plural = |n: usize, word: &str| if n == 1 { format!("{n} {word}") } else { format!("{n} {word}s") };
        let _ = writeln!(out, "{} and {}", plural(errors, "error"), plural(warnings, "warning"));
    }
    out
}

/// The candidate closest to `word` by edit distance (case-insensitive), if it is close enough to be
/// a likely misspelling. Used for "did you mean" hints.
#[must_use]
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let lowered = candidate.to_lowercase();
        // A shortened word (`bool` for `boolean`) is as good as a one-letter typo.
        let distance = if word.len() >= 3 && lowered.starts_with(&word) { 1 } else { edit_distance(&word, &lowered) };
        let limit = (candidate.chars().count().max(word.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Levenshtein distance with adjacent transpositions counted as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous_previous: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut current = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1).min(current[j - 1] + 1).min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(previous_previous[j - 2] + 1);
            }
        }
        previous_previous = previous;
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_column_source_and_caret() {
        let mut sources = SourceMap::new();
        let file = sources.add("azure-pipelines.yml", "jobs:\n- job: A\n  stpes:\n  - script: echo\n");
        let diagnostic = Diagnostic::error(
            "V0001",
            "unknown key `stpes` in a job",
            Some(Span::new(file, Position::new(3, 3), Position::new(3, 8))),
        )
        .with_hint("did you mean `steps`?");
        insta::assert_snapshot!(render(&diagnostic, &sources), @r"
        error[V0001]: unknown key `stpes` in a job
         --> azure-pipelines.yml:3:3
          |
        3 |   stpes:
          |   ^^^^^
          = hint: did you mean `steps`?
        ");
    }

    #[test]
    fn did_you_mean_finds_close_words_only() {
        assert_eq!(did_you_mean("stpes", ["steps", "stages", "jobs"]), Some("steps"));
        assert_eq!(did_you_mean("DISPLAYNAME", ["displayName"]), Some("displayName"));
        assert_eq!(did_you_mean("banana", ["steps", "jobs"]), None);
        assert_eq!(did_you_mean("bool", ["string", "boolean", "number"]), Some("boolean"));
    }

    #[test]
    fn narrow_points_inside_a_single_line_span() {
        let span = Span::new(FileId(0), Position::new(2, 10), Position::new(2, 30));
        let narrowed = span.narrow(4, 3);
        assert_eq!(narrowed.start, Position::new(2, 14));
        assert_eq!(narrowed.end, Position::new(2, 17));
        let multi = Span::new(FileId(0), Position::new(2, 10), Position::new(4, 1));
        assert_eq!(multi.narrow(4, 3), multi);
    }
}
