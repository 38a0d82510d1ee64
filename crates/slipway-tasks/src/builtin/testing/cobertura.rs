//! Cobertura XML: `coverage` with `lines-covered`, `lines-valid`, `branches-covered`,
//! `branches-valid` (and rates), `packages/package/classes/class/lines/line` with `hits`, and
//! `branch="true"` lines with `condition-coverage="50% (1/2)"`.
//!
//! The totals are the root's counts when it has them; old files (Cobertura 1.x, early
//! coverage.py) have only rates, and then the totals are counted from the class lines. Each
//! package's line coverage is counted from its class lines (method lines repeat them and are
//! skipped).

use slipway_events::{Coverage, CoverageCounter};

use super::coverage::count;
use super::xml::{Element, Node, XmlError, XmlFile};

/// Covered and total lines and branches, counted from `line` elements.
#[derive(Clone, Copy, Default)]
struct Tally {
    lines: Counter,
    branches: Counter,
}

#[derive(Clone, Copy, Default)]
struct Counter {
    covered: u64,
    total: u64,
}

impl Counter {
    fn event(self) -> CoverageCounter {
        CoverageCounter { covered: self.covered, total: self.total }
    }
}

/// Reads a Cobertura file whose root element `root` (a `coverage`) was just read.
pub(super) fn parse(xml: &mut XmlFile, root: &Element, file: String) -> Result<Coverage, XmlError> {
    let mut all = Tally::default();
    let mut packages: Vec<(String, Tally)> = Vec::new();
    // The open elements' names below the root, to know where a `line` sits.
    let mut path: Vec<String> = Vec::new();
    let root_depth = xml.depth();
    while let Some(node) = xml.next()? {
        match node {
            Node::End => {
                path.truncate(xml.depth().saturating_sub(root_depth));
            }
            Node::Start(element) => {
                if element.is("methods") || element.is("sources") {
                    xml.skip()?;
                    continue;
                }
                if element.is("package") {
                    packages.push((element.text("name").unwrap_or_default().to_owned(), Tally::default()));
                } else if element.is("line")
                    && matches!(path.as_slice(), [.., class, lines] if class == "class" && lines == "lines")
                {
                    let line = line(&element);
                    for tally in std::iter::once(&mut all).chain(packages.last_mut().map(|(_, tally)| tally)) {
                        tally.lines.covered += line.lines.covered;
                        tally.lines.total += line.lines.total;
                        tally.branches.covered += line.branches.covered;
                        tally.branches.total += line.branches.total;
                    }
                }
                path.push(element.name);
            }
        }
    }
    let attribute = |name: &str| count(root.attribute(name));
    let lines = match (attribute("lines-covered"), attribute("lines-valid")) {
        (Some(covered), Some(total)) => Some(CoverageCounter { covered, total }),
        _ => (all.lines.total > 0).then(|| all.lines.event()),
    };
    let branches = match (attribute("branches-covered"), attribute("branches-valid")) {
        (Some(covered), Some(total)) => Some(CoverageCounter { covered, total }),
        _ => (all.branches.total > 0).then(|| all.branches.event()),
    };
    let packages = packages
        .into_iter()
        .filter(|(_, tally)| tally.lines.total > 0)
        .map(|(name, tally)| (name, tally.lines.event()))
        .collect();
    Ok(Coverage { format: "Cobertura".to_owned(), file, lines, branches, other: Vec::new(), packages })
}

/// One `line`: covered when `hits` is above zero; its branches from `condition-coverage`.
fn line(element: &Element) -> Tally {
    let hits = element.text("hits").and_then(|hits| hits.parse::<f64>().ok()).unwrap_or(0.0);
    let mut tally = Tally { lines: Counter { covered: u64::from(hits > 0.0), total: 1 }, ..Tally::default() };
    let branch = element.text("branch").is_some_and(|branch| branch.eq_ignore_ascii_case("true"));
    if let Some((covered, total)) = element.text("condition-coverage").filter(|_| branch).and_then(conditions) {
        tally.branches = Counter { covered, total };
    }
    tally
}

