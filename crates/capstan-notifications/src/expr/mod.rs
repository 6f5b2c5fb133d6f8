//! The condition language of trigger `when` and `oncePer` (the subset of expr-lang that Argo CD's
//! catalog and documentation use): literals (`'x'`, `"x"`, numbers, `true`, `false`, `nil`,
//! `[a, b]`), field access (`app.status.sync.status`, `?.`, `[index]`), comparisons, `in` /
//! `not in`, `matches`, `contains`, `startsWith`, `endsWith`, `and` / `or` / `not` (and `&&`, `||`,
//! `!`), arithmetic, `? :` and `??`, and the functions Argo CD puts in the environment:
//! `time.Now()`, `time.Parse(s)` (RFC 3339) with `Sub`, `Add`, `Before`, `After`, `Unix` and
//! durations' `Seconds()`, `Minutes()`, `Hours()`; `time.Second|Minute|Hour`; `strings.ReplaceAll`,
//! `strings.ToUpper`, `strings.ToLower`, `strings.Contains`, `strings.HasPrefix`,
//! `strings.HasSuffix`; `len`, `upper`, `lower`, `trim`, `string`, `int`, `float`.
//!
//! Fields of JSON objects that are missing read as `nil` (as a Go map lookup does), and reading a
//! field of `nil` is `nil` as well.

mod eval;
mod lexer;
mod parser;

use chrono::{DateTime, FixedOffset, TimeDelta};
pub use eval::Env;
use serde_json::Value;

/// A condition that did not parse or could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    /// The text is not an expression.
    #[error("syntax error at offset {offset}: {message}")]
    Syntax {
        /// Byte offset in the expression.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// Evaluation failed (types, unknown names, bad time strings).
    #[error("{0}")]
    Eval(String),
}

impl ExprError {
    fn syntax(offset: usize, message: &str) -> ExprError {
        ExprError::Syntax {
            offset,
            message: message.to_string(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Matches,
    Contains,
    StartsWith,
    EndsWith,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Coalesce,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum UnOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Array(Vec<Node>),
    Ident(String),
    Member(Box<Node>, String),
    Index(Box<Node>, Box<Node>),
    Call(Box<Node>, Vec<Node>),
    Unary(UnOp, Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
}

/// A value during evaluation.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// `nil` (also a missing field).
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A list.
    List(Vec<Val>),
    /// A JSON object (fields converted when read).
    Map(serde_json::Map<String, Value>),
    /// A point in time.
    Time(DateTime<FixedOffset>),
    /// A duration.
    Duration(TimeDelta),
    /// A function or a method bound to its receiver.
    Func(String, Option<Box<Val>>),
}

impl Val {
    /// Converts a JSON value.
    pub fn from_json(v: &Value) -> Val {
        match v {
            Value::Null => Val::Nil,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => Val::Float(n.as_f64().unwrap_or(0.0)),
            },
            Value::String(s) => Val::Str(s.clone()),
            Value::Array(items) => Val::List(items.iter().map(Val::from_json).collect()),
            Value::Object(map) => Val::Map(map.clone()),
        }
    }

    /// Truthiness for `and`/`or`/`not` and a trigger's result: only `true` is true.
    pub fn is_true(&self) -> bool {
        matches!(self, Val::Bool(true))
    }

    /// The value as text, for `oncePer` keys: strings as is, `nil` empty, others as JSON.
    pub fn to_key_string(&self) -> String {
        match self {
            Val::Nil => String::new(),
            Val::Str(s) => s.clone(),
            Val::Bool(b) => b.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => f.to_string(),
            Val::Time(t) => t.to_rfc3339(),
            Val::Duration(d) => format!("{}s", d.num_seconds()),
            Val::Map(m) => Value::Object(m.clone()).to_string(),
            Val::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Val::to_key_string)
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            Val::Func(name, _) => name.clone(),
        }
    }
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    source: String,
    root: Node,
}

impl Expr {
    /// Parses `source`.
    pub fn parse(source: &str) -> Result<Expr, ExprError> {
        let tokens = lexer::tokenize(source)?;
        if tokens.is_empty() {
            return Err(ExprError::syntax(0, "empty expression"));
        }
        let root = parser::Parser::new(tokens, source.len()).parse_all()?;
        Ok(Expr {
            source: source.to_string(),
            root,
        })
    }

    /// The text it was parsed from.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates against `env`.
    pub fn eval(&self, env: &Env) -> Result<Val, ExprError> {
        env.eval(&self.root)
    }

    /// Evaluates and requires a boolean (a trigger condition).
    pub fn eval_bool(&self, env: &Env) -> Result<bool, ExprError> {
        match self.eval(env)? {
            Val::Bool(b) => Ok(b),
            other => Err(ExprError::Eval(format!(
                "condition is not a boolean but {}",
                other.to_key_string()
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
