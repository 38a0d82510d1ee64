//! A reader of server-sent events (the `text/event-stream` format of the HTML standard) over any
//! [`BufRead`]: `event:`, `data:` (several lines join with `\n`) and `id:` fields, comment lines
//! (`:` — the server's keep-alives) ignored, an empty line ending each event.

use std::io::{self, BufRead};

/// One event of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerEvent {
    /// Its type (`message` when the event named none).
    pub event: String,
    /// Its data, lines joined with `\n`.
    pub data: String,
    /// Its id, when it had one.
    pub id: Option<String>,
}

/// Reads [`ServerEvent`]s from a byte stream, one at a time, waiting for each.
#[derive(Debug)]
pub struct EventStreamReader<R> {
    input: R,
    line: Vec<u8>,
}

impl<R: BufRead> EventStreamReader<R> {
    /// A reader of `input`.
    pub fn new(input: R) -> Self {
        Self { input, line: Vec::new() }
    }

    /// The next event; `None` when the stream ended (an event cut off by the end is dropped, as
    /// the standard says).
    ///
    /// # Errors
    /// When reading fails.
    pub fn next_event(&mut self) -> io::Result<Option<ServerEvent>> {
        let mut event = String::new();
        let mut data: Option<String> = None;
        let mut id = None;
        loop {
            self.line.clear();
            if self.input.read_until(b'\n', &mut self.line)? == 0 {
                return Ok(None);
            }
            let mut line = self.line.as_slice();
            if let Some(rest) = line.strip_suffix(b"\n") {
                line = rest;
            }
            if let Some(rest) = line.strip_suffix(b"\r") {
                line = rest;
            }
            let line = String::from_utf8_lossy(line);
            if line.is_empty() {
                match data.take() {
                    Some(data) => {
                        let event = if event.is_empty() { "message".to_owned() } else { std::mem::take(&mut event) };
                        return Ok(Some(ServerEvent { event, data, id }));
                    }
                    None => {
                        event.clear();
                        continue;
                    }
                }
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line.as_ref(), ""),
            };
            match field {
                "event" => value.clone_into(&mut event),
                "data" => match &mut data {
                    Some(data) => {
                        data.push('\n');
                        data.push_str(value);
                    }
                    None => data = Some(value.to_owned()),
                },
                "id" if !value.contains('\0') => id = Some(value.to_owned()),
                _ => {}
            }
        }
    }
}

impl<R: BufRead> Iterator for EventStreamReader<R> {
    type Item = io::Result<ServerEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(text: &str) -> Vec<ServerEvent> {
        EventStreamReader::new(text.as_bytes()).collect::<io::Result<Vec<_>>>().unwrap_or_default()
    }

    fn event(name: &str, data: &str) -> ServerEvent {
        ServerEvent { event: name.to_owned(), data: data.to_owned(), id: None }
    }

    #[test]
    fn reads_events_with_comments_and_line_endings() {
        let text =
            ": keep-alive\n\nevent: log\ndata: {\"job\":\"A\"}\n\nevent:end\r\ndata:one\r\ndata: two\r\nid: 7\r\n\r\n";
        let read = events(text);
        assert_eq!(read[0], event("log", "{\"job\":\"A\"}"));
        assert_eq!(read[1], ServerEvent { event: "end".into(), data: "one\ntwo".into(), id: Some("7".into()) });
        assert_eq!(read.len(), 2);
    }

    #[test]
    fn events_without_a_name_or_data() {
        assert_eq!(events("data: x\n\n"), vec![event("message", "x")]);
        // No data: nothing is dispatched, and the name does not carry over.
        assert_eq!(events("event: lonely\n\ndata: y\n\n"), vec![event("message", "y")]);
        assert_eq!(events("data\n\n"), vec![event("message", "")]);
    }

    #[test]
    fn an_event_cut_off_by_the_end_is_dropped() {
        assert_eq!(events("event: log\ndata: partial\n"), Vec::new());
        assert_eq!(events(""), Vec::new());
    }
}
