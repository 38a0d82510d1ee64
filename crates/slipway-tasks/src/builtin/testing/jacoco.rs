//! JaCoCo XML: `report` with `counter` elements (`type` `INSTRUCTION`, `BRANCH`, `LINE`,
//! `COMPLEXITY`, `METHOD`, `CLASS`, each `missed` and `covered`) for the whole report, for each
//! `group` and `package`, and deeper for classes, methods and source files.
//!
//! The totals are the report's own counters (summed from its packages when it has none); each
//! package's line coverage is its `LINE` counter. Class and source file details are skipped.

use slipway_events::{Coverage, CoverageCounter};

use super::coverage::count;
use super::xml::{Element, XmlError, XmlFile};

/// The counters of one element, by type.
#[derive(Default)]
struct Counters(Vec<(String, CoverageCounter)>);

impl Counters {
    fn add(&mut self, element: &Element) {
        let Some(kind) = element.text("type") else { return };
        let covered = count(element.attribute("covered")).unwrap_or(0);
        let missed = count(element.attribute("missed")).unwrap_or(0);
        self.add_counter(kind, CoverageCounter { covered, total: covered + missed });
    }

    fn add_counter(&mut self, kind: &str, counter: CoverageCounter) {
        let kind = kind.to_ascii_uppercase();
        match self.0.iter_mut().find(|(known, _)| *known == kind) {
            Some((_, existing)) => {
                existing.covered += counter.covered;
                existing.total += counter.total;
            }
            None => self.0.push((kind, counter)),
        }
    }

    fn get(&self, kind: &str) -> Option<CoverageCounter> {
        self.0.iter().find(|(known, _)| known == kind).map(|(_, counter)| *counter)
    }
}

/// Reads a JaCoCo file whose root `report` element was just read.
pub(super) fn parse(xml: &mut XmlFile, file: String) -> Result<Coverage, XmlError> {
    let mut report = Counters::default();
    let mut packages: Vec<(String, Counters)> = Vec::new();
    // Groups nest; a stack of their depths tells where their packages are.
    let mut containers = vec![xml.depth()];
    while let Some(container) = containers.last().copied() {
        let Some(element) = xml.child(container)? else {
            containers.pop();
            continue;
        };
        if element.is("group") {
            containers.push(xml.depth());
        } else if element.is("package") {
            let mut counters = Counters::default();
            let depth = xml.depth();
            while let Some(child) = xml.child(depth)? {
                if child.is("counter") {
                    counters.add(&child);
                }
            }
            packages.push((element.text("name").unwrap_or_default().to_owned(), counters));
        } else if element.is("counter") && containers.len() == 1 {
            report.add(&element);
        }
    }
    if report.0.is_empty() {
        for (_, counters) in &packages {
            for (kind, counter) in &counters.0 {
                report.add_counter(kind, *counter);
            }
        }
    }
    let other =
        [("INSTRUCTION", "instructions"), ("METHOD", "methods"), ("CLASS", "classes"), ("COMPLEXITY", "complexity")]
            .into_iter()
            .filter_map(|(kind, name)| report.get(kind).map(|counter| (name.to_owned(), counter)))
            .collect();
    let packages =
        packages.into_iter().filter_map(|(name, counters)| counters.get("LINE").map(|lines| (name, lines))).collect();
    Ok(Coverage {
        format: "JaCoCo".to_owned(),
        file,
        lines: report.get("LINE"),
        branches: report.get("BRANCH"),
        other,
        packages,
    })
}

#[cfg(test)]
mod tests {
    use super::super::coverage::{Read, Tool, read};

    fn summary(text: &str) -> String {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("jacoco.xml");
        std::fs::write(&path, text).expect("write");
        match read(None, &path).expect("parses") {
            Read::Summary(coverage) => format!(
                "{} lines={:?} branches={:?}\nother={:?}\npackages={:?}",
                coverage.format,
                coverage.lines.map(|c| (c.covered, c.total)),
                coverage.branches.map(|c| (c.covered, c.total)),
                coverage.other.iter().map(|(name, c)| format!("{name} {}/{}", c.covered, c.total)).collect::<Vec<_>>(),
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
    fn report_counters_and_packages() {
        let text = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!DOCTYPE report PUBLIC "-//JACOCO//DTD Report 1.1//EN" "report.dtd"><report name="shop"><sessioninfo id="ci-1" start="1714557600000" dump="1714557660000"/><package name="com/example/shop"><class name="com/example/shop/Cart" sourcefilename="Cart.java"><method name="add" desc="(I)V" line="10"><counter type="INSTRUCTION" missed="0" covered="12"/><counter type="LINE" missed="0" covered="3"/></method><counter type="LINE" missed="2" covered="8"/></class><sourcefile name="Cart.java"><line nr="10" mi="0" ci="4" mb="0" cb="0"/><counter type="LINE" missed="2" covered="8"/></sourcefile><counter type="INSTRUCTION" missed="10" covered="40"/><counter type="BRANCH" missed="1" covered="3"/><counter type="LINE" missed="2" covered="8"/><counter type="COMPLEXITY" missed="2" covered="6"/><counter type="METHOD" missed="1" covered="5"/><counter type="CLASS" missed="0" covered="1"/></package><package name="com/example/util"><counter type="INSTRUCTION" missed="5" covered="0"/><counter type="LINE" missed="2" covered="0"/><counter type="METHOD" missed="1" covered="0"/><counter type="CLASS" missed="1" covered="0"/></package><counter type="INSTRUCTION" missed="15" covered="40"/><counter type="BRANCH" missed="1" covered="3"/><counter type="LINE" missed="4" covered="8"/><counter type="COMPLEXITY" missed="3" covered="6"/><counter type="METHOD" missed="2" covered="5"/><counter type="CLASS" missed="1" covered="1"/></report>"#;
        insta::assert_snapshot!(summary(text), @r#"
        JaCoCo lines=Some((8, 12)) branches=Some((3, 4))
        other=["instructions 40/55", "methods 5/7", "classes 1/2", "complexity 6/9"]
        packages=["com/example/shop 8/10", "com/example/util 0/2"]
        "#);
    }

    #[test]
    fn groups_and_reports_without_totals() {
        let text = r#"<report name="multi"><group name="core"><package name="a"><counter type="LINE" missed="1" covered="3"/></package></group><group name="web"><group name="api"><package name="b"><counter type="LINE" missed="0" covered="2"/><counter type="BRANCH" missed="2" covered="2"/></package></group></group></report>"#;
        insta::assert_snapshot!(summary(text), @r#"
        JaCoCo lines=Some((5, 6)) branches=Some((2, 4))
        other=[]
        packages=["a 3/4", "b 2/2"]
        "#);
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("jacoco.xml");
        std::fs::write(&path, text).expect("write");
        assert_eq!(read(Some(Tool::Cobertura), &path).expect("well formed"), Read::OtherFormat("report".to_owned()));
    }
}
