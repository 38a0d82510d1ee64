//! GitHub Actions filter patterns, for `branches`, `tags`, `paths` and their `-ignore` forms.
//!
//! From *Workflow syntax for GitHub Actions*, "Filter pattern cheat sheet":
//!
//! - `*` matches zero or more characters but not `/`; `**` matches zero or more of any character;
//!   `**/` at the front of a path segment also matches nothing (`**/README.md` matches
//!   `README.md`, as the cheat sheet's table shows);
//! - `?` matches zero or one of the *preceding* character and `+` one or more of it (`*.jsx?`
//!   matches `page.js` and `page.jsx`; `v[12].[0-9]+.[0-9]+` matches `v1.10.1`); at the very start
//!   of a pattern, where nothing precedes them, they are literal, and a `+` after a wildcard or
//!   another quantifier (`C++`) is refused, as the regular expressions they stand for refuse it;
//! - `[]` matches one character listed or in a range, ranges only within `a-z`, `A-Z` or `0-9`;
//! - `\` escapes the next character; `!` at the start of a pattern negates it, anywhere else it is
//!   an ordinary character;
//! - a pattern matches the whole name (a branch or tag's short name, or a path from the
//!   repository's root);
//! - "the order that you define patterns matters": the patterns of a list are checked in order and
//!   the last one that matches decides (a negative one excludes, a positive one includes again).
//!
//! Matching is case-sensitive, as the regular expressions GitHub's documentation describes are.
//! Each pattern is compiled to a small automaton simulated over the text (time proportional to the
//! product of the lengths, no backtracking), so hostile patterns cannot blow up.

use std::fmt;

/// What one position of a compiled pattern matches.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    /// One given character.
    Char(char),
    /// One character of a `[...]` class (inclusive ranges).
    Class(Vec<(char, char)>),
    /// `*`: any run of characters without `/`.
    Star,
    /// `**`: any run of characters.
    DoubleStar,
    /// `**/`: nothing, or any run of characters ending with `/`.
    AnyDirectories,
}

/// How often an [`Atom::Char`] or [`Atom::Class`] repeats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Repeat {
    Once,
    /// `?` after it.
    Optional,
    /// `+` after it.
    OneOrMore,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Piece {
    atom: Atom,
    repeat: Repeat,
}

