//! File patterns as the Azure task library matches them (`findMatch` with its default options:
//! minimatch with `dot: true`, extended globs on, braces off, case-sensitive off Windows).
//!
//! A pattern list has one pattern per line; blank lines and lines starting with `#` are ignored;
//! a line starting with `!` removes what it matches from the matches so far; relative patterns
//! are rooted at the search root. Supported syntax: `*`, `?`, `**` as a whole path segment,
//! `[abc]`, `[a-z]`, `[!a]`, and the extended globs `@(a|b)`, `?(a|b)`, `+(a|b)`, `*(a|b)`, `!(a|b)`.
//!
//! Some tasks call minimatch with other options than `findMatch`'s (`DeleteFiles` and
//! `ExtractFiles` match with `dot: false` and brace expansion on): [`Pattern::with_dot`] and
//! [`expand_braces`] cover them.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyChar,
    Star,
    Class { negated: bool, ranges: Vec<(char, char)> },
    Extended { kind: char, alternatives: Vec<Vec<Token>> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    GlobStar,
    Tokens(Vec<Token>),
}

/// A compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    segments: Vec<Segment>,
    /// Whether the pattern started with `/` (matches absolute paths).
    absolute: bool,
    /// Whether wildcards match names starting with `.` (minimatch's `dot`).
    dot: bool,
}

impl Pattern {
    /// Compiles a pattern. Never fails: malformed classes and groups match literally.
    #[must_use]
    pub fn new(pattern: &str) -> Self {
        let pattern = pattern.replace('\\', "/");
        let absolute = pattern.starts_with('/');
        let segments = pattern
            .split('/')
            .filter(|segment| !segment.is_empty() && *segment != ".")
            .map(|segment| if segment == "**" { Segment::GlobStar } else { Segment::Tokens(tokens(segment)) })
            .collect();
        Self { segments, absolute, dot: true }
    }

    /// Sets minimatch's `dot` option (on in `findMatch`). Off, a name starting with `.` matches
    /// only a pattern segment that starts with a literal `.`, and `**` does not enter it.
    #[must_use]
    pub fn with_dot(mut self, dot: bool) -> Self {
        self.dot = dot;
        self
    }

    /// Whether a `/`-separated path matches (absolute paths for absolute patterns, relative
    /// paths otherwise).
    #[must_use]
    pub fn matches(&self, path: &str) -> bool {
        let path = path.replace('\\', "/");
        let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty() && *part != ".").collect();
        match_segments(&self.segments, &parts, self.dot)
    }

    /// The leading segments with no glob characters, as a path: where a search can start.
    #[must_use]
    pub fn literal_prefix(&self) -> PathBuf {
        let mut prefix = PathBuf::from(if self.absolute { "/" } else { "" });
        for segment in &self.segments {
            let literal = match segment {
                Segment::Tokens(tokens) => tokens.iter().map(Token::literal_char).collect::<Option<String>>(),
                Segment::GlobStar => None,
            };
            match literal {
                Some(literal) => prefix.push(literal),
                None => break,
            }
        }
        prefix
    }
}

