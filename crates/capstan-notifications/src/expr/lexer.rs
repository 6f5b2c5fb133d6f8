//! Tokens of the expression language.

use super::ExprError;

/// One token with its byte offset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Int(i64),
    Float(f64),
    Str(String),
    Ident(String),
    /// Punctuation and operators: `( ) [ ] , . ?. == != <= >= < > + - * / % ! && || ? : ??`.
    Punct(&'static str),
}

const PUNCTS: &[&str] = &[
    "?.", "??", "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", ",", ".", "<", ">", "+",
    "-", "*", "/", "%", "!", "?", ":",
];

/// Splits `src` into tokens.
pub(crate) fn tokenize(src: &str) -> Result<Vec<(usize, Token)>, ExprError> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
                i += 1;
            }
            let mut float = false;
            if i + 1 < bytes.len() && bytes[i] == b'.' && bytes[i + 1].is_ascii_digit() {
                float = true;
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
            }
            let text: String = src[start..i].chars().filter(|c| *c != '_').collect();
            let token = if float {
                Token::Float(
                    text.parse()
                        .map_err(|_| ExprError::syntax(start, "bad number"))?,
                )
            } else {
                Token::Int(
                    text.parse()
                        .map_err(|_| ExprError::syntax(start, "bad number"))?,
                )
            };
            out.push((start, token));
            continue;
        }
        if c == b'\'' || c == b'"' {
            let quote = c;
            i += 1;
            let mut text = String::new();
            let mut closed = false;
            while i < bytes.len() {
                let ch = src[i..].chars().next().unwrap_or('\0');
                if ch as u32 == quote as u32 {
                    closed = true;
                    i += 1;
                    break;
                }
                if ch == '\\' && i + 1 < bytes.len() {
                    let next = src[i + 1..].chars().next().unwrap_or('\0');
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
                return Err(ExprError::syntax(start, "unterminated string"));
            }
            out.push((start, Token::Str(text)));
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$')
            {
                i += 1;
            }
            out.push((start, Token::Ident(src[start..i].to_string())));
            continue;
        }
        let rest = &src[i..];
        match PUNCTS.iter().find(|p| rest.starts_with(**p)) {
            Some(p) => {
                out.push((start, Token::Punct(p)));
                i += p.len();
            }
            None => {
                let ch = rest.chars().next().unwrap_or('?');
                return Err(ExprError::syntax(
                    start,
                    &format!("unexpected character {ch:?}"),
                ));
            }
        }
    }
    Ok(out)
}