/// A pattern that cannot be compiled, with what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the pattern `{pattern}` is not valid: {message}")]
pub struct PatternError {
    /// The pattern as written.
    pub pattern: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// One compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    written: String,
    negative: bool,
    pieces: Vec<Piece>,
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl Pattern {
    /// Compiles a pattern as written in a filter list.
    ///
    /// # Errors
    ///
    /// Empty brackets, a range outside `a-z`, `A-Z` or `0-9`, a character class left open, or a
    /// `\` with nothing after it.
    pub fn new(written: &str) -> Result<Self, PatternError> {
        let fail = |message: &str| PatternError { pattern: written.to_owned(), message: message.to_owned() };
        let (negative, body) = match written.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, written),
        };
        let chars: Vec<char> = body.chars().collect();
        let mut pieces: Vec<Piece> = Vec::new();
        let mut at = 0;
        while let Some(&c) = chars.get(at) {
            match c {
                '*' if chars.get(at + 1) == Some(&'*') => {
                    if chars.get(at + 2) == Some(&'/') {
                        pieces.push(Piece { atom: Atom::AnyDirectories, repeat: Repeat::Once });
                        at += 3;
                    } else {
                        pieces.push(Piece { atom: Atom::DoubleStar, repeat: Repeat::Once });
                        at += 2;
                    }
                }
                '*' => {
                    pieces.push(Piece { atom: Atom::Star, repeat: Repeat::Once });
                    at += 1;
                }
                '+' if at > 0
                    && pieces.last().is_some_and(|last| {
                        !matches!(last.atom, Atom::Char(_) | Atom::Class(_)) || last.repeat != Repeat::Once
                    }) =>
                {
                    // GitHub's regular expressions refuse a repetition of a repetition (`a++`, `*+`).
                    return Err(fail("a `+` follows a wildcard or another `+` or `?`: write `\\+` to match a `+`"));
                }
                '?' | '+' if at > 0 => {
                    // A quantifier on what precedes it; a `?` on a wildcard or after another
                    // quantifier only makes it lazy, which a whole-name match cannot tell apart.
                    if let Some(last) = pieces.last_mut()
                        && matches!(last.atom, Atom::Char(_) | Atom::Class(_))
                        && last.repeat == Repeat::Once
                    {
                        last.repeat = if c == '?' { Repeat::Optional } else { Repeat::OneOrMore };
                    }
                    at += 1;
                }
                '[' => {
                    let mut ranges = Vec::new();
                    at += 1;
                    if !chars[at..].contains(&']') {
                        return Err(fail("a `[` has no closing `]`: close it, or write `\\[` to match a `[`"));
                    }
                    if chars.get(at) == Some(&']') {
                        return Err(fail("`[]` lists no characters: write the characters or ranges to match inside"));
                    }
                    loop {
                        match chars.get(at) {
                            None => {
                                return Err(fail("a `[` has no closing `]`: close it, or write `\\[` to match a `[`"));
                            }
                            Some(']') => {
                                at += 1;
                                break;
                            }
                            Some(&low) => {
                                if !low.is_ascii_alphanumeric() {
                                    return Err(fail(&format!(
                                        "`{low}` cannot be listed in brackets: they hold only letters, digits and \
                                         ranges within `a-z`, `A-Z` or `0-9`"
                                    )));
                                }
                                if chars.get(at + 1) == Some(&'-')
                                    && let Some(&high) = chars.get(at + 2)
                                    && high != ']'
                                {
                                    let same_kind = (low.is_ascii_lowercase() && high.is_ascii_lowercase())
                                        || (low.is_ascii_uppercase() && high.is_ascii_uppercase())
                                        || (low.is_ascii_digit() && high.is_ascii_digit());
                                    if !same_kind || low > high {
                                        return Err(fail(&format!(
                                            "`{low}-{high}` is not a range GitHub accepts: ranges go upwards within \
                                             `a-z`, `A-Z` or `0-9`"
                                        )));
                                    }
                                    ranges.push((low, high));
                                    at += 3;
                                } else {
                                    ranges.push((low, low));
                                    at += 1;
                                }
                            }
                        }
                    }
                    pieces.push(Piece { atom: Atom::Class(ranges), repeat: Repeat::Once });
                }
                '\\' => {
                    let Some(&escaped) = chars.get(at + 1) else {
                        return Err(fail("it ends with `\\`, which escapes nothing: remove it or write `\\\\`"));
                    };
                    pieces.push(Piece { atom: Atom::Char(escaped), repeat: Repeat::Once });
                    at += 2;
                }
                other => {
                    pieces.push(Piece { atom: Atom::Char(other), repeat: Repeat::Once });
                    at += 1;
                }
            }
        }
        Ok(Self { written: written.to_owned(), negative, pieces })
    }

    /// The pattern as written.
    #[must_use]
    pub fn as_written(&self) -> &str {
        &self.written
    }

    /// Whether it starts with `!`.
    #[must_use]
    pub fn is_negative(&self) -> bool {
        self.negative
    }

    /// Whether the pattern (without its `!`) matches the whole of `text`.
    #[must_use]
    pub fn matches(&self, text: &str) -> bool {
        // State `2 * i + s`: before piece `i`; `s` is 1 once a `+` piece or the `.+` of `**/`
        // has taken a character.
        let count = self.pieces.len();
        let mut current = vec![false; 2 * count + 2];
        let mut next = vec![false; 2 * count + 2];
        current[0] = true;
        self.close(&mut current);
        for c in text.chars() {
            next.iter_mut().for_each(|state| *state = false);
            for (state, _) in current.iter().enumerate().filter(|(_, on)| **on) {
                let (index, taken) = (state / 2, state % 2 == 1);
                let Some(piece) = self.pieces.get(index) else { continue };
                match &piece.atom {
                    Atom::Char(_) | Atom::Class(_) if piece.atom_matches(c) => match piece.repeat {
                        Repeat::Once | Repeat::Optional => next[2 * (index + 1)] = true,
                        Repeat::OneOrMore => next[2 * index + 1] = true,
                    },
                    Atom::Char(_) | Atom::Class(_) => {}
                    Atom::Star if c != '/' => next[2 * index] = true,
                    Atom::Star => {}
                    Atom::DoubleStar => next[2 * index] = true,
                    Atom::AnyDirectories => {
                        next[2 * index + 1] = true;
                        if taken && c == '/' {
                            next[2 * (index + 1)] = true;
                        }
                    }
                }
            }
            self.close(&mut next);
            std::mem::swap(&mut current, &mut next);
            if !current.contains(&true) {
                return false;
            }
        }
        current[2 * count]
    }

    /// Adds the states reachable without taking a character.
    fn close(&self, states: &mut [bool]) {
        for index in 0..self.pieces.len() {
            let piece = &self.pieces[index];
            let skip = match piece.atom {
                Atom::Star | Atom::DoubleStar => states[2 * index],
                Atom::AnyDirectories => states[2 * index],
                Atom::Char(_) | Atom::Class(_) => match piece.repeat {
                    Repeat::Once => false,
                    Repeat::Optional => states[2 * index],
                    Repeat::OneOrMore => states[2 * index + 1],
                },
            };
            if skip {
                states[2 * (index + 1)] = true;
            }
        }
    }
}

