//! Jsonnet files of a directory source, evaluated natively (rsjsonnet-lang) with Argo CD's options:
//! external variables and top-level arguments (string or code, `$ARGOCD_APP_*` substituted) and
//! library paths relative to the repository root. Imports may not leave the repository.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use capstan_types::ApplicationSourceDirectory;
use rsjsonnet_lang::arena::Arena;
use rsjsonnet_lang::program::{
    Callbacks, EvalError, EvalErrorKind, EvalStackTraceItem, ImportError, LoadError, NativeError,
    Program, Thunk, Value as JValue,
};
use rsjsonnet_lang::span::{SourceId, SpanContext, SpanId, SpanManager};
use serde_json::Value;

use super::RenderInput;

use crate::confine;
use crate::error::RenderError;

struct Importer<'a> {
    repo_root: &'a Path,
    search: Vec<PathBuf>,
    files: HashMap<SourceId, (String, PathBuf, Vec<u8>)>,
    cache: HashMap<PathBuf, usize>,
    thunks: Vec<Thunk<'a>>,
    refused: Option<String>,
}

impl<'p> Importer<'p> {
    fn find(&mut self, program: &Program<'p>, from: SpanId, path: &str) -> Option<PathBuf> {
        let (ctx, _, _) = program.span_manager().get_span(from);
        let SpanContext::Source(src) = *program.span_manager().get_context(ctx);
        let from_dir = self
            .files
            .get(&src)
            .and_then(|(_, p, _)| p.parent().map(Path::to_path_buf));
        let candidates: Vec<PathBuf> = if Path::new(path).is_absolute() {
            vec![PathBuf::from(path)]
        } else {
            from_dir
                .into_iter()
                .chain(self.search.iter().cloned())
                .map(|d| d.join(path))
                .collect()
        };
        for c in candidates {
            if c.is_file() {
                let normal = confine::normalize(&c);
                let inside = normal.starts_with(confine::normalize(self.repo_root))
                    && normal
                        .canonicalize()
                        .ok()
                        .zip(self.repo_root.canonicalize().ok())
                        .is_some_and(|(real, root)| real.starts_with(root));
                if !inside {
                    self.refused = Some(path.to_string());
                    return None;
                }
                return Some(normal);
            }
        }
        None
    }

    fn load(
        &mut self,
        program: &mut Program<'p>,
        path: &Path,
        shown: String,
    ) -> Result<Thunk<'p>, LoadFailure> {
        if let Some(i) = self.cache.get(path) {
            return Ok(self.thunks[*i].clone());
        }
        let data =
            std::fs::read(path).map_err(|e| LoadFailure::Io(shown.clone(), e.to_string()))?;
        let (ctx, src) = program.span_manager_mut().insert_source_context(data.len());
        self.files
            .insert(src, (shown.clone(), path.to_path_buf(), data.clone()));
        let thunk = program
            .load_source(ctx, &data, true, &shown)
            .map_err(LoadFailure::Load)?;
        self.cache.insert(path.to_path_buf(), self.thunks.len());
        self.thunks.push(thunk.clone());
        Ok(thunk)
    }

    fn load_snippet(
        &mut self,
        program: &mut Program<'p>,
        name: &str,
        code: &str,
    ) -> Result<Thunk<'p>, LoadFailure> {
        let data = code.as_bytes().to_vec();
        let (ctx, src) = program.span_manager_mut().insert_source_context(data.len());
        self.files
            .insert(src, (name.to_string(), PathBuf::new(), data.clone()));
        program
            .load_source(ctx, &data, true, name)
            .map_err(LoadFailure::Load)
    }

    /// `file:line:column` of a span.
    fn locate(&self, spans: &SpanManager, span: SpanId) -> Option<(String, usize, usize)> {
        let (ctx, start, _) = spans.get_span(span);
        let SpanContext::Source(src) = *spans.get_context(ctx);
        let (shown, _, data) = self.files.get(&src)?;
        let before = &data[..start.min(data.len())];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let col = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
        Some((shown.clone(), line, col))
    }
}

enum LoadFailure {
    Io(String, String),
    Load(LoadError),
}

impl<'p> Callbacks<'p> for Importer<'p> {
    fn import(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Thunk<'p>, ImportError> {
        let found = self.find(program, from, path).ok_or(ImportError)?;
        let shown = found
            .strip_prefix(self.repo_root)
            .unwrap_or(&found)
            .display()
            .to_string();
        self.load(program, &found, shown).map_err(|_| ImportError)
    }

    fn import_str(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<String, ImportError> {
        let found = self.find(program, from, path).ok_or(ImportError)?;
        std::fs::read_to_string(found).map_err(|_| ImportError)
    }

    fn import_bin(
        &mut self,
        program: &mut Program<'p>,
        from: SpanId,
        path: &str,
    ) -> Result<Vec<u8>, ImportError> {
        let found = self.find(program, from, path).ok_or(ImportError)?;
        std::fs::read(found).map_err(|_| ImportError)
    }

    fn trace(&mut self, _program: &mut Program<'p>, message: &str, _stack: &[EvalStackTraceItem]) {
        tracing::debug!(message, "jsonnet std.trace");
    }

    fn native_call(
        &mut self,
        _program: &mut Program<'p>,
        _name: rsjsonnet_lang::interner::InternedStr<'p>,
        _args: &[JValue<'p>],
    ) -> Result<JValue<'p>, NativeError> {
        Err(NativeError)
    }
}

