//! Parsing Go `text/template` source into a tree.

use super::TemplateError;
use super::funcs;

/// One argument of a command.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    /// `.` followed by fields (`.a.b`; empty for `.` itself).
    Field(Vec<String>),
    /// `$name` followed by fields (`$` is the root).
    Var(String, Vec<String>),
    /// A function name.
    Func(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    /// `( pipeline )` followed by fields.
    Sub(Box<Pipeline>, Vec<String>),
}

/// `$x := a | b arg`.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Pipeline {
    /// Variables declared (`:=`) or assigned (`=`).
    pub(crate) decl: Vec<String>,
    pub(crate) assign: bool,
    pub(crate) commands: Vec<Vec<Arg>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Text(String),
    Action(Pipeline),
    If(Pipeline, Vec<Node>, Vec<Node>),
    Range(Pipeline, Vec<Node>, Vec<Node>),
    With(Pipeline, Vec<Node>, Vec<Node>),
}

/// A lexed piece of the source: text or the inside of `{{ }}` with its line.
enum Piece {
    Text(String),
    Action(String, usize),
}

fn split(src: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = src;
    let mut line = 1usize;
    let mut trim_next = false;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        if trim_next {
            text = text.trim_start();
        }
        let after = &rest[start + 2..];
        let trim_left =
            after.starts_with("- ") || after.starts_with("-\t") || after.starts_with("-\n");
        if trim_left {
            text = text.trim_end();
        }
        line += rest[..start].matches('\n').count();
        if !text.is_empty() {
            pieces.push(Piece::Text(text.to_string()));
        }
        let inner_start = if trim_left { 1 } else { 0 };
        let after = &after[inner_start..];
        // a comment may contain "}}"; otherwise the action ends at the first "}}" outside a string
        let end = if after.trim_start().starts_with("/*") {
            after
                .find("*/")
                .and_then(|c| after[c..].find("}}").map(|e| c + e))
        } else {
            find_close(after)
        };
        let Some(end) = end else {
            return Err(TemplateError::Parse {
                line,
                message: "unclosed action".into(),
            });
        };
        let mut inner = &after[..end];
        trim_next = false;
        if inner.ends_with(" -") || inner.ends_with("\t-") || inner.ends_with("\n-") {
            inner = &inner[..inner.len() - 1];
            trim_next = true;
        }
        line_count_action(&mut pieces, inner, line);
        line += inner.matches('\n').count();
        rest = &after[end + 2..];
    }
    let mut text = rest;
    if trim_next {
        text = text.trim_start();
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_string()));
    }
    Ok(pieces)
}

fn line_count_action(pieces: &mut Vec<Piece>, inner: &str, line: usize) {
    let trimmed = inner.trim();
    if trimmed.starts_with("/*") && trimmed.ends_with("*/") {
        return;
    }
    pieces.push(Piece::Action(inner.to_string(), line));
}

fn find_close(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) => {
                if c == b'\\' && q == b'"' {
                    i += 1;
                } else if c == q {
                    quote = None;
                }
            }
            None => {
                if c == b'"' || c == b'`' {
                    quote = Some(c);
                } else if c == b'}' && bytes.get(i + 1) == Some(&b'}') {
                    return Some(i);
                }
            }
        }
        i += 1;
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Field(Vec<String>),
    Var(String, Vec<String>),
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Pipe,
    Open,
    Close(Vec<String>),
    Declare,
    Assign,
    Comma,
}

fn fields_after(s: &str, i: &mut usize) -> Vec<String> {
    let bytes = s.as_bytes();
    let mut fields = Vec::new();
    while *i < bytes.len() && bytes[*i] == b'.' {
        let start = *i + 1;
        let mut j = start;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
            j += 1;
        }
        if j == start {
            break;
        }
        fields.push(s[start..j].to_string());
        *i = j;
    }
    fields
}

