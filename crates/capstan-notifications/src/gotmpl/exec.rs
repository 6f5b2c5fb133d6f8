//! Executing a parsed template over JSON data.

use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::TemplateError;
use super::funcs;
use super::parse::{Arg, Node, Pipeline};

/// A value during execution.
#[derive(Debug, Clone, PartialEq)]
pub enum TVal {
    /// Data.
    Json(Value),
    /// A missing map key (prints `<no value>`, as Go does).
    Missing,
    /// A function value (`.repo.RepoURLToHTTPS`), used with `call`.
    Func(String),
    /// A time (`call .time.Now`).
    Time(DateTime<FixedOffset>),
}

impl TVal {
    /// Go's truth: false, 0, nil, empty string, list or map are false.
    pub fn truthy(&self) -> bool {
        match self {
            TVal::Json(v) => match v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
            },
            TVal::Missing => false,
            TVal::Func(_) | TVal::Time(_) => true,
        }
    }

    /// How `{{.x}}` prints it.
    pub fn print(&self) -> String {
        match self {
            TVal::Json(v) => print_json(v, true),
            TVal::Missing => "<no value>".into(),
            TVal::Func(name) => format!("func {name}"),
            TVal::Time(t) => t.format("%Y-%m-%d %H:%M:%S%.f %z").to_string(),
        }
    }

    /// The value as JSON (functions and missing values are null).
    pub fn to_json(&self) -> Value {
        match self {
            TVal::Json(v) => v.clone(),
            TVal::Time(t) => Value::String(t.to_rfc3339()),
            TVal::Missing | TVal::Func(_) => Value::Null,
        }
    }
}

