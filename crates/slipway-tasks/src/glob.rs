//! File patterns as the Azure task library matches them (`findMatch` with its default options:
//! minimatch with `dot: true`, extended globs on, braces off, case-sensitive off Windows).
//!
//! A pattern list has one pattern per line; blank lines and lines starting with `#` are ignored;
//! a line starting with `!` removes what it matches from the matches so far; relative patterns
//! are rooted at the search root. Supported syntax: `*`, `?`, `**` as a whole path segment,
//! `[abc]`, `[a-z]`, `[!a]`, and the extended globs `@(a|b)`, `?(a|b)`, `+(a|b)`, `*(a|b)`, `!(a|b)`.

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
        Self { segments, absolute }
    }

    /// Whether a `/`-separated path matches (absolute paths for absolute patterns, relative
    /// paths otherwise).
    #[must_use]
    pub fn matches(&self, path: &str) -> bool {
        let path = path.replace('\\', "/");
        let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty() && *part != ".").collect();
        match_segments(&self.segments, &parts)
    }

    /// The leading segments with no glob characters, as a path: where a search can start.
    #[must_use]
    pub fn literal_prefix(&self) -> PathBuf {
        let mut prefix = PathBuf::from(if self.absolute { "/" } else { "" });
        for segment in &self.segments {
            match segment {
                Segment::Tokens(tokens) if tokens.iter().all(|token| matches!(token, Token::Literal(_))) => {
                    prefix.push(
                        tokens
                            .iter()
                            .map(|token| if let Token::Literal(c) = token { *c } else { ' ' })
                            .collect::<String>(),
                    );
                }
                _ => break,
            }
        }
        prefix
    }
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

fn match_segments(segments: &[Segment], parts: &[&str]) -> bool {
    match segments.split_first() {
        None => parts.is_empty(),
        Some((Segment::GlobStar, rest)) => (0..=parts.len()).any(|skip| match_segments(rest, &parts[skip..])),
        Some((Segment::Tokens(tokens), rest)) => match parts.split_first() {
            Some((part, remaining)) => {
                let chars: Vec<char> = part.chars().collect();
                match_tokens(tokens, &chars) && match_segments(rest, remaining)
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
            format!("{}/{}", root.display().to_string().trim_end_matches('/'), pattern_text)
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
        if is_directory {
            if let Ok(entries) = std::fs::read_dir(&path) {
                let mut children: Vec<PathBuf> =
                    entries.filter_map(|entry| entry.ok().map(|entry| entry.path())).collect();
                children.sort();
                stack.extend(children.into_iter().rev());
            }
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