/// `50% (1/2)` as (1, 2).
fn conditions(text: &str) -> Option<(u64, u64)> {
    let inside = text.split_once('(')?.1.split_once(')')?.0;
    let (covered, total) = inside.split_once('/')?;
    Some((covered.trim().parse().ok()?, total.trim().parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::super::coverage::{Read, Tool, read};

    fn summary(text: &str) -> String {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("coverage.xml");
        std::fs::write(&path, text).expect("write");
        match read(Some(Tool::Cobertura), &path).expect("parses") {
            Read::Summary(coverage) => format!(
                "lines={:?} branches={:?} other={:?} packages={:?}",
                coverage.lines.map(|c| (c.covered, c.total)),
                coverage.branches.map(|c| (c.covered, c.total)),
                coverage.other,
                coverage
                    .packages
                    .iter()
                    .map(|(name, c)| format!("{name} {}/{}", c.covered, c.total))
                    .collect::<Vec<_>>()
            ),
            Read::OtherFormat(root) => format!("other format: {root}"),
        }
    }

    #[test]
    fn coverlet_style_totals_and_counted_packages() {
        let text = r#"<?xml version="1.0" encoding="utf-8"?>
<coverage line-rate="0.6" branch-rate="0.5" version="1.9" timestamp="1714557600" lines-covered="3" lines-valid="5" branches-covered="1" branches-valid="2">
  <sources><source>/build/src/</source></sources>
  <packages>
    <package name="MyApp" line-rate="0.75" branch-rate="0.5" complexity="3">
      <classes>
        <class name="MyApp.Calculator" filename="Calculator.cs" line-rate="0.75" branch-rate="0.5" complexity="3">
          <methods>
            <method name="Add" signature="(System.Int32,System.Int32)" line-rate="1" branch-rate="1" complexity="1">
              <lines><line number="5" hits="3" branch="False" /></lines>
            </method>
          </methods>
          <lines>
            <line number="5" hits="3" branch="False" />
            <line number="9" hits="1" branch="True" condition-coverage="50% (1/2)"><conditions><condition number="0" type="jump" coverage="50%" /></conditions></line>
            <line number="10" hits="1" branch="False" />
            <line number="12" hits="0" branch="False" />
          </lines>
        </class>
      </classes>
    </package>
    <package name="MyApp.Util" line-rate="0" branch-rate="1" complexity="1">
      <classes><class name="MyApp.Util.Clock" filename="Util/Clock.cs" line-rate="0" branch-rate="1"><methods/><lines><line number="3" hits="0" branch="False" /></lines></class></classes>
    </package>
  </packages>
</coverage>"#;
        insta::assert_snapshot!(summary(text), @r#"lines=Some((3, 5)) branches=Some((1, 2)) other=[] packages=["MyApp 3/4", "MyApp.Util 0/1"]"#);
    }

    #[test]
    fn old_files_without_counts_are_counted_from_lines() {
        let text = r#"<?xml version="1.0"?>
<!DOCTYPE coverage SYSTEM "http://cobertura.sourceforge.net/xml/coverage-04.dtd">
<coverage line-rate="0.5" branch-rate="0" version="1.9" timestamp="1">
  <packages><package name="app" line-rate="0.5"><classes>
    <class name="app.main" filename="app/main.py" line-rate="0.5"><lines><line number="1" hits="1"/><line number="2" hits="0"/></lines></class>
  </classes></package></packages>
</coverage>"#;
        insta::assert_snapshot!(summary(text), @r#"lines=Some((1, 2)) branches=None other=[] packages=["app 1/2"]"#);
        insta::assert_snapshot!(summary("<coverage line-rate=\"0\"><packages/></coverage>"), @"lines=None branches=None other=[] packages=[]");
        insta::assert_snapshot!(summary("<report name=\"x\"/>"), @"other format: report");
    }
}