impl Token {
    /// The one character this token matches, if it matches exactly one (a literal, or a class
    /// of one character such as the `[*]` that [`escape`] writes).
    fn literal_char(&self) -> Option<char> {
        match self {
            Self::Literal(c) => Some(*c),
            Self::Class { negated: false, ranges } => match ranges.as_slice() {
                [(low, high)] if low == high => Some(*low),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Writes `text` (a path) into a pattern so that it matches only itself: the characters that
/// have a meaning in a pattern (`[`, `*`, `?`, `(`, and `{`, `}` for brace expansion) become
/// one-character classes, as `CopyFiles` does for `[` in its source folder.
#[must_use]
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '[' | '*' | '?' | '(' | '{' | '}') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

/// Reads a segment's tokens. Unbalanced `[` or `(` are taken literally.
fn tokens(segment: &str) -> Vec<Token> {
    let chars: Vec<char> = segment.chars().collect();
    parse_tokens(&chars, &mut 0, false)
}

fn parse_tokens(chars: &[char], index: &mut usize, in_group: bool) -> Vec<Token> {
    let mut out = Vec::new();
    while let Some(&c) = chars.get(*index) {
        if in_group && (c == '|' || c == ')') {
            break;
        }
        match c {
            '*' | '?' | '+' | '@' | '!'
                if chars.get(*index + 1) == Some(&'(') && closing_paren(chars, *index + 1).is_some() =>
            {
                *index += 2;
                let mut alternatives = vec![parse_tokens(chars, index, true)];
                while chars.get(*index) == Some(&'|') {
                    *index += 1;
                    alternatives.push(parse_tokens(chars, index, true));
                }
                *index += 1; // the `)`
                out.push(Token::Extended { kind: c, alternatives });
            }
            '*' => {
                *index += 1;
                if out.last() != Some(&Token::Star) {
                    out.push(Token::Star);
                }
            }
            '?' => {
                *index += 1;
                out.push(Token::AnyChar);
            }
            '[' => match parse_class(chars, *index) {
                Some((token, next)) => {
                    out.push(token);
                    *index = next;
                }
                None => {
                    out.push(Token::Literal('['));
                    *index += 1;
                }
            },
            '\\' if chars.get(*index + 1).is_some() => {
                out.push(Token::Literal(chars[*index + 1]));
                *index += 2;
            }
            c => {
                out.push(Token::Literal(c));
                *index += 1;
            }
        }
    }
    out
}

fn closing_paren(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (offset, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(offset);
                }
            }
            _ => {}
        }
    }
    None
}

/// `[...]` starting at `start`: the class token and the index after `]`.
fn parse_class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut index = start + 1;
    let negated = matches!(chars.get(index), Some('!' | '^'));
    if negated {
        index += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(index)?;
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, index + 1));
        }
        first = false;
        if chars.get(index + 1) == Some(&'-') && chars.get(index + 2).is_some_and(|end| *end != ']') {
            ranges.push((c, chars[index + 2]));
            index += 3;
        } else {
            ranges.push((c, c));
            index += 1;
        }
    }
}

fn match_segments(segments: &[Segment], parts: &[&str], dot: bool) -> bool {
    match segments.split_first() {
        None => parts.is_empty(),
        Some((Segment::GlobStar, rest)) => (0..=parts.len())
            .take_while(|&skip| dot || skip == 0 || !parts[skip - 1].starts_with('.'))
            .any(|skip| match_segments(rest, &parts[skip..], dot)),
        Some((Segment::Tokens(tokens), rest)) => match parts.split_first() {
            Some((part, remaining)) => {
                let hidden_allowed = dot || !part.starts_with('.') || tokens.first() == Some(&Token::Literal('.'));
                let chars: Vec<char> = part.chars().collect();
                hidden_allowed && match_tokens(tokens, &chars) && match_segments(rest, remaining, dot)
            }
            None => false,
        },
    }
}

/// Whether `text` matches `tokens` entirely (backtracking).
fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    let Some((token, rest)) = tokens.split_first() else { return text.is_empty() };
    match token {
        Token::Literal(c) => text.first() == Some(c) && match_tokens(rest, &text[1..]),
        Token::AnyChar => !text.is_empty() && match_tokens(rest, &text[1..]),
        Token::Star => (0..=text.len()).any(|taken| match_tokens(rest, &text[taken..])),
        Token::Class { negated, ranges } => {
            text.first().is_some_and(|c| ranges.iter().any(|(low, high)| (low..=high).contains(&c)) != *negated)
                && match_tokens(rest, &text[1..])
        }
        Token::Extended { kind, alternatives } => {
            let one = |piece: &[char]| alternatives.iter().any(|alternative| match_tokens(alternative, piece));
            match kind {
                '@' => (0..=text.len()).any(|end| one(&text[..end]) && match_tokens(rest, &text[end..])),
                '?' => {
                    match_tokens(rest, text)
                        || (0..=text.len()).any(|end| one(&text[..end]) && match_tokens(rest, &text[end..]))
                }
                '!' => (0..=text.len()).any(|end| !one(&text[..end]) && match_tokens(rest, &text[end..])),
                // `+(...)` and `*(...)`: repeat the group, each repetition taking at least one char.
                _ => {
                    (*kind == '*' && match_tokens(rest, text))
                        || (1..=text.len()).any(|end| {
                            one(&text[..end])
                                && (match_tokens(rest, &text[end..])
                                    || match_tokens(
                                        &[Token::Extended { kind: '*', alternatives: alternatives.clone() }]
                                            .iter()
                                            .chain(rest)
                                            .cloned()
                                            .collect::<Vec<_>>(),
                                        &text[end..],
                                    ))
                        })
                }
            }
        }
    }
}

