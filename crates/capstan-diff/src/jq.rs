//! `jqPathExpressions`: each expression `E` runs as the jq program `del(E)` on the object (as Argo CD does
//! with gojq), using the jaq implementation of jq.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;
use serde::Deserialize;
use serde_json::Value;

use crate::DiffError;

type JqFilter = jaq_core::Filter<data::JustLut<Val>>;

/// A compiled `del(<expression>)` program.
pub(crate) struct JqDelete {
    expression: String,
    filter: JqFilter,
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
            filter,
        })
    }

    /// Runs the program on `obj`; the first output replaces it. A runtime error leaves `obj` unchanged
    /// and is returned (Argo CD logs it and compares without the normalisation).
    pub(crate) fn apply(&self, obj: &mut Value) -> Result<(), DiffError> {
        let runtime = |message: String| DiffError::InvalidJq {
            expression: self.expression.clone(),
            message,
        };
        let input = Val::deserialize(&*obj).map_err(|e| runtime(e.to_string()))?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let mut outputs = self.filter.id.run((ctx, input)).map(unwrap_valr);
        match outputs.next() {
            Some(Ok(out)) => {
                *obj = val_to_json(&out).map_err(runtime)?;
                Ok(())
            }
            Some(Err(e)) => Err(runtime(e.to_string())),
            None => Ok(()),
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
