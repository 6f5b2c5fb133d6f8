//! Evaluation over JSON values.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use serde_json::Value;

use super::{BinOp, ExprError, Node, UnOp, Val};

/// Names visible to an expression, and the clock `time.Now()` reads.
#[derive(Debug, Clone)]
pub struct Env {
    vars: BTreeMap<String, Val>,
    now: DateTime<FixedOffset>,
}

impl Env {
    /// An environment with `app` bound to the Application and the current time.
    pub fn for_app(app: &Value) -> Env {
        Env::new(Utc::now().fixed_offset()).with("app", Val::from_json(app))
    }

    /// An empty environment whose `time.Now()` is `now`.
    pub fn new(now: DateTime<FixedOffset>) -> Env {
        Env {
            vars: BTreeMap::new(),
            now,
        }
    }

    /// Binds `name`.
    pub fn with(mut self, name: &str, value: Val) -> Env {
        self.vars.insert(name.to_string(), value);
        self
    }

    pub(super) fn eval(&self, node: &Node) -> Result<Val, ExprError> {
        Ok(match node {
            Node::Nil => Val::Nil,
            Node::Bool(b) => Val::Bool(*b),
            Node::Int(i) => Val::Int(*i),
            Node::Float(f) => Val::Float(*f),
            Node::Str(s) => Val::Str(s.clone()),
            Node::Array(items) => Val::List(
                items
                    .iter()
                    .map(|n| self.eval(n))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Ident(name) => self.ident(name)?,
            Node::Member(target, field) => member(self.eval(target)?, field)?,
            Node::Index(target, index) => {
                let target = self.eval(target)?;
                let index = self.eval(index)?;
                match (&target, &index) {
                    (Val::List(items), Val::Int(i)) => {
                        let len = items.len() as i64;
                        let i = if *i < 0 { len + i } else { *i };
                        items.get(i as usize).cloned().unwrap_or(Val::Nil)
                    }
                    (_, Val::Str(field)) => member(target, field)?,
                    (Val::Nil, _) => Val::Nil,
                    _ => return Err(eval_err("cannot index this value")),
                }
            }
            Node::Call(callee, args) => {
                let callee = self.eval(callee)?;
                let args = args
                    .iter()
                    .map(|a| self.eval(a))
                    .collect::<Result<Vec<_>, _>>()?;
                self.call(callee, args)?
            }
            Node::Unary(UnOp::Not, inner) => match self.eval(inner)? {
                Val::Bool(b) => Val::Bool(!b),
                _ => return Err(eval_err("`not` needs a boolean")),
            },
            Node::Unary(UnOp::Neg, inner) => match self.eval(inner)? {
                Val::Int(i) => Val::Int(-i),
                Val::Float(f) => Val::Float(-f),
                Val::Duration(d) => Val::Duration(-d),
                _ => return Err(eval_err("`-` needs a number")),
            },
            Node::Binary(BinOp::And, l, r) => {
                let left = self.eval(l)?;
                if !bool_of(&left, "and")? {
                    return Ok(Val::Bool(false));
                }
                Val::Bool(bool_of(&self.eval(r)?, "and")?)
            }
            Node::Binary(BinOp::Or, l, r) => {
                let left = self.eval(l)?;
                if bool_of(&left, "or")? {
                    return Ok(Val::Bool(true));
                }
                Val::Bool(bool_of(&self.eval(r)?, "or")?)
            }
            Node::Binary(BinOp::Coalesce, l, r) => match self.eval(l)? {
                Val::Nil => self.eval(r)?,
                v => v,
            },
            Node::Binary(op, l, r) => binary(*op, self.eval(l)?, self.eval(r)?)?,
            Node::Cond(c, t, f) => {
                if bool_of(&self.eval(c)?, "?:")? {
                    self.eval(t)?
                } else {
                    self.eval(f)?
                }
            }
        })
    }

    fn ident(&self, name: &str) -> Result<Val, ExprError> {
        if let Some(v) = self.vars.get(name) {
            return Ok(v.clone());
        }
        match name {
            "time" | "strings" => Ok(Val::Func(name.to_string(), None)),
            "len" | "upper" | "lower" | "trim" | "string" | "int" | "float" | "now" | "abs" => {
                Ok(Val::Func(name.to_string(), None))
            }
            _ => Err(eval_err(&format!("unknown name {name}"))),
        }
    }

    fn call(&self, callee: Val, args: Vec<Val>) -> Result<Val, ExprError> {
        let Val::Func(name, receiver) = callee else {
            return Err(eval_err("not a function"));
        };
        if let Some(receiver) = receiver {
            return method(*receiver, &name, &args);
        }
        let arg = |i: usize| args.get(i).cloned().unwrap_or(Val::Nil);
        let text = |i: usize| -> Result<String, ExprError> {
            match arg(i) {
                Val::Str(s) => Ok(s),
                _ => Err(eval_err(&format!(
                    "{name}: argument {} must be a string",
                    i + 1
                ))),
            }
        };
        Ok(match name.as_str() {
            "time.Now" | "now" => Val::Time(self.now),
            "time.Parse" => {
                // time.Parse(layout, value) in Go; Argo CD's environment takes just the value.
                let value = if args.len() >= 2 { text(1)? } else { text(0)? };
                Val::Time(parse_time(&value)?)
            }
            "strings.ReplaceAll" => Val::Str(text(0)?.replace(&text(1)?, &text(2)?)),
            "strings.ToUpper" | "upper" => Val::Str(text(0)?.to_uppercase()),
            "strings.ToLower" | "lower" => Val::Str(text(0)?.to_lowercase()),
            "strings.TrimSpace" | "trim" => Val::Str(text(0)?.trim().to_string()),
            "strings.Contains" => Val::Bool(text(0)?.contains(&text(1)?)),
            "strings.HasPrefix" => Val::Bool(text(0)?.starts_with(&text(1)?)),
            "strings.HasSuffix" => Val::Bool(text(0)?.ends_with(&text(1)?)),
            "len" => Val::Int(match arg(0) {
                Val::Str(s) => s.chars().count() as i64,
                Val::List(l) => l.len() as i64,
                Val::Map(m) => m.len() as i64,
                Val::Nil => 0,
                _ => return Err(eval_err("len: not a string, list or map")),
            }),
            "string" => Val::Str(arg(0).to_key_string()),
            "int" => match arg(0) {
                Val::Int(i) => Val::Int(i),
                Val::Float(f) => Val::Int(f as i64),
                Val::Str(s) => Val::Int(
                    s.trim()
                        .parse()
                        .map_err(|_| eval_err(&format!("int: {s:?} is not a number")))?,
                ),
                _ => return Err(eval_err("int: not a number")),
            },
            "float" => Val::Float(number(&arg(0)).ok_or_else(|| eval_err("float: not a number"))?),
            "abs" => match arg(0) {
                Val::Int(i) => Val::Int(i.abs()),
                Val::Float(f) => Val::Float(f.abs()),
                _ => return Err(eval_err("abs: not a number")),
            },
            other => return Err(eval_err(&format!("unknown function {other}"))),
        })
    }
}

fn eval_err(message: &str) -> ExprError {
    ExprError::Eval(message.to_string())
}

fn bool_of(v: &Val, op: &str) -> Result<bool, ExprError> {
    match v {
        Val::Bool(b) => Ok(*b),
        Val::Nil => Ok(false),
        _ => Err(eval_err(&format!("`{op}` needs booleans"))),
    }
}

/// Parses an RFC 3339 timestamp (Kubernetes' format).
pub(crate) fn parse_time(s: &str) -> Result<DateTime<FixedOffset>, ExprError> {
    DateTime::parse_from_rfc3339(s)
        .map_err(|e| eval_err(&format!("time.Parse: {s:?} is not an RFC 3339 time: {e}")))
}

fn member(target: Val, field: &str) -> Result<Val, ExprError> {
    Ok(match target {
        Val::Map(map) => map.get(field).map_or(Val::Nil, Val::from_json),
        Val::Nil => Val::Nil,
        Val::Func(ns, None) if ns == "time" || ns == "strings" => match (ns.as_str(), field) {
            ("time", "Second") => Val::Duration(TimeDelta::seconds(1)),
            ("time", "Minute") => Val::Duration(TimeDelta::minutes(1)),
            ("time", "Hour") => Val::Duration(TimeDelta::hours(1)),
            _ => Val::Func(format!("{ns}.{field}"), None),
        },
        v @ (Val::Time(_) | Val::Duration(_)) => Val::Func(field.to_string(), Some(Box::new(v))),
        Val::List(_) | Val::Str(_) if field == "length" => {
            return Err(eval_err("use len(x) for a length"));
        }
        _ => return Err(eval_err(&format!("cannot read field {field} of a scalar"))),
    })
}

fn method(receiver: Val, name: &str, args: &[Val]) -> Result<Val, ExprError> {
    let arg = args.first().cloned().unwrap_or(Val::Nil);
    match (receiver, name) {
        (Val::Time(t), "Sub") => match arg {
            Val::Time(u) => Ok(Val::Duration(t.signed_duration_since(u))),
            _ => Err(eval_err("Sub needs a time")),
        },
        (Val::Time(t), "Add") => match arg {
            Val::Duration(d) => Ok(Val::Time(t + d)),
            _ => Err(eval_err("Add needs a duration")),
        },
        (Val::Time(t), "Before") => match arg {
            Val::Time(u) => Ok(Val::Bool(t < u)),
            _ => Err(eval_err("Before needs a time")),
        },
        (Val::Time(t), "After") => match arg {
            Val::Time(u) => Ok(Val::Bool(t > u)),
            _ => Err(eval_err("After needs a time")),
        },
        (Val::Time(t), "Equal") => match arg {
            Val::Time(u) => Ok(Val::Bool(t == u)),
            _ => Err(eval_err("Equal needs a time")),
        },
        (Val::Time(t), "Unix") => Ok(Val::Int(t.timestamp())),
        (Val::Time(t), "Format") => Ok(Val::Str(t.to_rfc3339())),
        (Val::Duration(d), "Seconds") => Ok(Val::Float(d.num_milliseconds() as f64 / 1000.0)),
        (Val::Duration(d), "Minutes") => Ok(Val::Float(d.num_milliseconds() as f64 / 60_000.0)),
        (Val::Duration(d), "Hours") => Ok(Val::Float(d.num_milliseconds() as f64 / 3_600_000.0)),
        (Val::Duration(d), "Milliseconds") => Ok(Val::Int(d.num_milliseconds())),
        (_, other) => Err(eval_err(&format!("unknown method {other}"))),
    }
}

fn number(v: &Val) -> Option<f64> {
    match v {
        Val::Int(i) => Some(*i as f64),
        Val::Float(f) => Some(*f),
        // Go durations compare with numbers as nanoseconds
        Val::Duration(d) => d.num_nanoseconds().map(|n| n as f64),
        _ => None,
    }
}

fn equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => x == y,
        (Val::Time(x), Val::Time(y)) => x == y,
        (Val::Duration(x), Val::Duration(y)) => x == y,
        _ if number(a).is_some() && number(b).is_some() => number(a) == number(b),
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Nil, Val::Nil) => true,
        (Val::List(x), Val::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| equal(p, q))
        }
        (Val::Map(x), Val::Map(y)) => x == y,
        _ => false,
    }
}