/// Every file and directory below `root` (not `root` itself) matching the pattern list, as the
/// task library's `findMatch` returns them: absolute paths, sorted, without duplicates.
/// Unreadable directories are skipped.
#[must_use]
pub fn find_match(root: &Path, patterns: &[String]) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = Vec::new();
    for line in patterns {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bangs = line.chars().take_while(|c| *c == '!').count();
        let pattern_text = &line[bangs..];
        let exclude = bangs % 2 == 1;
        let rooted = if Path::new(pattern_text).is_absolute() {
            pattern_text.to_owned()
        } else {
            format!("{}/{}", escape(root.display().to_string().trim_end_matches('/')), pattern_text)
        };
        let pattern = Pattern::new(&rooted);
        if exclude {
            found.retain(|path| !pattern.matches(&path.display().to_string()));
            continue;
        }
        let start = pattern.literal_prefix();
        for path in walk(&start) {
            if pattern.matches(&path.display().to_string()) && !found.contains(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// `start` (when it exists) and everything below it, as the task library's `find` lists them:
/// depth first, sorted by name within a directory, without following symbolic links to
/// directories. Unreadable directories are skipped.
#[must_use]
pub fn find(start: &Path) -> Vec<PathBuf> {
    walk(start)
}

/// The most patterns one brace expansion yields; the rest of a larger expansion is dropped.
const MAX_BRACE_EXPANSIONS: usize = 4096;
/// Braces nested deeper than this, and sequences with wider numbers, are taken literally.
const MAX_BRACE_DEPTH: usize = 32;

/// Expands braces as minimatch does when `nobrace` is off (the `brace-expansion` package):
/// `a{b,c}d` gives `abd` and `acd`, alternatives nest, `{1..3}`, `{01..10..3}` and `{a..e}` are
/// sequences, and a group without a comma or sequence (`{a}`, `{}`) or after `$` stays as it
/// is. Unbalanced braces are literal. Yields at most 4096 patterns; groups nested deeper than
/// 32 levels stay as they are.
#[must_use]
pub fn expand_braces(pattern: &str) -> Vec<String> {
    let mut out = expand_braces_within(pattern, MAX_BRACE_EXPANSIONS, 0);
    out.truncate(MAX_BRACE_EXPANSIONS);
    out
}

fn expand_braces_within(pattern: &str, budget: usize, depth: usize) -> Vec<String> {
    if depth > MAX_BRACE_DEPTH {
        return vec![pattern.to_owned()];
    }
    let Some((open, close)) = first_brace_group(pattern) else { return vec![pattern.to_owned()] };
    let pre = &pattern[..open];
    let body = &pattern[open + 1..close];
    let post_expanded = expand_braces_within(&pattern[close + 1..], budget, depth + 1);
    let alternatives: Vec<String> = if pre.ends_with('$') {
        vec![format!("{{{body}}}")]
    } else {
        let parts = split_top_level_commas(body);
        if parts.len() > 1 {
            parts.iter().flat_map(|part| expand_braces_within(part, budget, depth + 1)).take(budget).collect()
        } else if let Some(sequence) = brace_sequence(body, budget) {
            sequence
        } else {
            vec![format!("{{{body}}}")]
        }
    };
    let mut out = Vec::new();
    for alternative in &alternatives {
        for post in &post_expanded {
            if out.len() >= budget {
                return out;
            }
            out.push(format!("{pre}{alternative}{post}"));
        }
    }
    out
}

/// The byte offsets of the first `{` that has a balancing `}`, and of that `}`.
fn first_brace_group(pattern: &str) -> Option<(usize, usize)> {
    let bytes = pattern.as_bytes();
    let mut search_from = 0;
    while let Some(offset) = pattern[search_from..].find('{') {
        let open = search_from + offset;
        if open > 0 && bytes[open - 1] == b'\\' {
            search_from = open + 1;
            continue;
        }
        let mut depth = 0usize;
        for (index, &byte) in bytes.iter().enumerate().skip(open) {
            match byte {
                b'{' if index == open || bytes[index - 1] != b'\\' => depth += 1,
                b'}' if bytes[index - 1] != b'\\' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some((open, index));
                    }
                }
                _ => {}
            }
        }
        search_from = open + 1;
    }
    None
}

fn split_top_level_commas(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (index, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(&body[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    parts.push(&body[start..]);
    parts
}

/// `1..5`, `5..1`, `01..10..2`, `a..e`: the values, when `body` is a sequence.
fn brace_sequence(body: &str, budget: usize) -> Option<Vec<String>> {
    let pieces: Vec<&str> = body.split("..").collect();
    if !(2..=3).contains(&pieces.len()) {
        return None;
    }
    let step: i64 = match pieces.get(2) {
        Some(step) => step.parse::<i64>().ok()?.checked_abs()?.max(1),
        None => 1,
    };
    let take = |count: usize| count.min(budget);
    if let (Ok(first), Ok(last)) = (pieces[0].parse::<i64>(), pieces[1].parse::<i64>()) {
        let width = if [pieces[0], pieces[1]]
            .iter()
            .any(|piece| piece.trim_start_matches('-').len() > 1 && piece.trim_start_matches('-').starts_with('0'))
        {
            pieces[0].len().max(pieces[1].len())
        } else {
            0
        };
        if width > 64 {
            return None;
        }
        let ascending = first <= last;
        let count =
            take(usize::try_from(first.abs_diff(last) / step.unsigned_abs()).unwrap_or(usize::MAX).saturating_add(1));
        let values = (0..count).filter_map(|index| {
            let offset = i64::try_from(index).ok()?.checked_mul(step)?;
            let value = if ascending { first.checked_add(offset)? } else { first.checked_sub(offset)? };
            Some(if value < 0 {
                format!("-{:0>width$}", value.unsigned_abs(), width = width.saturating_sub(1))
            } else {
                format!("{value:0>width$}")
            })
        });
        return Some(values.collect());
    }
    let single = |piece: &str| {
        let mut chars = piece.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_alphabetic() => Some(c as u8),
            _ => None,
        }
    };
    let (first, last) = (single(pieces[0])?, single(pieces[1])?);
    let (low, high) = (first.min(last), first.max(last));
    let step = usize::try_from(step).unwrap_or(usize::MAX);
    let mut values: Vec<String> = (low..=high).step_by(step).map(|byte| char::from(byte).to_string()).collect();
    if first > last {
        values = (low..=high).rev().step_by(step).map(|byte| char::from(byte).to_string()).collect();
    }
    values.truncate(budget);
    Some(values)
}

/// `start` (when it exists) and everything below it, depth first, without following symbolic
/// links to directories.
fn walk(start: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if std::fs::symlink_metadata(start).is_err() {
        return out;
    }
    let mut stack = vec![start.to_path_buf()];
    while let Some(path) = stack.pop() {
        let is_directory = std::fs::symlink_metadata(&path).map(|metadata| metadata.is_dir()).unwrap_or(false);
        out.push(path.clone());
        if is_directory && let Ok(entries) = std::fs::read_dir(&path) {
            let mut children: Vec<PathBuf> = entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
            children.sort();
            stack.extend(children.into_iter().rev());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern).matches(path)
    }

    #[test]
    fn minimatch_basics_with_dot_files() {
        assert!(matches("*.txt", "a.txt"));
        assert!(!matches("*.txt", "dir/a.txt"));
        assert!(matches("**/*.txt", "a.txt"));
        assert!(matches("**/*.txt", "dir/sub/a.txt"));
        assert!(matches("**", ".hidden/file"), "dot: true matches dot files");
        assert!(matches("*", ".env"));
        assert!(matches("src/**", "src"));
        assert!(matches("src/**/x?.rs", "src/a/b/x1.rs"));
        assert!(matches("[a-c]*.log", "b-1.log"));
        assert!(!matches("[!a-c]*.log", "b-1.log"));
        assert!(!matches("*.TXT", "a.txt"), "case-sensitive off Windows");
        assert!(matches("{a,b}.txt", "{a,b}.txt"), "braces are off, as in the task library");
    }

    #[test]
    fn extended_globs() {
        assert!(matches("@(bin|obj)/**", "obj/Debug/x.dll"));
        assert!(!matches("@(bin|obj)/**", "src/x.cs"));
        assert!(matches("*.@(dll|exe)", "app.exe"));
        assert!(matches("!(*.md)", "main.rs"));
        assert!(!matches("!(*.md)", "README.md"));
        assert!(matches("a+(xy).txt", "axyxy.txt"));
        assert!(matches("a*(xy).txt", "a.txt"));
        assert!(matches("a?(xy).txt", "axy.txt"));
        assert!(!matches("a?(xy).txt", "axyxy.txt"));
    }

    #[test]
    fn find_match_takes_the_root_literally() {
        let base = tempfile::tempdir().expect("temporary directory");
        let root = base.path().join("a[1] *?(x){y,z}");
        std::fs::create_dir_all(root.join("sub")).expect("directory");
        std::fs::write(root.join("sub/f.txt"), "x").expect("file");
        let found = find_match(&root, &["**/*.txt".into()]);
        assert_eq!(found, vec![root.join("sub/f.txt")]);
        assert_eq!(Pattern::new(&format!("{}/*", escape("/r/a[1]"))).literal_prefix(), PathBuf::from("/r/a[1]"));
    }

    #[test]
    fn dot_off_keeps_wildcards_and_globstars_out_of_dot_names() {
        let hidden = |pattern: &str, path: &str| Pattern::new(pattern).with_dot(false).matches(path);
        assert!(!hidden("*", ".env"));
        assert!(!hidden("**/*.txt", "a/.hidden.txt"));
        assert!(!hidden("**/*.txt", ".git/a.txt"), "** does not enter dot directories");
        assert!(!hidden("a/**", "a/.git/config"));
        assert!(hidden(".*", ".env"), "a literal leading dot matches");
        assert!(hidden("**/.*.txt", "a/.hidden.txt"));
        assert!(hidden("/tmp/.work/**/*.txt", "/tmp/.work/a/b.txt"), "literal dot segments match");
        assert!(hidden("**/*.txt", "a/b.txt"));
    }

    #[test]
    fn braces_expand_like_minimatch() {
        assert_eq!(expand_braces("some/{one,four}"), vec!["some/one", "some/four"]);
        assert_eq!(expand_braces("a{b,{c,d}}e{1,2}"), vec!["abe1", "abe2", "ace1", "ace2", "ade1", "ade2"]);
        assert_eq!(expand_braces("x{1..3}"), vec!["x1", "x2", "x3"]);
        assert_eq!(expand_braces("{3..1}"), vec!["3", "2", "1"]);
        assert_eq!(expand_braces("{01..05..2}"), vec!["01", "03", "05"]);
        assert_eq!(expand_braces("{a..c}"), vec!["a", "b", "c"]);
        assert_eq!(expand_braces("{a}{}"), vec!["{a}{}"]);
        assert_eq!(expand_braces("${a,b}"), vec!["${a,b}"]);
        assert_eq!(expand_braces("{a,b"), vec!["{a,b"]);
        assert_eq!(expand_braces("\\{a,b}"), vec!["\\{a,b}"]);
        assert_eq!(expand_braces("{1..999999999}").len(), MAX_BRACE_EXPANSIONS);
        assert_eq!(expand_braces("{-2..2..2}"), vec!["-2", "0", "2"]);
        let deep = format!("{}x{}", "{a,".repeat(10_000), "}".repeat(10_000));
        assert!(!expand_braces(&deep).is_empty(), "deep nesting neither overflows nor hangs");
        let wide = format!("{{{}1..2}}", "0".repeat(100));
        assert_eq!(expand_braces(&wide), vec![wide.clone()]);
    }

    #[test]
    fn find_match_applies_includes_then_excludes_in_order() {
        let root = tempfile::tempdir().expect("temporary directory");
        for file in ["a.txt", "b.log", "sub/c.txt", "sub/.hidden.txt", "node_modules/x.txt"] {
            let path = root.path().join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("directory");
            std::fs::write(path, "x").expect("file");
        }
        let found = find_match(
            root.path(),
            &["# comment".into(), "**/*.txt".into(), "!node_modules/**".into(), String::new(), "b.log".into()],
        );
        let relative: Vec<String> = found
            .iter()
            .map(|path| path.strip_prefix(root.path()).expect("below root").display().to_string())
            .collect();
        assert_eq!(relative, vec!["a.txt", "b.log", "sub/.hidden.txt", "sub/c.txt"]);
    }
}