/// Where an evaluation error happened, for the kinds that say.
fn kind_span(kind: &EvalErrorKind) -> Option<SpanId> {
    use EvalErrorKind as K;
    match kind {
        K::InvalidIndexedType { span, .. }
        | K::InvalidSlicedType { span, .. }
        | K::SliceIndexOrStepIsNotNumber { span, .. }
        | K::StringIndexIsNotNumber { span, .. }
        | K::ArrayIndexIsNotNumber { span, .. }
        | K::NumericIndexIsNotValid { span, .. }
        | K::NumericIndexOutOfRange { span, .. }
        | K::ObjectIndexIsNotString { span, .. }
        | K::RepeatedFieldName { span, .. }
        | K::FieldNameIsNotString { span, .. }
        | K::UnknownObjectField { span, .. }
        | K::FieldOfNonObject { span }
        | K::SuperWithoutSuperObject { span }
        | K::ForSpecValueIsNotArray { span, .. }
        | K::CondIsNotBool { span, .. }
        | K::InvalidUnaryOpType { span, .. }
        | K::AssertFailed { span, .. }
        | K::ExplicitError { span, .. }
        | K::ImportFailed { span, .. } => Some(*span),
        K::CalleeIsNotFunction { span, .. }
        | K::TooManyCallArgs { span, .. }
        | K::UnknownCallParam { span, .. }
        | K::CallParamNotBound { span, .. }
        | K::InvalidBinaryOpTypes { span, .. } => *span,
        _ => None,
    }
}

/// Removes rsjsonnet's internal span identifiers from a debug-formatted error.
fn clean_message(debug: &str) -> String {
    static SPAN: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let re = SPAN.get_or_init(|| {
        regex::Regex::new(
            r"\w*span: (Some\()?(Inline \{ offset: \d+, len: \d+ \}|Interned\(\d+\))\)?(, )?",
        )
        .ok()
    });
    match re {
        Some(re) => re
            .replace_all(debug, "")
            .replace(" {  }", "")
            .replace("{ }", ""),
        None => debug.to_string(),
    }
}

/// Jsonnet evaluations; at most two abandoned at the time limit may still run (each holds a CPU).
static EVALUATIONS: capstan_timebox::Timebox = capstan_timebox::Timebox::new(2);

/// Everything one evaluation needs, owned (it runs on its own thread).
struct Job {
    place: crate::error::Place,
    env: super::BuildEnv,
    app_dir: PathBuf,
    repo_root: PathBuf,
    options: ApplicationSourceDirectory,
    path: PathBuf,
    rel: String,
    max_bytes: u64,
}

/// Evaluates one `.jsonnet` file of a directory source, on its own thread, for at most the tool
/// time limit: a file that computes without end fails with a timeout instead of holding a render
/// slot (and an async worker) forever.
pub fn render_file(
    input: &RenderInput<'_>,
    options: &ApplicationSourceDirectory,
    path: &Path,
    rel: &str,
) -> Result<Vec<Value>, RenderError> {
    let job = Job {
        place: input.place.clone(),
        env: input.env.clone(),
        app_dir: input.app_dir.to_path_buf(),
        repo_root: input.repo_root.to_path_buf(),
        options: options.clone(),
        path: path.to_path_buf(),
        rel: rel.to_string(),
        max_bytes: input.tools.limits.max_generated_bytes,
    };
    let timeout = input.tools.timeout;
    let place = input.place.clone();
    // rsjsonnet recurses on the native stack (its own depth limit is 500 calls)
    let evaluated = EVALUATIONS.run("jsonnet", Some(64 * 1024 * 1024), timeout, move || {
        evaluate(&job)
    });
    match evaluated {
        Ok(result) => result,
        Err(capstan_timebox::TimeboxError::TimedOut(_)) => Err(place.manifest(
            rel,
            0,
            0,
            format!(
                "jsonnet: evaluation timed out after {} s",
                timeout.as_secs()
            ),
        )),
        Err(capstan_timebox::TimeboxError::Busy) => Err(place.manifest(
            rel,
            0,
            0,
            "jsonnet: too many earlier evaluations are still running past their time limit; try again later",
        )),
        Err(capstan_timebox::TimeboxError::Spawn(e)) => {
            Err(RenderError::io("starting a jsonnet evaluation", e))
        }
        Err(e) => Err(place.manifest(rel, 0, 0, format!("jsonnet: {e}"))),
    }
}

