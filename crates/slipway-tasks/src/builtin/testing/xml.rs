//! A streaming reader over one XML file, for the result and coverage parsers.
//!
//! Result files can be hundreds of megabytes (test output kept in `system-out`), so nothing here
//! builds a document: the parsers walk start and end tags, ask for the text of the few elements
//! they keep ([`XmlFile::read_text`], capped at [`MAX_TEXT`]) and skip the rest
//! ([`XmlFile::skip`]). Element and attribute names are local names (namespace prefixes dropped:
//! TRX files use a default namespace). Every problem is an [`XmlError`] whose message is in the
//! style of .NET's `XmlException` (`... Line 3, position 7`), which the tasks turn into Azure's
//! `Failed to read FILE. Error : MESSAGE.` warning; nothing here panics on malformed input.
//!
//! Files are UTF-8 (a byte order mark is dropped); UTF-16 files with a byte order mark are
//! decoded in memory first.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use quick_xml::Reader;
use quick_xml::events::Event;

/// Why an XML file could not be read.
#[derive(Debug, thiserror::Error)]
pub(super) enum XmlError {
    /// The file could not be opened or read.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// It starts with a UTF-16 byte order mark but is not UTF-16.
    #[error("The file is not valid UTF-16")]
    Utf16(#[source] std::string::FromUtf16Error),
    /// It is not well-formed XML: what is wrong, and where (line and position from 1, the
    /// position in characters).
    #[error("{}. Line {line}, position {position}", problem.to_string().trim_end_matches('.'))]
    Malformed {
        /// What is wrong.
        problem: Problem,
        /// The line.
        line: u64,
        /// The position in the line.
        position: u64,
    },
}

/// What is wrong with a document that is not well-formed XML (.NET's wording where it has one).
#[derive(Debug, thiserror::Error)]
pub(super) enum Problem {
    /// The XML reader's own complaint (bad syntax, mismatched end tag).
    #[error(transparent)]
    Syntax(quick_xml::Error),
    /// A second element after the root's end.
    #[error("There are multiple root elements")]
    MultipleRoots,
    /// Text outside the root element.
    #[error("Data at the root level is invalid")]
    DataOutsideRoot,
    /// No element at all.
    #[error("Root element is missing")]
    RootMissing,
    /// The file ends inside this element.
    #[error("Unexpected end of file: <{0}> is not closed")]
    Unclosed(String),
    /// An attribute of this element is malformed (duplicated, unquoted...).
    #[error("Invalid attribute in <{element}>: {source}")]
    Attribute {
        /// The element's local name.
        element: String,
        /// The reader's complaint.
        source: quick_xml::events::attributes::AttrError,
    },
    /// An attribute value of this element does not unescape.
    #[error("Invalid attribute value in <{element}>: {source}")]
    AttributeValue {
        /// The element's local name.
        element: String,
        /// The reader's complaint.
        source: quick_xml::Error,
    },
}

/// The most text kept from one element (a failure message or stack trace); the rest is dropped.
pub(super) const MAX_TEXT: usize = 64 * 1024;

/// A start tag: its local name and attributes (values unescaped and normalized).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Element {
    /// The local name (`testcase`, `UnitTestResult`).
    pub name: String,
    attributes: Vec<(String, String)>,
}

impl Element {
    /// An attribute's value by local name (ignoring ASCII case, as generators disagree on it).
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// An attribute's value, trimmed, when present and not blank.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.attribute(name).map(str::trim).filter(|value| !value.is_empty())
    }

    /// Whether this element has `name` (ignoring ASCII case).
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// What [`XmlFile::next`] found.
#[derive(Debug)]
pub(super) enum Node {
    /// A start tag (an empty element `<a/>` is a start tag followed by an end tag).
    Start(Element),
    /// An end tag; [`XmlFile::depth`] is already one less.
    End,
}

/// Where the text came from, to turn a byte offset into a line and position.
enum Source {
    File(PathBuf),
    Memory(Vec<u8>),
}

/// An XML file being read.
pub(super) struct XmlFile {
    reader: Reader<Box<dyn BufRead>>,
    buffer: Vec<u8>,
    /// The local names of the open elements, outermost first.
    open: Vec<String>,
    root_seen: bool,
    source: Source,
    /// The byte offset where the last event started.
    event_start: u64,
}

/// What one raw event means for the walk, decided while the event borrows the buffer.
enum Step {
    Start(Element),
    End,
    TextOutsideRoot,
    Eof,
    Other,
}

