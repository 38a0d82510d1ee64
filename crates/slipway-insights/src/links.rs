//! Work-item references in commit messages and pull-request titles: `AB#123` and `#123` link,
//! `Fixes AB#123` (and GitHub's closing keywords) resolve on merge to the default branch.
//!
//! Two syntaxes, both naming Slipway's work item by its number:
//!
//! - Azure Boards': `AB#123` links; `fix`, `fixes` or `fixed` just before it (`Fixes AB#123`)
//!   resolves the item when the commit reaches the default branch.
//! - GitHub's: `#123` links; a closing keyword just before it (`close`, `closes`, `closed`,
//!   `fix`, `fixes`, `fixed`, `resolve`, `resolves`, `resolved`, any case, with an optional
//!   colon: `Closes: #123`) resolves it.
//!
//! A keyword acts on the one reference that follows it: `Fixes #1, #2` resolves 1 and links 2,
//! `Fixes #1, fixes #2` resolves both (as on GitHub and Azure Boards). A reference must stand on
//! its own: `abc#12`, `C#`, `&#123;`, `owner/repo#12`, `page#12` in a web address, `#L10` and
//! `#12abc` are not references. Pure: no I/O.

/// Which syntax a reference was written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReferenceSyntax {
    /// Azure Boards' `AB#123`.
    AzureBoards,
    /// GitHub's `#123`.
    GitHub,
}

/// A work item a text refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorkItemReference {
    /// The work item's number.
    pub id: i64,
    /// Whether a closing keyword comes before a mention of it (it is resolved on merge to the
    /// default branch).
    pub resolves: bool,
    /// The syntax of its first mention.
    pub syntax: ReferenceSyntax,
}

/// Azure Boards' closing keywords (before `AB#123`).
const AZURE_KEYWORDS: [&str; 3] = ["fix", "fixes", "fixed"];

/// GitHub's closing keywords (before `#123`).
const GITHUB_KEYWORDS: [&str; 9] =
    ["close", "closes", "closed", "fix", "fixes", "fixed", "resolve", "resolves", "resolved"];

/// The most digits a work item's number may have (beyond that, it is not one).
const MAX_DIGITS: usize = 15;

/// The work items `text` refers to, each once, in the order of their first mention; an item is
/// resolved when any mention of it follows a closing keyword.
#[must_use]
pub fn work_item_references(text: &str) -> Vec<WorkItemReference> {
    let mut references: Vec<WorkItemReference> = Vec::new();
    for (hash, _) in text.match_indices('#') {
        let Some(id) = number_after(text, hash + 1) else {
            continue;
        };
        let before = &text[..hash];
        let (syntax, start) = if let Some(start) = azure_prefix(before) {
            (ReferenceSyntax::AzureBoards, start)
        } else if stands_alone(before) {
            (ReferenceSyntax::GitHub, hash)
        } else {
            continue;
        };
        let keywords: &[&str] = match syntax {
            ReferenceSyntax::AzureBoards => &AZURE_KEYWORDS,
            ReferenceSyntax::GitHub => &GITHUB_KEYWORDS,
        };
        let resolves = keyword_before(&text[..start], keywords);
        match references.iter_mut().find(|reference| reference.id == id) {
            Some(reference) => reference.resolves |= resolves,
            None => references.push(WorkItemReference { id, resolves, syntax }),
        }
    }
    references
}

/// The positive number of at most [`MAX_DIGITS`] digits at `start`, when what follows it ends
/// a word.
fn number_after(text: &str, start: usize) -> Option<i64> {
    let rest = &text[start..];
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > MAX_DIGITS {
        return None;
    }
    if rest[digits..].chars().next().is_some_and(is_word_character) {
        return None;
    }
    rest[..digits].parse::<i64>().ok().filter(|id| *id > 0)
}

/// Letters, digits and `_`: what a reference may not touch.
fn is_word_character(character: char) -> bool {
    character.is_alphanumeric() || character == '_'
}

/// Whether a `#` after `before` starts a reference of its own: at the start, or after a space
/// or an opening or separating punctuation mark (not a letter, digit, `/`, `&` or `.`).
fn stands_alone(before: &str) -> bool {
    before.chars().next_back().is_none_or(|character| {
        character.is_whitespace() || matches!(character, '(' | '[' | '{' | ',' | ';' | ':' | '"' | '\'' | '*' | '>')
    })
}

/// Where `AB` starts when `before` ends with it (any case) and it stands alone.
fn azure_prefix(before: &str) -> Option<usize> {
    let start = before.len().checked_sub(2)?;
    let prefix = before.get(start..)?;
    (prefix.eq_ignore_ascii_case("ab") && stands_alone(&before[..start])).then_some(start)
}

