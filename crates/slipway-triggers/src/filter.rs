//! Git refs, wildcard patterns, and the branch, tag and path filters of Azure Pipelines triggers.
//!
//! The rules, from the Azure Pipelines documentation ("Build Azure Repos Git or TFS Git
//! repositories", sections *Branches*, *Tags*, *Paths* and *Wildcards*; the `trigger`, `pr` and
//! `schedules.cron` pages of the YAML schema):
//!
//! - a branch may be written with or without `refs/heads/`; a tag in a branch list is written
//!   `refs/tags/NAME`, and in a `tags` list with or without `refs/tags/`;
//! - `*` matches zero or more characters (`/` included) and `?` exactly one, anywhere in a branch,
//!   tag or path pattern;
//! - includes are processed first, then excludes are removed: an excluded branch or tag never
//!   matches, and an `exclude` without an `include` is the same as `include: ['*']`;
//! - paths are relative to the repository root and case-sensitive; a path filter names a file or a
//!   directory (everything below it matches); "if you exclude a path, you cannot also include it
//!   unless you qualify it to a deeper folder", and the order of path filters does not matter. So
//!   for a path the most specific matching filter decides, and on a tie the exclusion wins.
//!
//! Branch and tag names are compared without regard to case. The documentation calls out only paths
//! as case-sensitive ("Paths in Git are case-sensitive") and says nothing of branches; ignoring case
//! for them is this crate's choice, made so that `trigger: [Main]` still builds `main`.

use std::fmt;

/// A git ref as a trigger sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GitRef {
    /// `refs/heads/NAME`; the short name is stored.
    Branch(String),
    /// `refs/tags/NAME`; the short name is stored.
    Tag(String),
    /// Any other ref (`refs/pull/1/merge`, `refs/notes/...`), stored in full.
    Other(String),
}

impl GitRef {
    /// Reads a ref: `refs/heads/x` and a bare `x` are branches, `refs/tags/x` is a tag.
    #[must_use]
    pub fn parse(name: &str) -> Self {
        if let Some(branch) = name.strip_prefix("refs/heads/") {
            Self::Branch(branch.to_owned())
        } else if let Some(tag) = name.strip_prefix("refs/tags/") {
            Self::Tag(tag.to_owned())
        } else if name.starts_with("refs/") {
            Self::Other(name.to_owned())
        } else {
            Self::Branch(name.to_owned())
        }
    }

    /// The full ref name (`refs/heads/main`).
    #[must_use]
    pub fn full_name(&self) -> String {
        match self {
            Self::Branch(name) => format!("refs/heads/{name}"),
            Self::Tag(name) => format!("refs/tags/{name}"),
            Self::Other(name) => name.clone(),
        }
    }

    /// The short name (`main`, `v1.0`), or the full name of another kind of ref.
    #[must_use]
    pub fn short_name(&self) -> &str {
        match self {
            Self::Branch(name) | Self::Tag(name) | Self::Other(name) => name,
        }
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full_name())
    }
}