impl XmlFile {
    /// Opens a file for reading.
    ///
    /// # Errors
    /// When the file cannot be opened or read, or is UTF-16 that does not decode.
    pub fn open(path: &Path) -> Result<Self, XmlError> {
        let file = File::open(path)?;
        let mut file = BufReader::with_capacity(64 * 1024, file);
        let head = file.fill_buf()?;
        let utf16 = match head {
            [0xFF, 0xFE, ..] => Some(false),
            [0xFE, 0xFF, ..] => Some(true),
            _ => None,
        };
        let (input, source): (Box<dyn BufRead>, Source) = match utf16 {
            None => (Box::new(file), Source::File(path.to_path_buf())),
            Some(big_endian) => {
                let mut bytes = Vec::new();
                file.read_to_end(&mut bytes)?;
                let text = decode_utf16(bytes.get(2..).unwrap_or_default(), big_endian)?;
                let bytes = text.into_bytes();
                (Box::new(Cursor::new(bytes.clone())), Source::Memory(bytes))
            }
        };
        let mut reader = Reader::from_reader(input);
        reader.config_mut().expand_empty_elements = true;
        Ok(Self { reader, buffer: Vec::new(), open: Vec::new(), root_seen: false, source, event_start: 0 })
    }

    /// How many elements are open: 1 right after the root's start tag.
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// The next start or end tag; `None` at the end of a well-formed document.
    ///
    /// # Errors
    /// When the XML is malformed: bad syntax, mismatched or missing end tags, text or a second
    /// element outside the root, no root at all.
    pub fn next(&mut self) -> Result<Option<Node>, XmlError> {
        loop {
            match self.step()? {
                Step::Start(element) => {
                    if self.open.is_empty() {
                        if self.root_seen {
                            return Err(self.located(Problem::MultipleRoots, true));
                        }
                        self.root_seen = true;
                    }
                    self.open.push(element.name.clone());
                    return Ok(Some(Node::Start(element)));
                }
                Step::End => {
                    self.open.pop();
                    return Ok(Some(Node::End));
                }
                Step::TextOutsideRoot => return Err(self.located(Problem::DataOutsideRoot, true)),
                Step::Eof => {
                    if !self.open.is_empty() {
                        return Err(self.unclosed());
                    }
                    if !self.root_seen {
                        return Err(self.located(Problem::RootMissing, false));
                    }
                    return Ok(None);
                }
                Step::Other => {}
            }
        }
    }

    /// The root element (the first start tag).
    ///
    /// # Errors
    /// As [`XmlFile::next`].
    pub fn root(&mut self) -> Result<Element, XmlError> {
        match self.next()? {
            Some(Node::Start(element)) => Ok(element),
            _ => Err(self.located(Problem::RootMissing, false)),
        }
    }

    /// The next direct child of the element open at `depth` (as [`XmlFile::depth`] returned right
    /// after its start tag), skipping anything deeper the caller did not read; `None` once that
    /// element has ended.
    ///
    /// # Errors
    /// As [`XmlFile::next`].
    pub fn child(&mut self, depth: usize) -> Result<Option<Element>, XmlError> {
        loop {
            if self.depth() < depth {
                return Ok(None);
            }
            if self.depth() > depth {
                self.skip()?;
                continue;
            }
            match self.next()? {
                Some(Node::Start(element)) => return Ok(Some(element)),
                Some(Node::End) => {}
                None => return Ok(None),
            }
        }
    }

