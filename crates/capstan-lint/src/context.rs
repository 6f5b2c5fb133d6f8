//! Per-document state: where fields are, and the problems found so far.

use capstan_yaml::{Document, FieldPath};

use crate::Problem;

pub(crate) struct DocContext<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
    pub(crate) doc: &'a Document,
    pub(crate) problems: Vec<Problem>,
}

impl<'a> DocContext<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str, doc: &'a Document) -> Self {
        DocContext {
            file,
            text,
            doc,
            problems: Vec::new(),
        }
    }

    /// Reports a problem at a field given as a dotted path.
    pub(crate) fn report(&mut self, path: &str, message: impl Into<String>) {
        let field = FieldPath::parse(path);
        let position = self.doc.locate(&field);
        self.problems.push(Problem {
            file: self.file.to_string(),
            line: position.line,
            column: position.column,
            path: if path.is_empty() {
                "<document>".to_string()
            } else {
                path.to_string()
            },
            message: message.into(),
        });
    }

    /// Reports a problem at the value of a field (rather than its key).
    pub(crate) fn report_value(&mut self, path: &str, message: impl Into<String>) {
        let field = FieldPath::parse(path);
        let position = self
            .doc
            .value_position(&field)
            .unwrap_or_else(|| self.doc.locate(&field));
        self.problems.push(Problem {
            file: self.file.to_string(),
            line: position.line,
            column: position.column,
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Reports a problem at a line inside a multi-line string value (e.g. line 3 of `policy.csv`).
    pub(crate) fn report_in_value(
        &mut self,
        path: &str,
        line_in_value: usize,
        message: impl Into<String>,
    ) {
        let field = FieldPath::parse(path);
        let start = self
            .doc
            .value_position(&field)
            .unwrap_or_else(|| self.doc.locate(&field));
        // A block scalar (`|` or `>`) starts on the line after its indicator.
        let indicator = self
            .text
            .lines()
            .nth(start.line.saturating_sub(1))
            .and_then(|l| l.chars().nth(start.column.saturating_sub(1)));
        let first_content_line = if matches!(indicator, Some('|' | '>')) {
            start.line + 1
        } else {
            start.line
        };
        let line = first_content_line + line_in_value.saturating_sub(1);
        let column = self
            .text
            .lines()
            .nth(line.saturating_sub(1))
            .map(|l| l.len() - l.trim_start().len() + 1)
            .unwrap_or(1);
        self.problems.push(Problem {
            file: self.file.to_string(),
            line,
            column,
            path: path.to_string(),
            message: message.into(),
        });
    }

    pub(crate) fn report_root(&mut self, message: impl Into<String>) {
        self.report("", message);
    }
}