fn order(a: &Val, b: &Val) -> Result<Ordering, ExprError> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Ok(x.cmp(y)),
        (Val::Time(x), Val::Time(y)) => Ok(x.cmp(y)),
        (Val::Duration(x), Val::Duration(y)) => Ok(x.cmp(y)),
        (Val::Int(x), Val::Int(y)) => Ok(x.cmp(y)),
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x
                .partial_cmp(&y)
                .ok_or_else(|| eval_err("cannot compare NaN")),
            _ => Err(eval_err(&format!(
                "cannot compare {} with {}",
                type_name(a),
                type_name(b)
            ))),
        },
    }
}

fn type_name(v: &Val) -> &'static str {
    match v {
        Val::Nil => "nil",
        Val::Bool(_) => "bool",
        Val::Int(_) => "int",
        Val::Float(_) => "float",
        Val::Str(_) => "string",
        Val::List(_) => "array",
        Val::Map(_) => "map",
        Val::Time(_) => "time",
        Val::Duration(_) => "duration",
        Val::Func(..) => "func",
    }
}

fn text_pair<'a>(a: &'a Val, b: &'a Val, op: &str) -> Result<(&'a str, &'a str), ExprError> {
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Ok((x, y)),
        _ => Err(eval_err(&format!("`{op}` needs strings"))),
    }
}