/// Whether `before` ends with one of `keywords` (any case) as a word of its own, then an
/// optional colon, then spaces or tabs (at least one unless there is a colon).
fn keyword_before(before: &str, keywords: &[&str]) -> bool {
    let trimmed = before.trim_end_matches([' ', '\t']);
    let spaced = trimmed.len() < before.len();
    let (trimmed, colon) = match trimmed.strip_suffix(':') {
        Some(rest) => (rest, true),
        None => (trimmed, false),
    };
    if !spaced && !colon {
        return false;
    }
    let word_start = trimmed
        .rfind(|character: char| !character.is_alphabetic())
        .map_or(0, |index| index + trimmed[index..].chars().next().map_or(1, char::len_utf8));
    let word = &trimmed[word_start..];
    if trimmed[..word_start].chars().next_back().is_some_and(is_word_character) {
        return false;
    }
    keywords.iter().any(|keyword| keyword.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::{ReferenceSyntax, WorkItemReference, work_item_references};

    /// The references of `text` as (id, resolves) pairs.
    fn refs(text: &str) -> Vec<(i64, bool)> {
        work_item_references(text).into_iter().map(|reference| (reference.id, reference.resolves)).collect()
    }

    #[test]
    fn azure_boards_references_link_and_fix_resolves() {
        assert_eq!(refs("Add the login page AB#123"), vec![(123, false)]);
        assert_eq!(refs("Fixes AB#123"), vec![(123, true)]);
        assert_eq!(refs("fixed AB#7 and AB#8"), vec![(7, true), (8, false)]);
        assert_eq!(refs("Fix AB#1, fix AB#2"), vec![(1, true), (2, true)]);
        assert_eq!(refs("ab#5 in lower case"), vec![(5, false)]);
        // Azure Boards' keywords are fix, fixes, fixed only.
        assert_eq!(refs("Closes AB#9"), vec![(9, false)]);
        assert_eq!(refs("Resolves AB#9"), vec![(9, false)]);
        assert_eq!(
            work_item_references("Fixes AB#4"),
            vec![WorkItemReference { id: 4, resolves: true, syntax: ReferenceSyntax::AzureBoards }]
        );
    }

    #[test]
    fn github_references_link_and_closing_keywords_resolve() {
        assert_eq!(refs("Refactor the parser (#42)"), vec![(42, false)]);
        for keyword in ["close", "Closes", "CLOSED", "fix", "Fixes", "fixed", "resolve", "Resolves", "RESOLVED"] {
            assert_eq!(refs(&format!("{keyword} #10")), vec![(10, true)], "{keyword}");
        }
        assert_eq!(refs("Closes: #10"), vec![(10, true)]);
        assert_eq!(refs("closes:#10"), vec![(10, true)]);
        assert_eq!(refs("Resolves #10, resolves #123"), vec![(10, true), (123, true)]);
        assert_eq!(refs("Fixes #1, #2"), vec![(1, true), (2, false)]);
        assert_eq!(refs("This fixes #3.\n\nSee #4"), vec![(3, true), (4, false)]);
        assert_eq!(
            work_item_references("Closes #4"),
            vec![WorkItemReference { id: 4, resolves: true, syntax: ReferenceSyntax::GitHub }]
        );
    }

    #[test]
    fn keywords_must_be_words_of_their_own_just_before() {
        assert_eq!(refs("prefixes #12"), vec![(12, false)]);
        assert_eq!(refs("unresolved #12"), vec![(12, false)]);
        assert_eq!(refs("fixes the bug in #12"), vec![(12, false)]);
        assert_eq!(refs("fix_es #12"), vec![(12, false)]);
        assert_eq!(refs("Fixes\n#12"), vec![(12, false)]);
    }

    #[test]
    fn things_that_are_not_references() {
        for text in [
            "abc#12",
            "C# and F# 9",
            "&#123; entity",
            "owner/repo#12",
            "https://example.com/page#12",
            "https://example.com/#12",
            "see src/main.rs#L10",
            "#L10",
            "#12abc",
            "#12_x",
            "#0",
            "# 12",
            "#",
            "a.#12",
            "XAB#12",
            "#1234567890123456",
            "",
        ] {
            assert_eq!(refs(text), vec![], "{text:?}");
        }
    }

    #[test]
    fn repeats_are_reported_once_and_resolve_when_any_mention_does() {
        assert_eq!(refs("#5 then AB#5, fixes #5"), vec![(5, true)]);
        assert_eq!(refs("#5 #6 #5"), vec![(5, false), (6, false)]);
        assert_eq!(refs("[#7] Fixes: #8; (AB#9)"), vec![(7, false), (8, true), (9, false)]);
        assert_eq!(refs("Ünïcödé fixes #3 ✓"), vec![(3, true)]);
    }
}