/// Whether `text` matches `pattern`, where `*` matches zero or more characters (including `/`)
/// and `?` exactly one; every other character matches itself. Greedy with one backtrack point, so
/// it runs in time proportional to the product of the lengths at worst and never recurses.
#[must_use]
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((star, start)) => {
                    p = star + 1;
                    t = start + 1;
                    backtrack = Some((star, start + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Which kind of ref a filter list names, which decides how a name without `refs/` is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefKind {
    /// A branch list: `main` means `refs/heads/main`; `refs/tags/...` entries name tags.
    Branch,
    /// A `tags` list: `v1.*` means `refs/tags/v1.*`.
    Tag,
}

/// One branch or tag pattern, as written and as matched (a full, lowercased ref pattern).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefPattern {
    written: String,
    full: String,
}

impl RefPattern {
    /// Reads a pattern of a branch or tag list. A leading `/` is dropped (the scheduled-triggers
    /// page writes `/releases/*`).
    #[must_use]
    pub fn new(written: &str, kind: RefKind) -> Self {
        let trimmed = written.trim();
        let name = trimmed.strip_prefix('/').unwrap_or(trimmed);
        let full = if name.starts_with("refs/") {
            name.to_owned()
        } else {
            match kind {
                RefKind::Branch => format!("refs/heads/{name}"),
                RefKind::Tag => format!("refs/tags/{name}"),
            }
        };
        Self { written: written.to_owned(), full: full.to_lowercase() }
    }

    /// The pattern as written in the YAML.
    #[must_use]
    pub fn as_written(&self) -> &str {
        &self.written
    }

    /// Whether the pattern matches `git_ref`.
    #[must_use]
    pub fn matches(&self, git_ref: &GitRef) -> bool {
        wildcard_match(&self.full, &git_ref.full_name().to_lowercase())
    }
}

/// A branch or tag filter: a ref matches when an include matches it and no exclude does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefFilter {
    include: Vec<RefPattern>,
    exclude: Vec<RefPattern>,
}

impl RefFilter {
    /// Builds a filter from the `include` and `exclude` lists. `include: None` (the key is absent)
    /// with excludes present means `include: ['*']`, as the `trigger`, `pr` and `schedules.cron`
    /// pages of the YAML schema say.
    #[must_use]
    pub fn new(include: Option<&[String]>, exclude: &[String], kind: RefKind) -> Self {
        let include = match include {
            Some(include) => include.iter().map(|name| RefPattern::new(name, kind)).collect(),
            None if !exclude.is_empty() => vec![RefPattern::new("*", kind)],
            None => Vec::new(),
        };
        Self { include, exclude: exclude.iter().map(|name| RefPattern::new(name, kind)).collect() }
    }

    /// Every branch (`include: ['*']`), the default when a trigger names no branches.
    #[must_use]
    pub fn all_branches() -> Self {
        Self { include: vec![RefPattern::new("*", RefKind::Branch)], exclude: Vec::new() }
    }

    /// A filter that matches nothing.
    #[must_use]
    pub fn nothing() -> Self {
        Self { include: Vec::new(), exclude: Vec::new() }
    }

    /// The include patterns.
    #[must_use]
    pub fn include(&self) -> &[RefPattern] {
        &self.include
    }

    /// The exclude patterns.
    #[must_use]
    pub fn exclude(&self) -> &[RefPattern] {
        &self.exclude
    }

    /// Whether `git_ref` is included and not excluded.
    #[must_use]
    pub fn matches(&self, git_ref: &GitRef) -> bool {
        self.include.iter().any(|pattern| pattern.matches(git_ref))
            && !self.exclude.iter().any(|pattern| pattern.matches(git_ref))
    }
}

/// One path pattern, as written and as matched (no leading or trailing `/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    written: String,
    normalized: String,
    specificity: usize,
}

impl PathPattern {
    /// Reads a path pattern relative to the repository root; leading and trailing `/` are dropped,
    /// so `/tools`, `tools` and `tools/` are the same filter, and `/` or `''` is the root.
    #[must_use]
    pub fn new(written: &str) -> Self {
        let normalized = written.trim().trim_matches('/').to_owned();
        let specificity = normalized.chars().filter(|&c| c != '*' && c != '?').count();
        Self { written: written.to_owned(), normalized, specificity }
    }

    /// The pattern as written in the YAML.
    #[must_use]
    pub fn as_written(&self) -> &str {
        &self.written
    }

    /// Whether the pattern names `path` or a directory that contains it. Case-sensitive.
    #[must_use]
    pub fn matches(&self, path: &str) -> bool {
        let path = path.trim_start_matches('/');
        if self.normalized.is_empty() {
            return true;
        }
        if wildcard_match(&self.normalized, path) {
            return true;
        }
        path.char_indices().any(|(index, c)| c == '/' && wildcard_match(&self.normalized, &path[..index]))
    }
}

/// A path filter: a changed path counts when the most specific matching filter is an include.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathFilter {
    include: Vec<PathPattern>,
    exclude: Vec<PathPattern>,
}

impl PathFilter {
    /// Builds a filter; with no includes the repository root is included ("if you don't set path
    /// filters, then the root folder of the repo is implicitly included").
    #[must_use]
    pub fn new(include: &[String], exclude: &[String]) -> Self {
        let include = if include.is_empty() {
            vec![PathPattern::new("")]
        } else {
            include.iter().map(|path| PathPattern::new(path)).collect()
        };
        Self { include, exclude: exclude.iter().map(|path| PathPattern::new(path)).collect() }
    }

    /// The include patterns.
    #[must_use]
    pub fn include(&self) -> &[PathPattern] {
        &self.include
    }

    /// The exclude patterns.
    #[must_use]
    pub fn exclude(&self) -> &[PathPattern] {
        &self.exclude
    }

