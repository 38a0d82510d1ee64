//! Log lines to HTML: HTML escaping, Azure's `##[kind]` prefixes, ANSI colours (SGR) and the
//! folding of `##[group]` ... `##[endgroup]` sections.
//!
//! A log is turned into a list of [`Op`]s that the page's script applies in order (open a group,
//! add a line, close the group), so that a log streamed in pieces folds the same as a whole one.
//! Groups do not nest, as in Azure's log view: a `##[group]` inside a group closes it first.

use slipway_events::LogKind;

/// Appends `text` to `out` with `&`, `<`, `>`, `"` and `'` escaped, safe in element content and
/// in quoted attribute values.
pub(crate) fn escape_into(out: &mut String, text: &str) {
    for character in text.chars() {
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
}

/// `text` with HTML's special characters escaped.
#[must_use]
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

/// The CSS class of lines of a kind (empty for plain lines and groups).
#[must_use]
pub(crate) fn class(kind: LogKind) -> &'static str {
    match kind {
        LogKind::Output | LogKind::Group | LogKind::EndGroup => "",
        LogKind::Section => "k-section",
        LogKind::Warning => "k-warning",
        LogKind::Error => "k-error",
        LogKind::Debug => "k-debug",
        LogKind::Command => "k-command",
    }
}

/// The style that SGR sequences have set so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Style {
    foreground: Option<u8>,
    background: Option<u8>,
    bold: bool,
}

impl Style {
    fn is_plain(self) -> bool {
        self == Self::default()
    }

    fn open(self, out: &mut String) {
        out.push_str("<span class=\"");
        let mut classes = Vec::new();
        if self.bold {
            classes.push("a-b".to_owned());
        }
        if let Some(color) = self.foreground {
            classes.push(format!("a-f{color}"));
        }
        if let Some(color) = self.background {
            classes.push(format!("a-g{color}"));
        }
        out.push_str(&classes.join(" "));
        out.push_str("\">");
    }

    /// Applies one SGR sequence's parameters (`1;31`); unknown ones are ignored.
    fn apply(&mut self, parameters: &str) {
        let mut numbers =
            parameters.split([';', ':']).map(|part| if part.is_empty() { Some(0) } else { part.parse::<u16>().ok() });
        while let Some(number) = numbers.next() {
            match number {
                Some(0) => *self = Self::default(),
                Some(1) => self.bold = true,
                Some(22) => self.bold = false,
                Some(code @ 30..=37) => self.foreground = u8::try_from(code - 30).ok(),
                Some(39) => self.foreground = None,
                Some(code @ 40..=47) => self.background = u8::try_from(code - 40).ok(),
                Some(49) => self.background = None,
                Some(code @ 90..=97) => self.foreground = u8::try_from(code - 90 + 8).ok(),
                Some(code @ 100..=107) => self.background = u8::try_from(code - 100 + 8).ok(),
                Some(code @ (38 | 48)) => {
                    // 256 colours (`38;5;N`) keep the 16 basic ones; true colour (`38;2;R;G;B`) is skipped.
                    let color = match numbers.next() {
                        Some(Some(5)) => numbers
                            .next()
                            .flatten()
                            .and_then(|index| u8::try_from(index).ok())
                            .filter(|index| *index < 16),
                        Some(Some(2)) => {
                            numbers.next();
                            numbers.next();
                            numbers.next();
                            None
                        }
                        _ => None,
                    };
                    if code == 38 {
                        self.foreground = color;
                    } else {
                        self.background = color;
                    }
                }
                _ => {}
            }
        }
    }
}