fn binary(op: BinOp, a: Val, b: Val) -> Result<Val, ExprError> {
    Ok(match op {
        BinOp::Eq => Val::Bool(equal(&a, &b)),
        BinOp::Ne => Val::Bool(!equal(&a, &b)),
        BinOp::Lt => Val::Bool(order(&a, &b)? == Ordering::Less),
        BinOp::Le => Val::Bool(order(&a, &b)? != Ordering::Greater),
        BinOp::Gt => Val::Bool(order(&a, &b)? == Ordering::Greater),
        BinOp::Ge => Val::Bool(order(&a, &b)? != Ordering::Less),
        BinOp::In | BinOp::NotIn => {
            let found = match &b {
                Val::List(items) => items.iter().any(|i| equal(i, &a)),
                Val::Map(map) => match &a {
                    Val::Str(k) => map.contains_key(k),
                    _ => false,
                },
                Val::Nil => false,
                _ => return Err(eval_err("`in` needs an array or a map on its right")),
            };
            Val::Bool(found == (op == BinOp::In))
        }
        BinOp::Matches => {
            let (s, pattern) = text_pair(&a, &b, "matches")?;
            let re = regex::Regex::new(pattern)
                .map_err(|e| eval_err(&format!("matches: bad pattern: {e}")))?;
            Val::Bool(re.is_match(s))
        }
        BinOp::Contains => {
            let (s, t) = text_pair(&a, &b, "contains")?;
            Val::Bool(s.contains(t))
        }
        BinOp::StartsWith => {
            let (s, t) = text_pair(&a, &b, "startsWith")?;
            Val::Bool(s.starts_with(t))
        }
        BinOp::EndsWith => {
            let (s, t) = text_pair(&a, &b, "endsWith")?;
            Val::Bool(s.ends_with(t))
        }
        BinOp::Add => match (a, b) {
            (Val::Str(x), Val::Str(y)) => Val::Str(x + &y),
            (Val::Int(x), Val::Int(y)) => Val::Int(x.wrapping_add(y)),
            (Val::Time(t), Val::Duration(d)) | (Val::Duration(d), Val::Time(t)) => Val::Time(t + d),
            (Val::Duration(x), Val::Duration(y)) => Val::Duration(x + y),
            (x, y) => Val::Float(arith(&x, &y, "+")?.0 + arith(&x, &y, "+")?.1),
        },
        BinOp::Sub => match (a, b) {
            (Val::Int(x), Val::Int(y)) => Val::Int(x.wrapping_sub(y)),
            (Val::Time(t), Val::Duration(d)) => Val::Time(t - d),
            (Val::Time(t), Val::Time(u)) => Val::Duration(t.signed_duration_since(u)),
            (Val::Duration(x), Val::Duration(y)) => Val::Duration(x - y),
            (x, y) => {
                let (p, q) = arith(&x, &y, "-")?;
                Val::Float(p - q)
            }
        },
        BinOp::Mul => match (a, b) {
            (Val::Int(x), Val::Int(y)) => Val::Int(x.wrapping_mul(y)),
            (Val::Duration(d), Val::Int(n)) | (Val::Int(n), Val::Duration(d)) => {
                Val::Duration(d * n as i32)
            }
            (x, y) => {
                let (p, q) = arith(&x, &y, "*")?;
                Val::Float(p * q)
            }
        },
        BinOp::Div => {
            let (p, q) = arith(&a, &b, "/")?;
            if q == 0.0 {
                return Err(eval_err("division by zero"));
            }
            Val::Float(p / q)
        }
        BinOp::Mod => match (a, b) {
            (Val::Int(_), Val::Int(0)) => return Err(eval_err("modulo by zero")),
            (Val::Int(x), Val::Int(y)) => Val::Int(x % y),
            _ => return Err(eval_err("`%` needs integers")),
        },
        BinOp::And | BinOp::Or | BinOp::Coalesce => {
            return Err(eval_err("internal: short-circuit operator"));
        }
    })
}

fn arith(a: &Val, b: &Val, op: &str) -> Result<(f64, f64), ExprError> {
    match (a, b) {
        (Val::Int(_) | Val::Float(_), Val::Int(_) | Val::Float(_)) => {
            Ok((number(a).unwrap_or_default(), number(b).unwrap_or_default()))
        }
        _ => Err(eval_err(&format!(
            "`{op}` cannot combine {} and {}",
            type_name(a),
            type_name(b)
        ))),
    }
}