fn tokenize(s: &str, line: usize) -> Result<Vec<Tok>, TemplateError> {
    let err = |m: String| TemplateError::Parse { line, message: m };
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        match c {
            b'|' => {
                out.push(Tok::Pipe);
                i += 1;
            }
            b'(' => {
                out.push(Tok::Open);
                i += 1;
            }
            b')' => {
                i += 1;
                let fields = fields_after(s, &mut i);
                out.push(Tok::Close(fields));
            }
            b',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            b':' if bytes.get(i + 1) == Some(&b'=') => {
                out.push(Tok::Declare);
                i += 2;
            }
            b'=' => {
                out.push(Tok::Assign);
                i += 1;
            }
            b'.' => {
                if bytes
                    .get(i + 1)
                    .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
                {
                    let fields = fields_after(s, &mut i);
                    out.push(Tok::Field(fields));
                } else {
                    out.push(Tok::Field(Vec::new()));
                    i += 1;
                }
            }
            b'$' => {
                let start = i + 1;
                let mut j = start;
                while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                    j += 1;
                }
                let name = s[start..j].to_string();
                i = j;
                let fields = fields_after(s, &mut i);
                out.push(Tok::Var(name, fields));
            }
            b'"' => {
                let mut text = String::new();
                i += 1;
                let mut closed = false;
                while i < bytes.len() {
                    let ch = s[i..].chars().next().unwrap_or('\0');
                    if ch == '"' {
                        closed = true;
                        i += 1;
                        break;
                    }
                    if ch == '\\' {
                        let next = s[i + 1..].chars().next().unwrap_or('\0');
                        text.push(match next {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            other => other,
                        });
                        i += 1 + next.len_utf8();
                        continue;
                    }
                    text.push(ch);
                    i += ch.len_utf8();
                }
                if !closed {
                    return Err(err("unterminated string".into()));
                }
                out.push(Tok::Str(text));
            }
            b'`' => {
                let Some(end) = s[i + 1..].find('`') else {
                    return Err(err("unterminated raw string".into()));
                };
                out.push(Tok::Str(s[i + 1..i + 1 + end].to_string()));
                i += end + 2;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                let text = &s[start..i];
                if let Ok(n) = text.parse::<i64>() {
                    out.push(Tok::Int(n));
                } else if let Ok(f) = text.parse::<f64>() {
                    out.push(Tok::Float(f));
                } else {
                    return Err(err(format!("bad number {text:?}")));
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                out.push(Tok::Ident(s[start..i].to_string()));
            }
            _ => {
                let ch = s[i..].chars().next().unwrap_or('?');
                return Err(err(format!("unexpected {ch:?} in action")));
            }
        }
    }
    Ok(out)
}

struct PipeParser {
    toks: Vec<Tok>,
    pos: usize,
    line: usize,
}

impl PipeParser {
    fn err(&self, m: &str) -> TemplateError {
        TemplateError::Parse {
            line: self.line,
            message: m.to_string(),
        }
    }

    fn pipeline(&mut self, allow_decl: bool) -> Result<Pipeline, TemplateError> {
        let mut pipe = Pipeline::default();
        if allow_decl {
            // `$a :=`, `$a, $b :=`, `$a =`
            let mut names = Vec::new();
            let mut j = self.pos;
            while let Some(Tok::Var(name, fields)) = self.toks.get(j) {
                if !fields.is_empty() {
                    break;
                }
                names.push(name.clone());
                j += 1;
                if self.toks.get(j) == Some(&Tok::Comma) {
                    j += 1;
                    continue;
                }
                break;
            }
            match self.toks.get(j) {
                Some(Tok::Declare) if !names.is_empty() => {
                    pipe.decl = names;
                    self.pos = j + 1;
                }
                Some(Tok::Assign) if names.len() == 1 => {
                    pipe.decl = names;
                    pipe.assign = true;
                    self.pos = j + 1;
                }
                _ => {}
            }
        }
        loop {
            let mut cmd = Vec::new();
            while let Some(tok) = self.toks.get(self.pos).cloned() {
                match tok {
                    Tok::Pipe | Tok::Close(_) => break,
                    _ => {
                        self.pos += 1;
                        cmd.push(self.operand(tok)?);
                    }
                }
            }
            if cmd.is_empty() {
                return Err(self.err("missing command in pipeline"));
            }
            pipe.commands.push(cmd);
            if self.toks.get(self.pos) == Some(&Tok::Pipe) {
                self.pos += 1;
                continue;
            }
            return Ok(pipe);
        }
    }

    fn operand(&mut self, tok: Tok) -> Result<Arg, TemplateError> {
        Ok(match tok {
            Tok::Field(f) => Arg::Field(f),
            Tok::Var(n, f) => Arg::Var(n, f),
            Tok::Str(s) => Arg::Str(s),
            Tok::Int(i) => Arg::Int(i),
            Tok::Float(f) => Arg::Float(f),
            Tok::Ident(name) => match name.as_str() {
                "true" => Arg::Bool(true),
                "false" => Arg::Bool(false),
                "nil" => Arg::Nil,
                _ if funcs::exists(&name) => Arg::Func(name),
                _ => return Err(self.err(&format!("function {name:?} not defined"))),
            },
            Tok::Open => {
                let inner = self.pipeline(false)?;
                match self.toks.get(self.pos).cloned() {
                    Some(Tok::Close(fields)) => {
                        self.pos += 1;
                        Arg::Sub(Box::new(inner), fields)
                    }
                    _ => return Err(self.err("unclosed left paren")),
                }
            }
            Tok::Close(_) => return Err(self.err("unexpected right paren")),
            Tok::Pipe | Tok::Comma | Tok::Declare | Tok::Assign => {
                return Err(self.err("unexpected symbol in command"));
            }
        })
    }
}