    /// Whether a change to `path` (relative to the repository root) counts for the trigger.
    #[must_use]
    pub fn includes(&self, path: &str) -> bool {
        let best = |patterns: &[PathPattern]| {
            patterns.iter().filter(|pattern| pattern.matches(path)).map(|pattern| pattern.specificity).max()
        };
        match (best(&self.include), best(&self.exclude)) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(included), Some(excluded)) => included > excluded,
        }
    }

    /// Whether any of `paths` counts for the trigger.
    #[must_use]
    pub fn includes_any<S: AsRef<str>>(&self, paths: &[S]) -> bool {
        paths.iter().any(|path| self.includes(path.as_ref()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|item| (*item).to_owned()).collect()
    }

    fn branches(include: &[&str], exclude: &[&str]) -> RefFilter {
        RefFilter::new(Some(&strings(include)), &strings(exclude), RefKind::Branch)
    }

    #[test]
    fn wildcards() {
        let cases = [
            ("*", "", true),
            ("*", "anything/at/all", true),
            ("releases/*", "releases/", true),
            ("releases/*", "releases/2024/hotfix", true),
            ("releases/*", "release", false),
            ("release-?", "release-1", true),
            ("release-?", "release-10", false),
            ("release-?", "release-", false),
            ("*-releases", "2024-releases", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXcYYb", false),
            ("**", "x", true),
            ("", "", true),
            ("", "x", false),
            ("ü?", "üß", true),
        ];
        for (pattern, text, expected) in cases {
            assert_eq!(wildcard_match(pattern, text), expected, "{pattern:?} against {text:?}");
        }
    }

    #[test]
    fn refs_parse_with_and_without_prefixes() {
        assert_eq!(GitRef::parse("refs/heads/main"), GitRef::Branch("main".into()));
        assert_eq!(GitRef::parse("main"), GitRef::Branch("main".into()));
        assert_eq!(GitRef::parse("refs/tags/v1.0"), GitRef::Tag("v1.0".into()));
        assert_eq!(GitRef::parse("refs/pull/1/merge"), GitRef::Other("refs/pull/1/merge".into()));
        assert_eq!(GitRef::Tag("v1".into()).to_string(), "refs/tags/v1");
    }

    /// Branch filter examples of "Build Azure Repos Git or TFS Git repositories" (CI triggers,
    /// *Branches* and *Wildcards*) and of the `trigger` page of the YAML schema.
    #[test]
    fn branch_filters_from_the_documentation() {
        let specific = branches(&["main", "releases/*"], &["releases/old*"]);
        let wildcards = branches(&["master", "releases/*", "feature/*"], &["releases/old*", "feature/*-working"]);
        let tags_in_branches = branches(&["refs/tags/{tagname}"], &["refs/tags/{othertagname}"]);
        let cases: &[(&str, &RefFilter, &str, bool)] = &[
            ("specific", &specific, "refs/heads/main", true),
            ("specific", &specific, "main", true),
            ("specific", &specific, "refs/heads/releases/v1", true),
            ("specific", &specific, "refs/heads/releases/old-1", false),
            ("specific", &specific, "refs/heads/releases/oldest", false),
            ("specific", &specific, "refs/heads/feature/x", false),
            ("specific", &specific, "refs/heads/mainline", false),
            ("specific", &specific, "refs/tags/main", false),
            ("wildcards", &wildcards, "refs/heads/master", true),
            ("wildcards", &wildcards, "refs/heads/feature/login", true),
            ("wildcards", &wildcards, "refs/heads/feature/login-working", false),
            ("wildcards", &wildcards, "refs/heads/feature/a/b-working", false),
            ("wildcards", &wildcards, "refs/heads/releases/2", true),
            ("wildcards", &wildcards, "refs/heads/releases/old", false),
            ("tags in branches", &tags_in_branches, "refs/tags/{tagname}", true),
            ("tags in branches", &tags_in_branches, "refs/tags/{othertagname}", false),
            ("tags in branches", &tags_in_branches, "refs/heads/{tagname}", false),
        ];
        for (name, filter, git_ref, expected) in cases {
            assert_eq!(filter.matches(&GitRef::parse(git_ref)), *expected, "{name}: {git_ref}");
        }
    }

    #[test]
    fn refs_heads_prefix_and_leading_slash_are_optional_in_filters() {
        let filter = branches(&["refs/heads/releases/*", "/features/india/*"], &[]);
        assert!(filter.matches(&GitRef::parse("refs/heads/releases/1")));
        assert!(filter.matches(&GitRef::parse("refs/heads/features/india/a")));
        assert!(!filter.matches(&GitRef::parse("refs/heads/features/nc/a")));
    }

    #[test]
    fn branch_names_ignore_case() {
        let filter = branches(&["Main", "Releases/*"], &[]);
        assert!(filter.matches(&GitRef::parse("refs/heads/main")));
        assert!(filter.matches(&GitRef::parse("refs/heads/RELEASES/x")));
    }

    /// "If you specify an `exclude` clause without an `include` clause ... it is equivalent to
    /// specifying `*` in the `include` clause" (YAML schema, `trigger`); an empty include list
    /// matches nothing.
    #[test]
    fn exclude_without_include_includes_every_branch() {
        let filter = RefFilter::new(None, &strings(&["experimental/*"]), RefKind::Branch);
        assert!(filter.matches(&GitRef::parse("refs/heads/main")));
        assert!(!filter.matches(&GitRef::parse("refs/heads/experimental/a")));
        assert!(!filter.matches(&GitRef::parse("refs/tags/v1")));
        assert!(!RefFilter::new(Some(&[]), &[], RefKind::Branch).matches(&GitRef::parse("main")));
        assert!(!RefFilter::nothing().matches(&GitRef::parse("main")));
    }

    /// The *Tags* example: `include: [v2.*]`, `exclude: [v2.0]`.
    #[test]
    fn tag_filters_from_the_documentation() {
        let filter = RefFilter::new(Some(&strings(&["v2.*"])), &strings(&["v2.0"]), RefKind::Tag);
        let cases = [
            ("refs/tags/v2.1", true),
            ("refs/tags/v2.0", false),
            ("refs/tags/v2.0.1", true),
            ("refs/tags/v3.0", false),
            ("refs/heads/v2.1", false),
        ];
        for (git_ref, expected) in cases {
            assert_eq!(filter.matches(&GitRef::parse(git_ref)), expected, "{git_ref}");
        }
        let prefixed = RefFilter::new(Some(&strings(&["refs/tags/v2.*"])), &[], RefKind::Tag);
        assert!(prefixed.matches(&GitRef::parse("refs/tags/v2.9")));
    }

    /// Path filter examples of "Build Azure Repos Git or TFS Git repositories" (CI triggers,
    /// *Paths* and *Wildcards*), the PR trigger *Paths* tips, and the `trigger` schema page.
    #[test]
    fn path_filters_from_the_documentation() {
        let docs = PathFilter::new(&strings(&["docs/*"]), &strings(&["docs/README.md"]));
        let pr_docs = PathFilter::new(&strings(&["docs"]), &strings(&["docs/README.md"]));
        let wildcards = PathFilter::new(&strings(&["docs/*.md"]), &strings(&["docs/*"]));
        let deeper = PathFilter::new(&strings(&["/tools/trigger-runs-on-these", "src"]), &strings(&["/tools"]));
        let exclude_only = PathFilter::new(&[], &strings(&["README.md"]));
        let cases: &[(&str, &PathFilter, &str, bool)] = &[
            ("docs/*", &docs, "docs/guide.md", true),
            ("docs/*", &docs, "docs/sub/page.md", true),
            ("docs/*", &docs, "docs/README.md", false),
            ("docs/*", &docs, "src/main.rs", false),
            ("docs", &pr_docs, "docs/a.txt", true),
            ("docs", &pr_docs, "docs", true),
            ("docs", &pr_docs, "docs/README.md", false),
            ("docs", &pr_docs, "docsite/index.html", false),
            ("docs", &pr_docs, "Docs/a.txt", false),
            ("docs/*.md", &wildcards, "docs/a.md", true),
            ("docs/*.md", &wildcards, "docs/a.txt", false),
            ("deeper", &deeper, "tools/build.sh", false),
            ("deeper", &deeper, "tools/trigger-runs-on-these/a.sh", true),
            ("deeper", &deeper, "src/lib.rs", true),
            ("deeper", &deeper, "README.md", false),
            ("exclude only", &exclude_only, "README.md", false),
            ("exclude only", &exclude_only, "src/main.rs", true),
            ("exclude only", &exclude_only, "docs/README.md", true),
        ];
        for (name, filter, path, expected) in cases {
            assert_eq!(filter.includes(path), *expected, "{name}: {path}");
        }
    }

    #[test]
    fn paths_are_relative_to_the_root_and_a_tie_goes_to_the_exclusion() {
        let filter = PathFilter::new(&strings(&["/src/"]), &[]);
        assert!(filter.includes("src/a.rs"));
        assert!(filter.includes("/src/a.rs"));
        let tie = PathFilter::new(&strings(&["src"]), &strings(&["src"]));
        assert!(!tie.includes("src/a.rs"));
        let question = PathFilter::new(&strings(&["v?/*"]), &[]);
        assert!(question.includes("v1/a"));
        assert!(!question.includes("v10/a"));
        assert!(filter.includes_any(&["README.md", "src/x"]));
        assert!(!filter.includes_any::<&str>(&[]));
    }
}