impl Piece {
    fn atom_matches(&self, c: char) -> bool {
        match &self.atom {
            Atom::Char(expected) => *expected == c,
            Atom::Class(ranges) => ranges.iter().any(|&(low, high)| (low..=high).contains(&c)),
            Atom::Star | Atom::DoubleStar | Atom::AnyDirectories => false,
        }
    }
}

/// An ordered list of patterns, as one filter key holds it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PatternList {
    patterns: Vec<Pattern>,
}

impl PatternList {
    /// Compiles every pattern, reporting every one that is not valid.
    ///
    /// # Errors
    ///
    /// The [`PatternError`] of each pattern that does not compile.
    pub fn new<S: AsRef<str>>(written: &[S]) -> Result<Self, Vec<PatternError>> {
        let mut patterns = Vec::new();
        let mut errors = Vec::new();
        for pattern in written {
            match Pattern::new(pattern.as_ref()) {
                Ok(pattern) => patterns.push(pattern),
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() { Ok(Self { patterns }) } else { Err(errors) }
    }

    /// The patterns, in order.
    #[must_use]
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Whether the list selects `text`: the last pattern that matches it decides (a negative one
    /// deselects); none matching selects nothing.
    #[must_use]
    pub fn selects(&self, text: &str) -> bool {
        self.patterns.iter().rev().find(|pattern| pattern.matches(text)).is_some_and(|pattern| !pattern.negative)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(patterns: &[&str]) -> PatternList {
        PatternList::new(patterns).unwrap_or_else(|errors| panic!("{errors:?}"))
    }

    /// Every row of the "Filter pattern cheat sheet" (*Workflow syntax for GitHub Actions*):
    /// "Patterns to match branches and tags" and "Patterns to match file paths".
    #[test]
    fn the_cheat_sheet_rows() {
        let rows: &[(&[&str], &[&str], &[&str])] = &[
            // Branches and tags.
            (&["feature/*"], &["feature/my-branch", "feature/your-branch"], &["feature/beta-a/my-branch"]),
            (
                &["feature/**"],
                &["feature/beta-a/my-branch", "feature/your-branch", "feature/mona/the/octocat"],
                &["features/x"],
            ),
            (&["main", "releases/mona-the-octocat"], &["main", "releases/mona-the-octocat"], &["main2", "releases"]),
            (&["*"], &["main", "releases"], &["all/the/branches"]),
            (&["**"], &["all/the/branches", "every/tag"], &[]),
            (&["*feature"], &["mona-feature", "feature", "ver-10-feature"], &["feature/x"]),
            (&["v2*"], &["v2", "v2.0", "v2.9"], &["v3", "v2/x"]),
            (&["v[12].[0-9]+.[0-9]+"], &["v1.10.1", "v2.0.0"], &["v3.0.0", "v1.x.0", "v1..0"]),
            // File paths.
            (&["*"], &["README.md", "server.rb"], &["docs/README.md"]),
            (&["*.jsx?"], &["page.js", "page.jsx"], &["page.jsxx", "src/page.js"]),
            (&["**"], &["all/the/files.md"], &[]),
            (&["*.js"], &["app.js", "index.js"], &["js/index.js"]),
            (&["**.js"], &["index.js", "js/index.js", "src/js/app.js"], &["index.jsx"]),
            (&["docs/*"], &["docs/README.md", "docs/file.txt"], &["docs/mona/octocat.txt"]),
            (&["docs/**"], &["docs/README.md", "docs/mona/octocat.txt"], &["src/docs/x"]),
            (
                &["docs/**/*.md"],
                &["docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"],
                &["docs/a.txt"],
            ),
            (&["**/docs/**"], &["docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"], &["mydocs/x"]),
            (&["**/README.md"], &["README.md", "js/README.md"], &["xREADME.md"]),
            (&["**/*src/**"], &["a/src/app.js", "my-src/code/js/app.js"], &["src.js"]),
            (&["**/*-post.md"], &["my-post.md", "path/their-post.md"], &["post.md"]),
            (
                &["**/migrate-*.sql"],
                &["migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"],
                &["migrate.sql"],
            ),
            (&["*.md", "!README.md"], &["hello.md"], &["README.md", "docs/hello.md"]),
            (&["*.md", "!README.md", "README*"], &["hello.md", "README.md", "README.doc"], &[]),
        ];
        for (patterns, yes, no) in rows {
            let filter = list(patterns);
            for text in *yes {
                assert!(filter.selects(text), "{patterns:?} should select {text}");
            }
            for text in *no {
                assert!(!filter.selects(text), "{patterns:?} should not select {text}");
            }
        }
    }

    /// "The order that you define patterns matters": the example of `on.push.branches` in
    /// *Workflow syntax for GitHub Actions*.
    #[test]
    fn the_last_matching_pattern_decides() {
        let filter = list(&["releases/**", "!releases/**-alpha"]);
        for yes in ["releases/10", "releases/beta/mona"] {
            assert!(filter.selects(yes), "{yes}");
        }
        for no in ["releases/10-alpha", "releases/beta/3-alpha", "main"] {
            assert!(!filter.selects(no), "{no}");
        }
        assert!(list(&["!a", "a"]).selects("a"));
        assert!(!list(&["a", "!a"]).selects("a"));
        assert!(!PatternList::default().selects("a"));
    }

    #[test]
    fn escapes_brackets_and_literal_quantifiers() {
        assert!(list(&["\\!file"]).selects("!file"));
        assert!(list(&["escape\\\\backslash"]).selects("escape\\backslash"));
        assert!(list(&["a\\*b"]).selects("a*b"));
        assert!(!list(&["a\\*b"]).selects("axb"));
        assert!(list(&["[CB]at"]).selects("Cat"));
        assert!(list(&["[CB]at"]).selects("Bat"));
        assert!(!list(&["[CB]at"]).selects("cat"));
        assert!(list(&["[1-2]00"]).selects("200"));
        assert!(!list(&["[1-2]00"]).selects("300"));
        assert!(list(&["?x"]).selects("?x"));
        assert!(list(&["+x"]).selects("+x"));
        assert!(list(&["ab+c"]).selects("abbbc"));
        assert!(!list(&["ab+c"]).selects("ac"));
        assert!(list(&["Octoc?t"]).selects("Octot"));
        assert!(list(&["Octoc?t"]).selects("Octoct"));
        assert!(list(&["C\\+\\+"]).selects("C++"));
        assert!(list(&["ab+?c"]).selects("abc"), "a lazy `+?` is still one or more");
        assert!(list(&["a*?"]).selects("abc"));
        assert!(!list(&["Main"]).selects("main"), "case-sensitive");
        assert!(!list(&[".yml"]).selects("fyml"), "a dot is a dot");
        assert!(list(&["**/"]).selects("a/"));
        assert!(list(&["**/"]).selects(""));
    }

    #[test]
    fn invalid_patterns_say_why() {
        let errors =
            PatternList::new(&["ok", "a[]", "b[x-", "c\\", "[a-Z]", "[.]", "C++", "*+"]).err().unwrap_or_default();
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        insta::assert_snapshot!(messages.join("\n"), @r"
        the pattern `a[]` is not valid: `[]` lists no characters: write the characters or ranges to match inside
        the pattern `b[x-` is not valid: a `[` has no closing `]`: close it, or write `\[` to match a `[`
        the pattern `c\` is not valid: it ends with `\`, which escapes nothing: remove it or write `\\`
        the pattern `[a-Z]` is not valid: `a-Z` is not a range GitHub accepts: ranges go upwards within `a-z`, `A-Z` or `0-9`
        the pattern `[.]` is not valid: `.` cannot be listed in brackets: they hold only letters, digits and ranges within `a-z`, `A-Z` or `0-9`
        the pattern `C++` is not valid: a `+` follows a wildcard or another `+` or `?`: write `\+` to match a `+`
        the pattern `*+` is not valid: a `+` follows a wildcard or another `+` or `?`: write `\+` to match a `+`
        ");
    }
}