fn parse_pipeline(src: &str, line: usize, allow_decl: bool) -> Result<Pipeline, TemplateError> {
    let toks = tokenize(src, line)?;
    let mut p = PipeParser { toks, pos: 0, line };
    let pipe = p.pipeline(allow_decl)?;
    if p.pos != p.toks.len() {
        return Err(p.err("unexpected tokens after pipeline"));
    }
    Ok(pipe)
}

/// Parses template source into nodes.
pub(crate) fn parse(src: &str) -> Result<Vec<Node>, TemplateError> {
    let pieces = split(src)?;
    let mut iter = pieces.into_iter().peekable();
    let (nodes, end) = parse_list(&mut iter)?;
    match end {
        Closer::Eof => Ok(nodes),
        Closer::End(line) => Err(TemplateError::Parse {
            line,
            message: "unexpected {{end}}".into(),
        }),
        Closer::Else(line, _) => Err(TemplateError::Parse {
            line,
            message: "unexpected {{else}}".into(),
        }),
    }
}

enum Closer {
    Eof,
    End(usize),
    /// `{{else}}` or `{{else if ...}}` (with the rest of the action).
    Else(usize, String),
}

type Pieces = std::iter::Peekable<std::vec::IntoIter<Piece>>;

fn keyword(action: &str) -> (&str, &str) {
    let t = action.trim();
    let word_end = t
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(t.len());
    (&t[..word_end], t[word_end..].trim())
}

fn parse_list(iter: &mut Pieces) -> Result<(Vec<Node>, Closer), TemplateError> {
    let mut nodes = Vec::new();
    while let Some(piece) = iter.next() {
        match piece {
            Piece::Text(t) => nodes.push(Node::Text(t)),
            Piece::Action(action, line) => {
                let (word, rest) = keyword(&action);
                match word {
                    "end" => return Ok((nodes, Closer::End(line))),
                    "else" => return Ok((nodes, Closer::Else(line, rest.to_string()))),
                    "if" | "range" | "with" => {
                        nodes.push(parse_block(word, rest, line, iter)?);
                    }
                    "define" | "template" | "block" | "break" | "continue" => {
                        return Err(TemplateError::Parse {
                            line,
                            message: format!("{{{{{word}}}}} is not supported"),
                        });
                    }
                    _ => nodes.push(Node::Action(parse_pipeline(&action, line, true)?)),
                }
            }
        }
    }
    Ok((nodes, Closer::Eof))
}

fn parse_block(
    word: &str,
    rest: &str,
    line: usize,
    iter: &mut Pieces,
) -> Result<Node, TemplateError> {
    if rest.is_empty() {
        return Err(TemplateError::Parse {
            line,
            message: format!("missing value for {word}"),
        });
    }
    let pipe = parse_pipeline(rest, line, true)?;
    let (body, end) = parse_list(iter)?;
    let otherwise = match end {
        Closer::Eof => {
            return Err(TemplateError::Parse {
                line,
                message: format!("unexpected EOF: {{{{{word}}}}} has no {{{{end}}}}"),
            });
        }
        Closer::End(_) => Vec::new(),
        Closer::Else(else_line, else_rest) => {
            let (w, r) = keyword(&else_rest);
            if (w == "if" && word == "if") || (w == "with" && word == "with") {
                // `{{else if x}}` is `{{else}}{{if x}}...{{end}}{{end}}` sharing the final end
                vec![parse_block(w, r, else_line, iter)?]
            } else if !else_rest.is_empty() {
                return Err(TemplateError::Parse {
                    line: else_line,
                    message: format!("unexpected {else_rest:?} after else"),
                });
            } else {
                let (body, end) = parse_list(iter)?;
                match end {
                    Closer::End(_) => body,
                    _ => {
                        return Err(TemplateError::Parse {
                            line: else_line,
                            message: "expected {{end}} after {{else}}".into(),
                        });
                    }
                }
            }
        }
    };
    Ok(match word {
        "if" => Node::If(pipe, body, otherwise),
        "range" => Node::Range(pipe, body, otherwise),
        _ => Node::With(pipe, body, otherwise),
    })
}