    /// Skips to the end of the innermost open element (call right after its start tag).
    ///
    /// # Errors
    /// As [`XmlFile::next`].
    pub fn skip(&mut self) -> Result<(), XmlError> {
        let target = self.depth().saturating_sub(1);
        while self.depth() > target {
            if self.next()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// The text inside the innermost open element (call right after its start tag), nested
    /// elements' text included, as .NET's `InnerText`; reads up to its end tag. Keeps at most
    /// [`MAX_TEXT`] bytes.
    ///
    /// # Errors
    /// As [`XmlFile::next`].
    pub fn read_text(&mut self) -> Result<String, XmlError> {
        let target = self.depth().saturating_sub(1);
        let mut text = String::new();
        while self.depth() > target {
            self.buffer.clear();
            let piece = match self.reader.read_event_into(&mut self.buffer) {
                Err(error) => return Err(self.at(Problem::Syntax(error), self.reader.error_position())),
                Ok(Event::Start(start)) => {
                    self.open.push(start.local_name().as_ref().to_owned());
                    None
                }
                Ok(Event::End(_)) => {
                    self.open.pop();
                    None
                }
                Ok(Event::Text(content)) => Some(content.xml10_content().into_owned()),
                Ok(Event::CData(content)) => Some(content.xml10_content().into_owned()),
                Ok(Event::GeneralRef(reference)) => Some(match reference.resolve_char_ref() {
                    Ok(Some(character)) => character.to_string(),
                    _ => match quick_xml::escape::resolve_predefined_entity(&reference) {
                        Some(replacement) => replacement.to_owned(),
                        None => format!("&{};", &*reference),
                    },
                }),
                Ok(Event::Eof) => return Err(self.unclosed()),
                Ok(_) => None,
            };
            if let Some(piece) = piece {
                push_capped(&mut text, &piece);
            }
        }
        Ok(text)
    }

    fn step(&mut self) -> Result<Step, XmlError> {
        self.buffer.clear();
        let outside_root = self.open.is_empty();
        self.event_start = self.reader.buffer_position();
        let step = match self.reader.read_event_into(&mut self.buffer) {
            Err(error) => Err((Problem::Syntax(error), true)),
            Ok(Event::Start(start)) => element(&start).map(Step::Start).map_err(|problem| (problem, false)),
            Ok(Event::End(_)) => Ok(Step::End),
            Ok(Event::Text(text)) if outside_root && !text.trim().is_empty() => Ok(Step::TextOutsideRoot),
            Ok(Event::CData(_) | Event::GeneralRef(_)) if outside_root => Ok(Step::TextOutsideRoot),
            Ok(Event::Eof) => Ok(Step::Eof),
            Ok(_) => Ok(Step::Other),
        };
        step.map_err(|(problem, from_reader)| {
            let offset = if from_reader { self.reader.error_position() } else { self.event_start };
            self.at(problem, offset)
        })
    }

    fn unclosed(&self) -> XmlError {
        let name = self.open.last().cloned().unwrap_or_default();
        self.located(Problem::Unclosed(name), false)
    }

    /// `problem` with the line and position where the last event started (`start`) or where the
    /// reader stopped.
    fn located(&self, problem: Problem, start: bool) -> XmlError {
        self.at(problem, if start { self.event_start } else { self.reader.buffer_position() })
    }

    fn at(&self, problem: Problem, offset: u64) -> XmlError {
        let (line, position) = self.position(offset);
        XmlError::Malformed { problem, line, position }
    }

    /// Line and position (both from 1, position in characters) of a byte offset.
    fn position(&self, offset: u64) -> (u64, u64) {
        let mut line = 1;
        let mut position = 1;
        let mut count = |bytes: &[u8]| {
            for &byte in bytes {
                if byte == b'\n' {
                    line += 1;
                    position = 1;
                } else if byte & 0xC0 != 0x80 {
                    position += 1;
                }
            }
        };
        match &self.source {
            Source::Memory(bytes) => count(&bytes[..bytes.len().min(usize::try_from(offset).unwrap_or(usize::MAX))]),
            Source::File(path) => {
                if let Ok(file) = File::open(path) {
                    let mut limited = BufReader::new(file).take(offset);
                    let mut chunk = vec![0; 64 * 1024];
                    while let Ok(read) = limited.read(&mut chunk) {
                        if read == 0 {
                            break;
                        }
                        count(&chunk[..read]);
                    }
                }
            }
        }
        (line, position)
    }
}

fn element(start: &quick_xml::events::BytesStart<'_>) -> Result<Element, Problem> {
    let name = start.local_name().as_ref().to_owned();
    let mut attributes = Vec::new();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|source| Problem::Attribute { element: name.clone(), source })?;
        let value = attribute
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|source| Problem::AttributeValue { element: name.clone(), source })?;
        attributes.push((attribute.key.local_name().as_ref().to_owned(), value.into_owned()));
    }
    Ok(Element { name, attributes })
}

/// Appends `piece` while `text` is under [`MAX_TEXT`], cutting on a character boundary.
pub(super) fn push_capped(text: &mut String, piece: &str) {
    let room = MAX_TEXT.saturating_sub(text.len());
    if piece.len() <= room {
        text.push_str(piece);
    } else {
        let mut end = room;
        while !piece.is_char_boundary(end) {
            end -= 1;
        }
        text.push_str(&piece[..end]);
    }
}