/// Renders text with ANSI escape sequences as escaped HTML: SGR colours (30–37, 90–97, their
/// backgrounds, 256-colour indexes below 16) and bold become `<span>`s with classes (`a-fN`
/// foreground, `a-gN` background, `a-b` bold); other escape sequences and control characters
/// (but tabs) are dropped.
#[must_use]
pub(crate) fn ansi_to_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut style = Style::default();
    let mut open = false;
    let mut pending = Style::default();
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        if character == '\u{1b}' {
            match characters.peek() {
                Some('[') => {
                    characters.next();
                    let mut parameters = String::new();
                    let mut final_byte = None;
                    for next in characters.by_ref() {
                        if ('\u{40}'..='\u{7e}').contains(&next) {
                            final_byte = Some(next);
                            break;
                        }
                        parameters.push(next);
                    }
                    if final_byte == Some('m') {
                        pending.apply(&parameters);
                    }
                }
                Some(']') => {
                    // An operating system command (a title, a hyperlink): skipped to its end.
                    characters.next();
                    while let Some(next) = characters.next() {
                        if next == '\u{7}' {
                            break;
                        }
                        if next == '\u{1b}' && characters.peek() == Some(&'\\') {
                            characters.next();
                            break;
                        }
                    }
                }
                Some(_) => {
                    characters.next();
                }
                None => {}
            }
            continue;
        }
        if character.is_control() && character != '\t' {
            continue;
        }
        if pending != style {
            if open {
                out.push_str("</span>");
                open = false;
            }
            if !pending.is_plain() {
                pending.open(&mut out);
                open = true;
            }
            style = pending;
        }
        match character {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    if open {
        out.push_str("</span>");
    }
    out
}

/// One step of building a log's HTML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Open a collapsible group at line `line` (from 0), titled with this HTML.
    Open {
        /// The line's number, from 0.
        line: i64,
        /// The title as HTML.
        html: String,
    },
    /// A line (from 0) with its CSS class and HTML.
    Line {
        /// The line's number, from 0.
        line: i64,
        /// The CSS class (empty for plain lines).
        class: &'static str,
        /// The text as HTML.
        html: String,
    },
    /// Close the open group.
    Close,
}

/// Turns log lines into [`Op`]s, remembering across calls whether a group is open.
#[derive(Clone, Debug, Default)]
pub(crate) struct Folder {
    open: bool,
}

impl Folder {
    /// The ops for `lines`, the first of which is line `first_line` of the log (from 0).
    pub(crate) fn fold<'a>(&mut self, first_line: i64, lines: impl IntoIterator<Item = &'a str>) -> Vec<Op> {
        let mut ops = Vec::new();
        for (line, text) in (first_line..).zip(lines) {
            let (kind, rest) = LogKind::split_line(text);
            match kind {
                LogKind::Group => {
                    if self.open {
                        ops.push(Op::Close);
                    }
                    ops.push(Op::Open { line, html: ansi_to_html(rest) });
                    self.open = true;
                }
                LogKind::EndGroup if self.open => {
                    ops.push(Op::Close);
                    self.open = false;
                }
                // An `##[endgroup]` with no open group shows nothing, as in Azure.
                LogKind::EndGroup => {}
                other => ops.push(Op::Line { line, class: class(other), html: ansi_to_html(rest) }),
            }
        }
        ops
    }
}

/// Ops as the JSON the page's script reads: `["o", line, html]`, `["l", line, class, html]`,
/// `["c"]`.
#[must_use]
pub(crate) fn ops_json(ops: &[Op]) -> serde_json::Value {
    ops.iter()
        .map(|op| match op {
            Op::Open { line, html } => serde_json::json!(["o", line, html]),
            Op::Line { line, class, html } => serde_json::json!(["l", line, class, html]),
            Op::Close => serde_json::json!(["c"]),
        })
        .collect()
}

