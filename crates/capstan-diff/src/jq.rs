//! `jqPathExpressions`: each expression `E` runs as the jq program `del(E)` on the object (as Argo CD does
//! with gojq), using the jaq implementation of jq.
//!
//! Expressions come from Applications and `argocd-cm`, so they are limited (Argo CD runs gojq with a
//! 1 s timeout, `controller.ignore.normalizer.jq.timeout`):
//! * constructs that can loop or generate without end (`def`, `reduce`, `foreach`, `range`,
//!   `repeat`, `while`, `until`, `recurse(f)`, `combinations`, `input(s)`, `env`) are refused when
//!   the expression is compiled, so every accepted expression terminates on a finite object;
//! * each evaluation runs on its own thread and is abandoned after [`JQ_TIMEOUT`] (an expression
//!   that timed out once is refused from then on, so at most one thread per expression is ever
//!   left running).

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde::Deserialize;
use serde_json::Value;

use crate::DiffError;

type JqFilter = jaq_core::Filter<data::JustLut<Val>>;

/// Time limit of one evaluation (Argo CD's default `ignore.normalizer.jq.timeout`).
pub(crate) const JQ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Words refused in an expression (outside string literals): they can run without end.
const UNBOUNDED: [&str; 11] = [
    "def",
    "reduce",
    "foreach",
    "range",
    "repeat",
    "while",
    "until",
    "combinations",
    "input",
    "inputs",
    "env",
];

/// jq evaluations; at most two abandoned at the time limit may still run (each holds a CPU).
static EVALUATIONS: capstan_timebox::Timebox = capstan_timebox::Timebox::new(2);

/// Expressions that timed out: refused from then on.
static TIMED_OUT: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
    std::sync::LazyLock::new(Default::default);

/// The expression without its string literals (their text is data, not code); interpolations
/// (`\(...)`) are kept as code.
fn code_only(expression: &str) -> String {
    let mut out = String::with_capacity(expression.len());
    let mut chars = expression.chars().peekable();
    let mut in_string = false;
    let mut depth = Vec::new();
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    if chars.peek() == Some(&'(') {
                        chars.next();
                        in_string = false;
                        depth.push(0usize);
                        out.push('(');
                    } else {
                        chars.next();
                    }
                }
                '"' => {
                    in_string = false;
                    out.push(' ');
                }
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' => {
                if let Some(d) = depth.last_mut() {
                    *d += 1;
                }
                out.push(c);
            }
            ')' => {
                out.push(c);
                match depth.last_mut() {
                    Some(0) => {
                        depth.pop();
                        in_string = true;
                    }
                    Some(d) => *d -= 1,
                    None => {}
                }
            }
            '#' => {
                // a comment runs to the end of the line
                for c in chars.by_ref() {
                    if c == '\n' {
                        break;
                    }
                }
                out.push('\n');
            }
            _ => out.push(c),
        }
    }
    out
}

/// The first unbounded construct of an expression, if any.
fn unbounded(expression: &str) -> Option<String> {
    let code = code_only(expression);
    let bytes = code.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let start = i;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &code[start..i];
            // `.range` / `.env` are field names, `$range` a variable
            let field = start > 0 && bytes[start - 1] == b'.';
            if field {
                continue;
            }
            if word == "$ENV" {
                return Some(word.to_string());
            }
            if UNBOUNDED.contains(&word) {
                return Some(word.to_string());
            }
            if word == "recurse" {
                let next = code[i..].trim_start();
                if next.starts_with('(') {
                    return Some("recurse(f)".into());
                }
            }
        } else {
            i += 1;
        }
    }
    None
}

/// A compiled `del(<expression>)` program.
pub(crate) struct JqDelete {
    expression: String,
    filter: std::sync::Arc<JqFilter>,
}

impl std::fmt::Debug for JqDelete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JqDelete")
            .field("expression", &self.expression)
            .finish()
    }
}