fn print_json(v: &Value, top: bool) -> String {
    match v {
        Value::Null if top => "<no value>".into(),
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| print_json(i, false))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            format!(
                "map[{}]",
                keys.iter()
                    .map(|k| format!("{k}:{}", print_json(&map[k.as_str()], false)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    }
}

/// Names on the root that are function namespaces when the data does not define them.
const NAMESPACES: &[&str] = &["repo", "time", "strings", "sync"];

pub(crate) struct Exec<'a> {
    root: &'a TVal,
    vars: Vec<(String, TVal)>,
    now: DateTime<FixedOffset>,
}

impl<'a> Exec<'a> {
    pub(crate) fn new(root: &'a TVal, now: DateTime<FixedOffset>) -> Exec<'a> {
        Exec {
            root,
            vars: vec![("".into(), root.clone())],
            now,
        }
    }

    pub(crate) fn run(
        &mut self,
        nodes: &[Node],
        dot: &TVal,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Action(pipe) => {
                    let v = self.pipeline(pipe, dot)?;
                    if pipe.decl.is_empty() {
                        out.push_str(&v.print());
                    }
                }
                Node::If(pipe, then, otherwise) => {
                    let mark = self.vars.len();
                    let v = self.pipeline(pipe, dot)?;
                    let branch = if v.truthy() { then } else { otherwise };
                    self.run(branch, dot, out)?;
                    self.vars.truncate(mark);
                }
                Node::With(pipe, body, otherwise) => {
                    let mark = self.vars.len();
                    let v = self.pipeline(pipe, dot)?;
                    if v.truthy() {
                        self.run(body, &v, out)?;
                    } else {
                        self.run(otherwise, dot, out)?;
                    }
                    self.vars.truncate(mark);
                }
                Node::Range(pipe, body, otherwise) => {
                    self.range(pipe, body, otherwise, dot, out)?
                }
            }
        }
        Ok(())
    }

    fn range(
        &mut self,
        pipe: &Pipeline,
        body: &[Node],
        otherwise: &[Node],
        dot: &TVal,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        let mut inner = pipe.clone();
        let decl = std::mem::take(&mut inner.decl);
        let v = self.pipeline(&inner, dot)?;
        let items: Vec<(Value, Value)> = match &v {
            TVal::Json(Value::Array(a)) => a
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::from(i as u64), x.clone()))
                .collect(),
            TVal::Json(Value::Object(m)) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                keys.into_iter()
                    .map(|k| (Value::String(k.clone()), m[k.as_str()].clone()))
                    .collect()
            }
            TVal::Json(Value::Null) | TVal::Missing => Vec::new(),
            TVal::Json(Value::Number(n)) if n.as_u64().is_some() => (0..n.as_u64().unwrap_or(0))
                .map(|i| (Value::from(i), Value::from(i)))
                .collect(),
            other => {
                return Err(TemplateError::Exec(format!(
                    "range can't iterate over {}",
                    other.print()
                )));
            }
        };
        if items.is_empty() {
            return self.run(otherwise, dot, out);
        }
        for (key, item) in items {
            let mark = self.vars.len();
            match decl.as_slice() {
                [] => {}
                [v] => self.vars.push((v.clone(), TVal::Json(item.clone()))),
                [k, v, ..] => {
                    self.vars.push((k.clone(), TVal::Json(key)));
                    self.vars.push((v.clone(), TVal::Json(item.clone())));
                }
            }
            self.run(body, &TVal::Json(item), out)?;
            self.vars.truncate(mark);
        }
        Ok(())
    }

    fn pipeline(&mut self, pipe: &Pipeline, dot: &TVal) -> Result<TVal, TemplateError> {
        let mut value: Option<TVal> = None;
        for cmd in &pipe.commands {
            value = Some(self.command(cmd, dot, value)?);
        }
        let value = value.unwrap_or(TVal::Missing);
        if let Some(name) = pipe.decl.last() {
            if pipe.assign {
                match self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    Some(slot) => slot.1 = value.clone(),
                    None => {
                        return Err(TemplateError::Exec(format!("undefined variable ${name}")));
                    }
                }
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn command(
        &mut self,
        cmd: &[Arg],
        dot: &TVal,
        piped: Option<TVal>,
    ) -> Result<TVal, TemplateError> {
        let Some(head) = cmd.first() else {
            return Err(TemplateError::Exec("empty command".into()));
        };
        if let Arg::Func(name) = head {
            let mut args = Vec::with_capacity(cmd.len());
            for a in &cmd[1..] {
                args.push(self.arg(a, dot)?);
            }
            if let Some(p) = piped {
                args.push(p);
            }
            return funcs::call(name, args, self.now);
        }
        if cmd.len() > 1 || piped.is_some() {
            return Err(TemplateError::Exec(
                "can't give argument to non-function (use call)".into(),
            ));
        }
        self.arg(head, dot)
    }

    fn arg(&mut self, arg: &Arg, dot: &TVal) -> Result<TVal, TemplateError> {
        match arg {
            Arg::Field(fields) => {
                let at_root = std::ptr::eq(dot, self.root) || dot == self.root;
                walk(dot.clone(), fields, at_root)
            }
            Arg::Var(name, fields) => {
                let Some((_, v)) = self.vars.iter().rev().find(|(n, _)| n == name) else {
                    return Err(TemplateError::Exec(format!("undefined variable ${name}")));
                };
                walk(v.clone(), fields, name.is_empty())
            }
            Arg::Func(name) => funcs::call(name, Vec::new(), self.now),
            Arg::Str(s) => Ok(TVal::Json(Value::String(s.clone()))),
            Arg::Int(i) => Ok(TVal::Json(Value::from(*i))),
            Arg::Float(f) => Ok(TVal::Json(Value::from(*f))),
            Arg::Bool(b) => Ok(TVal::Json(Value::Bool(*b))),
            Arg::Nil => Ok(TVal::Json(Value::Null)),
            Arg::Sub(pipe, fields) => {
                let v = self.pipeline(pipe, dot)?;
                walk(v, fields, false)
            }
        }
    }
}

fn walk(mut v: TVal, fields: &[String], at_root: bool) -> Result<TVal, TemplateError> {
    for (i, field) in fields.iter().enumerate() {
        v = match v {
            TVal::Json(Value::Object(ref map)) => match map.get(field) {
                Some(x) => TVal::Json(x.clone()),
                None if i == 0 && at_root && NAMESPACES.contains(&field.as_str()) => {
                    TVal::Func(field.clone())
                }
                None => TVal::Missing,
            },
            TVal::Func(ref ns) if NAMESPACES.contains(&ns.as_str()) => {
                TVal::Func(format!("{ns}.{field}"))
            }
            TVal::Missing | TVal::Json(Value::Null) => {
                return Err(TemplateError::Exec(format!(
                    "nil pointer evaluating interface {{}}.{field}"
                )));
            }
            other => {
                return Err(TemplateError::Exec(format!(
                    "can't evaluate field {field} in {}",
                    other.print()
                )));
            }
        };
    }
    Ok(v)
}