fn decode_utf16(bytes: &[u8], big_endian: bool) -> Result<String, XmlError> {
    let units: Vec<u16> =
        bytes
            .chunks_exact(2)
            .map(|pair| {
                if big_endian { u16::from_be_bytes([pair[0], pair[1]]) } else { u16::from_le_bytes([pair[0], pair[1]]) }
            })
            .collect();
    String::from_utf16(&units).map_err(XmlError::Utf16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(text: &[u8]) -> (tempfile::TempDir, XmlFile) {
        let directory = tempfile::tempdir().expect("temporary directory");
        let path = directory.path().join("file.xml");
        std::fs::write(&path, text).expect("write");
        let file = XmlFile::open(&path).expect("open");
        (directory, file)
    }

    fn walk(text: &[u8]) -> Result<Vec<String>, XmlError> {
        let (_directory, mut xml) = open(text);
        let mut seen = Vec::new();
        while let Some(node) = xml.next()? {
            match node {
                Node::Start(element) => seen.push(format!("<{}>@{}", element.name, xml.depth())),
                Node::End => seen.push(format!("</>@{}", xml.depth())),
            }
        }
        Ok(seen)
    }

    #[test]
    fn walks_local_names_with_empty_elements_expanded() {
        let seen = walk(b"\xEF\xBB\xBF<?xml version=\"1.0\"?>\n<!-- c --><t:a xmlns:t=\"urn:x\"><b/><c>x</c></t:a>\n")
            .expect("well formed");
        assert_eq!(seen, ["<a>@1", "<b>@2", "</>@1", "<c>@2", "</>@1", "</>@0"]);
    }

    #[test]
    fn text_resolves_references_and_cdata_and_children_are_skipped() {
        let (_directory, mut xml) =
            open(b"<r a=\"x &amp; &#65;&#10;y\"><m>1 &lt; 2 &#x41;<i>!</i><![CDATA[<raw>]]></m><n><deep/></n><o/></r>");
        let root = xml.root().expect("root");
        assert_eq!(root.attribute("A"), Some("x & A\ny"), "references resolve; a character reference is kept");
        let depth = xml.depth();
        let first = xml.child(depth).expect("read").expect("m");
        assert_eq!(first.name, "m");
        assert_eq!(xml.read_text().expect("text"), "1 < 2 A!<raw>");
        assert_eq!(xml.child(depth).expect("read").map(|element| element.name), Some("n".to_owned()));
        assert_eq!(
            xml.child(depth).expect("read").map(|element| element.name),
            Some("o".to_owned()),
            "<deep/> skipped"
        );
        assert_eq!(xml.child(depth).expect("read"), None);
        assert!(xml.next().expect("end").is_none());
    }

    #[test]
    fn utf16_files_are_decoded() {
        let text = "<?xml version=\"1.0\" encoding=\"utf-16\"?><r n=\"é\"/>";
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let (_directory, mut xml) = open(&bytes);
        assert_eq!(xml.root().expect("root").attribute("n"), Some("é"));
    }

    #[test]
    fn malformed_documents_are_errors_with_a_line_and_position() {
        let errors: Vec<String> = [
            &b"<a>\n  <b>\n</a>"[..],
            b"<a>\n<b>",
            b"",
            b"not xml at all",
            b"<a/><b/>",
            b"<a x=\"1\" x=\"2\"/>",
            b"<a>\n<b c=\"1></b></a>",
        ]
        .iter()
        .map(|text| walk(text).expect_err("malformed").to_string())
        .collect();
        insta::assert_snapshot!(errors.join("\n"), @r#"
        ill-formed document: expected `</b>`, but `</a>` was found. Line 3, position 1
        Unexpected end of file: <b> is not closed. Line 2, position 4
        Root element is missing. Line 1, position 1
        Data at the root level is invalid. Line 1, position 1
        There are multiple root elements. Line 1, position 5
        Invalid attribute in <a>: position 8: duplicated attribute, previous declaration at position 2. Line 1, position 1
        syntax error: attribute value not closed: `"` not found before end of input. Line 2, position 1
        "#);
    }

    #[test]
    fn long_text_is_capped_on_a_character_boundary() {
        let mut text = String::new();
        push_capped(&mut text, &"é".repeat(MAX_TEXT));
        assert!(text.len() <= MAX_TEXT && text.len() > MAX_TEXT - 2);
        push_capped(&mut text, "more");
        assert!(text.len() <= MAX_TEXT);
    }
}