impl JqDelete {
    /// Compiles `del(expression)`; errors name the expression.
    pub(crate) fn compile(expression: &str) -> Result<Self, DiffError> {
        let code = format!("del({expression})");
        let invalid = |message: String| DiffError::InvalidJq {
            expression: expression.to_string(),
            message,
        };
        if let Some(word) = unbounded(expression) {
            return Err(invalid(format!(
                "{word} is not allowed in jqPathExpressions (it can run without end)"
            )));
        }
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let modules = loader
            .load(
                &arena,
                File {
                    code: code.as_str(),
                    path: (),
                },
            )
            .map_err(|errors| {
                invalid(format!(
                    "{} parse error(s): {:?}",
                    errors.len(),
                    errors.into_iter().map(|(_, e)| e).collect::<Vec<_>>()
                ))
            })?;
        let filter = jaq_core::Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                invalid(format!(
                    "{} compile error(s): {:?}",
                    errors.len(),
                    errors.into_iter().map(|(_, e)| e).collect::<Vec<_>>()
                ))
            })?;
        Ok(JqDelete {
            expression: expression.to_string(),
            filter: std::sync::Arc::new(filter),
        })
    }

    /// Runs the program on `obj`; the first output replaces it. A runtime error leaves `obj` unchanged
    /// and is returned (Argo CD logs it and compares without the normalisation).
    pub(crate) fn apply(&self, obj: &mut Value) -> Result<(), DiffError> {
        let runtime = |message: String| DiffError::InvalidJq {
            expression: self.expression.clone(),
            message,
        };
        let timed_out = || {
            runtime(format!(
                "evaluation took longer than {} s and was stopped; the expression is disabled",
                JQ_TIMEOUT.as_secs()
            ))
        };
        if TIMED_OUT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&self.expression)
        {
            return Err(timed_out());
        }
        let input = Val::deserialize(&*obj).map_err(|e| runtime(e.to_string()))?;
        let filter = self.filter.clone();
        let evaluated = EVALUATIONS.run("jq", None, JQ_TIMEOUT, move || {
            let ctx = Ctx::<data::JustLut<Val>>::new(&filter.lut, Vars::new([]));
            let mut outputs = filter.id.run((ctx, input)).map(unwrap_valr);
            match outputs.next() {
                Some(Ok(out)) => val_to_json(&out).map(Some),
                Some(Err(e)) => Err(e.to_string()),
                None => Ok(None),
            }
        });
        match evaluated {
            Ok(Ok(Some(out))) => {
                *obj = out;
                Ok(())
            }
            Ok(Ok(None)) => Ok(()),
            Ok(Err(message)) => Err(runtime(message)),
            Err(capstan_timebox::TimeboxError::TimedOut(_)) => {
                TIMED_OUT
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(self.expression.clone());
                Err(timed_out())
            }
            Err(capstan_timebox::TimeboxError::Busy) => Err(runtime(
                "too many earlier jq evaluations are still running past their time limit".into(),
            )),
            Err(e) => Err(runtime(e.to_string())),
        }
    }
}

/// Converts a jaq value back to JSON.
fn val_to_json(v: &Val) -> Result<Value, String> {
    use jaq_json::Num;
    Ok(match v {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(Num::Int(i)) => Value::Number((*i as i64).into()),
        Val::Num(Num::Float(f)) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Val::Num(other) => serde_json::from_str(&other.to_string()).map_err(|e| e.to_string())?,
        Val::TStr(bytes) | Val::BStr(bytes) => {
            Value::String(String::from_utf8_lossy(bytes).into_owned())
        }
        Val::Arr(items) => Value::Array(items.iter().map(val_to_json).collect::<Result<_, _>>()?),
        Val::Obj(map) => {
            let mut out = serde_json::Map::with_capacity(map.len());
            for (k, v) in map.iter() {
                let key = match k {
                    Val::TStr(bytes) | Val::BStr(bytes) => {
                        String::from_utf8_lossy(bytes).into_owned()
                    }
                    other => other.to_string(),
                };
                out.insert(key, val_to_json(v)?);
            }
            Value::Object(out)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unbounded_constructs_are_refused() {
        for e in [
            "def f: f; f",
            "last(range(1e18))",
            "reduce range(9) as $x (.; .)",
            "[repeat(.)] | .[0]",
            ".spec | recurse(.[]?) | .x",
            "until(false; .)",
            "$ENV.HOME",
            "env | .x",
            "[.a, .b] | combinations",
        ] {
            let err = JqDelete::compile(e).unwrap_err().to_string();
            assert!(err.contains("not allowed"), "{e}: {err}");
        }
        // names inside strings, field names and plain recursion are fine
        for e in [
            ".spec.containers[] | select(.name == \"range until def\")",
            ".spec.range",
            ".metadata.annotations.\"env\"",
            ".. | select(type == \"object\") | .managedFields?",
            ".spec | select(.x | test(\"a(b)\")) | .y",
        ] {
            JqDelete::compile(e).unwrap_or_else(|err| panic!("{e}: {err}"));
        }
    }

    #[test]
    fn expressions_still_delete() {
        let jq = JqDelete::compile(".spec.containers[] | select(.name == \"b\") | .image").unwrap();
        let mut obj = json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        jq.apply(&mut obj).unwrap();
        assert_eq!(
            obj,
            json!({"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b"}]}})
        );
    }

    #[test]
    fn a_slow_expression_is_stopped_and_then_refused() {
        // nested recursive descent over a wide object: polynomial, but far longer than the limit
        let wide: serde_json::Map<String, Value> = (0..400)
            .map(|i| {
                (
                    format!("k{i}"),
                    json!({"a": [1, 2, 3, {"b": [4, 5, {"c": 6}]}]}),
                )
            })
            .collect();
        let mut obj = Value::Object(wide);
        let jq = JqDelete::compile(".. | .. | .. | .. | .. | select(. == 7)").unwrap();
        let started = std::time::Instant::now();
        let err = jq.apply(&mut obj).unwrap_err().to_string();
        assert!(err.contains("longer than 1 s"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        // refused at once from then on
        let started = std::time::Instant::now();
        assert!(jq.apply(&mut obj).is_err());
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }
}