/// Ops as static HTML, the way the page's script builds them (for the tests of folding):
/// lines are `<div class="ln" id="L{n}">` with a link to themselves, groups are `<details>`
/// elements.
#[cfg(test)]
fn ops_html(ops: &[Op]) -> String {
    use std::fmt::Write as _;

    let mut out = String::new();
    let mut open = false;
    for op in ops {
        match op {
            Op::Open { line, html } => {
                if open {
                    out.push_str("</div></details>");
                }
                let number = line + 1;
                let _ = write!(
                    out,
                    "<details class=\"grp\"><summary id=\"L{number}\"><a class=\"no\" href=\"#L{number}\">{number}</a>{html}</summary><div>"
                );
                open = true;
            }
            Op::Line { line, class, html } => {
                let number = line + 1;
                let _ = write!(
                    out,
                    "<div class=\"ln {class}\" id=\"L{number}\"><a class=\"no\" href=\"#L{number}\">{number}</a>{html}</div>"
                );
            }
            Op::Close => {
                if open {
                    out.push_str("</div></details>");
                    open = false;
                }
            }
        }
    }
    if open {
        out.push_str("</div></details>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn prefixes_are_recognised_ignoring_case() {
        assert_eq!(class(LogKind::split_line("##[error]bad").0), "k-error");
        assert_eq!(class(LogKind::split_line("##[unknown]x").0), "");
    }

    #[test]
    fn ansi_colours_become_spans() {
        assert_eq!(ansi_to_html("\u{1b}[31mred\u{1b}[0m plain"), "<span class=\"a-f1\">red</span> plain");
        assert_eq!(
            ansi_to_html("\u{1b}[1;92mok\u{1b}[39m!\u{1b}[m"),
            "<span class=\"a-b a-f10\">ok</span><span class=\"a-b\">!</span>"
        );
        assert_eq!(ansi_to_html("\u{1b}[44;97mx"), "<span class=\"a-f15 a-g4\">x</span>");
        assert_eq!(ansi_to_html("\u{1b}[38;5;3my\u{1b}[38;5;200mz"), "<span class=\"a-f3\">y</span>z");
        assert_eq!(ansi_to_html("\u{1b}[38;2;1;2;3mt\u{1b}[0m"), "t");
    }

    #[test]
    fn other_escapes_and_controls_are_dropped_and_text_escaped() {
        assert_eq!(ansi_to_html("a\u{1b}[2Kb\u{1b}]0;title\u{7}c\rd\te"), "abcd\te");
        assert_eq!(ansi_to_html("\u{1b}[31m<b>&</b>"), "<span class=\"a-f1\">&lt;b&gt;&amp;&lt;/b&gt;</span>");
        assert_eq!(ansi_to_html("end\u{1b}"), "end");
        assert_eq!(ansi_to_html("\u{1b}[31"), "");
    }

    #[test]
    fn groups_fold_and_do_not_nest() {
        let lines = [
            "before",
            "##[group]First <1>",
            "inside",
            "##[group]Second",
            "##[endgroup]",
            "##[endgroup]",
            "##[warning]after",
        ];
        let ops = Folder::default().fold(0, lines);
        assert_eq!(
            ops,
            vec![
                Op::Line { line: 0, class: "", html: "before".into() },
                Op::Open { line: 1, html: "First &lt;1&gt;".into() },
                Op::Line { line: 2, class: "", html: "inside".into() },
                Op::Close,
                Op::Open { line: 3, html: "Second".into() },
                Op::Close,
                Op::Line { line: 6, class: "k-warning", html: "after".into() },
            ]
        );
        let html = ops_html(&ops);
        assert!(
            html.starts_with(
                "<div class=\"ln \" id=\"L1\"><a class=\"no\" href=\"#L1\">1</a>before</div><details class=\"grp\">"
            ),
            "{html}"
        );
        assert_eq!(html.matches("<details").count(), 2);
        assert_eq!(html.matches("</details>").count(), 2);
    }

    #[test]
    fn a_group_stays_open_across_pieces() {
        let mut folder = Folder::default();
        let first = folder.fold(0, ["##[group]Install", "one"]);
        let second = folder.fold(2, ["two", "##[endgroup]", "done"]);
        assert_eq!(first.len(), 2);
        assert_eq!(
            second,
            vec![
                Op::Line { line: 2, class: "", html: "two".into() },
                Op::Close,
                Op::Line { line: 4, class: "", html: "done".into() },
            ]
        );
        assert_eq!(ops_json(&second)[1], serde_json::json!(["c"]));
        assert_eq!(ops_json(&first)[0], serde_json::json!(["o", 0, "Install"]));
    }
}