fn evaluate(job: &Job) -> Result<Vec<Value>, RenderError> {
    let (options, path, rel) = (&job.options, job.path.as_path(), job.rel.as_str());
    let jsonnet = options.jsonnet.clone().unwrap_or_default();
    let fail =
        |line: usize, col: usize, file: &str, msg: String| job.place.manifest(file, line, col, msg);
    let mut search = vec![job.app_dir.clone()];
    for lib in jsonnet.libs.iter().flatten() {
        let resolved = confine::resolve(&job.repo_root, &job.repo_root, lib)
            .ok_or_else(|| job.place.outside("jsonnet library path", lib.clone()))?;
        search.push(resolved);
    }
    let arena = Arena::new();
    let mut program = Program::new(&arena);
    let mut importer = Importer {
        repo_root: &job.repo_root,
        search,
        files: HashMap::new(),
        cache: HashMap::new(),
        thunks: Vec::new(),
        refused: None,
    };
    let load_err = |importer: &Importer<'_>, program: &Program<'_>, f: LoadFailure| match f {
        LoadFailure::Io(file, msg) => fail(0, 0, &file, msg),
        LoadFailure::Load(e) => {
            let span = match &e {
                LoadError::Parse(rsjsonnet_lang::parser::ParseError::Expected { span, .. }) => {
                    Some(*span)
                }
                _ => None,
            };
            let (file, line, col) = span
                .and_then(|s| importer.locate(program.span_manager(), s))
                .unwrap_or((rel.to_string(), 0, 0));
            fail(
                line,
                col,
                &file,
                format!("jsonnet: {}", clean_message(&format!("{e:?}"))),
            )
        }
    };
    // External variables (the last definition of a name wins, as in go-jsonnet).
    let mut ext: Vec<(String, String, bool)> = Vec::new();
    for v in jsonnet.ext_vars.iter().flatten() {
        ext.retain(|(n, _, _)| n != &v.name);
        ext.push((
            v.name.clone(),
            job.env.envsubst(&v.value),
            v.code.unwrap_or(false),
        ));
    }
    for (name, value, code) in ext {
        let thunk = if code {
            importer
                .load_snippet(&mut program, &format!("<extvar:{name}>"), &value)
                .map_err(|f| load_err(&importer, &program, f))?
        } else {
            program.value_to_thunk(&JValue::string(&value))
        };
        let interned = program.intern_str(&name);
        program.add_ext_var(interned, &thunk);
    }
    let mut tlas = Vec::new();
    for v in jsonnet.tlas.iter().flatten() {
        let value = job.env.envsubst(&v.value);
        let thunk = if v.code.unwrap_or(false) {
            importer
                .load_snippet(&mut program, &format!("<tla:{}>", v.name), &value)
                .map_err(|f| load_err(&importer, &program, f))?
        } else {
            program.value_to_thunk(&JValue::string(&value))
        };
        tlas.push((program.intern_str(&v.name), thunk));
    }
    let main = importer
        .load(&mut program, path, rel.to_string())
        .map_err(|f| load_err(&importer, &program, f))?;
    let eval_err = |importer: &Importer<'_>, program: &Program<'_>, e: EvalError| {
        if let Some(refused) = &importer.refused {
            return job.place.outside("jsonnet import", refused.clone());
        }
        let span = kind_span(&e.kind).or_else(|| {
            e.stack_trace.iter().find_map(|item| match item {
                EvalStackTraceItem::Expr { span } | EvalStackTraceItem::Variable { span, .. } => {
                    Some(*span)
                }
                EvalStackTraceItem::Call { span, .. }
                | EvalStackTraceItem::ArrayItem { span, .. }
                | EvalStackTraceItem::ObjectField { span, .. } => *span,
                _ => None,
            })
        });
        let (file, line, col) = span
            .and_then(|s| importer.locate(program.span_manager(), s))
            .unwrap_or((rel.to_string(), 0, 0));
        fail(
            line,
            col,
            &file,
            format!(
                "failed to evaluate jsonnet: {}",
                clean_message(&format!("{:?}", e.kind))
            ),
        )
    };
    let value = program
        .eval_value(&main, &mut importer)
        .map_err(|e| eval_err(&importer, &program, e))?;
    let value = if value.is_function() {
        let func = program.value_to_thunk(&value);
        program
            .eval_call(&func, &[], &tlas, &mut importer)
            .map_err(|e| eval_err(&importer, &program, e))?
    } else {
        value
    };
    let json = program
        .manifest_json(&value, false)
        .map_err(|e| eval_err(&importer, &program, e))?;
    let max = job.max_bytes;
    if json.len() as u64 > max {
        return Err(fail(
            0,
            0,
            rel,
            format!(
                "jsonnet output of {} bytes is larger than the maximum of {max}",
                json.len()
            ),
        ));
    }
    let parsed: Value = serde_json::from_str(&json).map_err(|e| {
        fail(
            0,
            0,
            rel,
            format!("failed to unmarshal generated json: {e}"),
        )
    })?;
    match parsed {
        Value::Array(items) => Ok(items),
        obj @ Value::Object(_) => Ok(vec![obj]),
        other => Err(fail(
            0,
            0,
            rel,
            format!(
                "failed to unmarshal generated json: expected an object or a list, got {other}"
            ),
        )),
    }
}
