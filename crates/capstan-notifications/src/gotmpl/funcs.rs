//! Template functions: Go's built-ins, the Sprig functions Argo CD templates commonly use, and the
//! namespaced helpers Argo CD passes in the data (`.repo`, `.time`, `.strings`, `.sync`), reached
//! with `call`.

use base64::Engine;
use chrono::{DateTime, FixedOffset};
use serde_json::Value;

use super::TemplateError;
use super::exec::TVal;

const NAMES: &[&str] = &[
    // Go built-ins
    "and",
    "or",
    "not",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "call",
    "html",
    "js",
    "urlquery",
    "slice",
    // Sprig subset
    "toJson",
    "toPrettyJson",
    "toRawJson",
    "default",
    "empty",
    "upper",
    "lower",
    "title",
    "trim",
    "trimPrefix",
    "trimSuffix",
    "replace",
    "quote",
    "squote",
    "contains",
    "hasPrefix",
    "hasSuffix",
    "trunc",
    "join",
    "splitList",
    "list",
    "dict",
    "b64enc",
    "b64dec",
    "toString",
    "int",
    "add",
    "sub",
    "mul",
    "ternary",
    "coalesce",
    "repeat",
    "substr",
    "regexMatch",
    "regexReplaceAll",
    "first",
    "last",
    "keys",
    "hasKey",
    "get",
    "indent",
    "nindent",
    "now",
    "abbrev",
];

/// Whether `name` is a known function (checked when a template is parsed, as Go does).
pub(crate) fn exists(name: &str) -> bool {
    NAMES.contains(&name)
}

fn err(m: String) -> TemplateError {
    TemplateError::Exec(m)
}

fn json(v: Value) -> TVal {
    TVal::Json(v)
}

fn string(v: impl Into<String>) -> TVal {
    TVal::Json(Value::String(v.into()))
}

/// Text of a value as Sprig's string functions see it.
fn text(v: &TVal) -> String {
    match v {
        TVal::Json(Value::String(s)) => s.clone(),
        TVal::Json(Value::Null) | TVal::Missing => String::new(),
        other => other.print(),
    }
}

fn int(v: &TVal) -> i64 {
    match v {
        TVal::Json(Value::Number(n)) => n.as_i64().unwrap_or(n.as_f64().unwrap_or(0.0) as i64),
        TVal::Json(Value::String(s)) => s.trim().parse().unwrap_or(0),
        TVal::Json(Value::Bool(true)) => 1,
        _ => 0,
    }
}

fn equal(a: &TVal, b: &TVal) -> bool {
    match (a.to_json(), b.to_json()) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (x, y) => x == y,
    }
}

fn compare(a: &TVal, b: &TVal) -> Result<std::cmp::Ordering, TemplateError> {
    match (a.to_json(), b.to_json()) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .ok_or_else(|| err("incomparable numbers".into())),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(&y)),
        _ => Err(err("incompatible types for comparison".into())),
    }
}

fn printf(format: &str, args: &[TVal]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(verb) => {
                let Some(a) = args.next() else {
                    out.push_str(&format!("%!{verb}(MISSING)"));
                    continue;
                };
                match verb {
                    'q' => out.push_str(&Value::String(text(a)).to_string()),
                    'd' => out.push_str(&int(a).to_string()),
                    _ => out.push_str(&a.print()),
                }
            }
            None => out.push_str("%!(NOVERB)"),
        }
    }
    out
}

/// `repo.RepoURLToHTTPS`: `git@host:org/repo.git` and `ssh://git@host/org/repo.git` become
/// `https://host/org/repo`.
pub fn repo_url_to_https(url: &str) -> String {
    let trimmed = url.trim_end_matches('/').trim_end_matches(".git");
    if let Some(rest) = trimmed.strip_prefix("ssh://") {
        let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let host = host.split(':').next().unwrap_or(host);
        return format!("https://{host}/{path}");
    }
    if !trimmed.contains("://")
        && let Some((user_host, path)) = trimmed.split_once(':')
    {
        let host = user_host.split_once('@').map_or(user_host, |(_, h)| h);
        return format!("https://{host}/{}", path.trim_start_matches('/'));
    }
    if let Some(rest) = trimmed.strip_prefix("http://") {
        return format!("https://{rest}");
    }
    trimmed.to_string()
}

/// `repo.FullNameByRepoURL`: `org/repo` of a repository URL.
pub fn full_name_by_repo_url(url: &str) -> String {
    let https = repo_url_to_https(url);
    let path = https
        .split_once("://")
        .map_or(https.as_str(), |(_, r)| r)
        .split_once('/')
        .map_or("", |(_, p)| p);
    path.to_string()
}

fn namespaced(
    name: &str,
    args: &[TVal],
    now: DateTime<FixedOffset>,
) -> Result<TVal, TemplateError> {
    let a = |i: usize| args.get(i).map(text).unwrap_or_default();
    Ok(match name {
        "repo.RepoURLToHTTPS" => string(repo_url_to_https(&a(0))),
        "repo.FullNameByRepoURL" => string(full_name_by_repo_url(&a(0))),
        "repo.GetCommitMetadata" | "repo.GetAppDetails" => {
            return Err(err(format!(
                "{name} needs the repository server, which notifications do not call yet"
            )));
        }
        "time.Now" => TVal::Time(now),
        "time.Parse" => {
            let s = if args.len() >= 2 { a(1) } else { a(0) };
            TVal::Time(
                DateTime::parse_from_rfc3339(&s)
                    .map_err(|e| err(format!("time.Parse {s:?}: {e}")))?,
            )
        }
        "strings.ReplaceAll" => string(a(0).replace(&a(1), &a(2))),
        "strings.ToUpper" => string(a(0).to_uppercase()),
        "strings.ToLower" => string(a(0).to_lowercase()),
        "sync.GetInfoItem" => {
            let app = args.first().map(TVal::to_json).unwrap_or(Value::Null);
            let wanted = a(1);
            let found = app
                .pointer("/status/operationState/operation/info")
                .and_then(Value::as_array)
                .and_then(|items| {
                    items
                        .iter()
                        .find(|i| i.get("name").and_then(Value::as_str) == Some(wanted.as_str()))
                })
                .and_then(|i| i.get("value").cloned());
            match found {
                Some(v) => json(v),
                None => return Err(err(format!("failed to get info item {wanted:?}"))),
            }
        }
        other => return Err(err(format!("{other} is not a function"))),
    })
}

/// Calls `name` with evaluated arguments.
pub(crate) fn call(
    name: &str,
    args: Vec<TVal>,
    now: DateTime<FixedOffset>,
) -> Result<TVal, TemplateError> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(TVal::Missing);
    let need = |n: usize| -> Result<(), TemplateError> {
        if args.len() < n {
            Err(err(format!(
                "wrong number of args for {name}: want {n} got {}",
                args.len()
            )))
        } else {
            Ok(())
        }
    };
    Ok(match name {
        "call" => {
            need(1)?;
            match &args[0] {
                TVal::Func(f) => namespaced(f, &args[1..], now)?,
                other => return Err(err(format!("call of non-function {}", other.print()))),
            }
        }
        "and" => {
            need(1)?;
            args.iter()
                .find(|v| !v.truthy())
                .cloned()
                .unwrap_or_else(|| a(args.len() - 1))
        }
        "or" => {
            need(1)?;
            args.iter()
                .find(|v| v.truthy())
                .cloned()
                .unwrap_or_else(|| a(args.len() - 1))
        }
        "not" => json(Value::Bool(!a(0).truthy())),
        "len" => json(Value::from(match a(0).to_json() {
            Value::String(s) => s.len(),
            Value::Array(x) => x.len(),
            Value::Object(m) => m.len(),
            _ => return Err(err("len of a value without length".into())),
        })),
        "index" => {
            let mut v = a(0).to_json();
            for i in args.iter().skip(1) {
                v = match (&v, i.to_json()) {
                    (Value::Array(x), Value::Number(n)) => x
                        .get(n.as_u64().unwrap_or(u64::MAX) as usize)
                        .cloned()
                        .ok_or_else(|| err(format!("index out of range: {n}")))?,
                    (Value::Object(m), Value::String(k)) => {
                        m.get(&k).cloned().unwrap_or(Value::Null)
                    }
                    _ => return Err(err("can't index item".into())),
                };
            }
            json(v)
        }
        "slice" => {
            let s = text(&a(0));
            let from = if args.len() > 1 {
                int(&a(1)) as usize
            } else {
                0
            };
            let to = if args.len() > 2 {
                int(&a(2)) as usize
            } else {
                s.len()
            };
            string(s.get(from..to).unwrap_or_default())
        }
        "print" => string(args.iter().map(TVal::print).collect::<Vec<_>>().join("")),
        "println" => string(args.iter().map(TVal::print).collect::<Vec<_>>().join(" ") + "\n"),
        "printf" => string(printf(&text(&a(0)), args.get(1..).unwrap_or_default())),
        "eq" => {
            need(2)?;
            json(Value::Bool(args[1..].iter().any(|b| equal(&args[0], b))))
        }
        "ne" => json(Value::Bool(!equal(&a(0), &a(1)))),
        "lt" => json(Value::Bool(compare(&a(0), &a(1))?.is_lt())),
        "le" => json(Value::Bool(compare(&a(0), &a(1))?.is_le())),
        "gt" => json(Value::Bool(compare(&a(0), &a(1))?.is_gt())),
        "ge" => json(Value::Bool(compare(&a(0), &a(1))?.is_ge())),
        "html" => string(
            text(&a(0))
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&#34;")
                .replace('\'', "&#39;"),
        ),
        "js" => string(
            text(&a(0))
                .replace('\\', "\\\\")
                .replace('\'', "\\'")
                .replace('"', "\\\""),
        ),
        "urlquery" => {
            string(url::form_urlencoded::byte_serialize(text(&a(0)).as_bytes()).collect::<String>())
        }
        "toJson" | "toRawJson" => string(a(0).to_json().to_string()),
        "toPrettyJson" => string(serde_json::to_string_pretty(&a(0).to_json()).unwrap_or_default()),
        "default" => {
            let given = a(1);
            if given.truthy() { given } else { a(0) }
        }
        "empty" => json(Value::Bool(!a(0).truthy())),
        "coalesce" => args
            .iter()
            .find(|v| v.truthy())
            .cloned()
            .unwrap_or(TVal::Json(Value::Null)),
        "ternary" => {
            if a(2).truthy() {
                a(0)
            } else {
                a(1)
            }
        }
        "upper" => string(text(&a(0)).to_uppercase()),
        "lower" => string(text(&a(0)).to_lowercase()),
        "title" => string(
            text(&a(0))
                .split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next().map_or(String::new(), |f| {
                        f.to_uppercase().collect::<String>() + c.as_str()
                    })
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "trim" => string(text(&a(0)).trim()),
        "trimPrefix" => string(
            text(&a(1))
                .strip_prefix(&text(&a(0)))
                .map(str::to_string)
                .unwrap_or_else(|| text(&a(1))),
        ),
        "trimSuffix" => string(
            text(&a(1))
                .strip_suffix(&text(&a(0)))
                .map(str::to_string)
                .unwrap_or_else(|| text(&a(1))),
        ),
        "replace" => string(text(&a(2)).replace(&text(&a(0)), &text(&a(1)))),
        "quote" => string(
            args.iter()
                .map(|v| Value::String(text(v)).to_string())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "squote" => string(
            args.iter()
                .map(|v| format!("'{}'", text(v)))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "contains" => json(Value::Bool(text(&a(1)).contains(&text(&a(0))))),
        "hasPrefix" => json(Value::Bool(text(&a(1)).starts_with(&text(&a(0))))),
        "hasSuffix" => json(Value::Bool(text(&a(1)).ends_with(&text(&a(0))))),
        "trunc" => {
            let n = int(&a(0));
            let s: Vec<char> = text(&a(1)).chars().collect();
            let out: String = if n >= 0 {
                s.iter().take(n as usize).collect()
            } else {
                s.iter()
                    .skip(s.len().saturating_sub((-n) as usize))
                    .collect()
            };
            string(out)
        }
        "abbrev" => {
            let n = int(&a(0)).max(3) as usize;
            let s: Vec<char> = text(&a(1)).chars().collect();
            if s.len() <= n {
                string(s.into_iter().collect::<String>())
            } else {
                string(s.into_iter().take(n - 3).collect::<String>() + "...")
            }
        }
        "repeat" => string(text(&a(1)).repeat(int(&a(0)).max(0) as usize)),
        "substr" => {
            let s: Vec<char> = text(&a(2)).chars().collect();
            let from = (int(&a(0)).max(0) as usize).min(s.len());
            let to = int(&a(1));
            let to = if to < 0 {
                s.len()
            } else {
                (to as usize).min(s.len())
            };
            string(
                s.get(from..to.max(from))
                    .unwrap_or_default()
                    .iter()
                    .collect::<String>(),
            )
        }
        "join" => {
            let items = match a(1).to_json() {
                Value::Array(x) => x
                    .iter()
                    .map(|v| TVal::Json(v.clone()).print())
                    .collect::<Vec<_>>(),
                other => vec![TVal::Json(other).print()],
            };
            string(items.join(&text(&a(0))))
        }
        "splitList" => json(Value::Array(
            text(&a(1))
                .split(&text(&a(0)))
                .map(|s| Value::String(s.to_string()))
                .collect(),
        )),
        "list" => json(Value::Array(args.iter().map(TVal::to_json).collect())),
        "dict" => {
            let mut map = serde_json::Map::new();
            for pair in args.chunks(2) {
                let key = text(&pair[0]);
                map.insert(
                    key,
                    pair.get(1)
                        .map(TVal::to_json)
                        .unwrap_or(Value::String(String::new())),
                );
            }
            json(Value::Object(map))
        }
        "keys" => {
            let mut keys: Vec<String> = args
                .iter()
                .filter_map(|v| match v.to_json() {
                    Value::Object(m) => Some(m.keys().cloned().collect::<Vec<_>>()),
                    _ => None,
                })
                .flatten()
                .collect();
            keys.sort();
            json(Value::Array(keys.into_iter().map(Value::String).collect()))
        }
        "hasKey" => json(Value::Bool(a(0).to_json().get(text(&a(1))).is_some())),
        "get" => json(
            a(0).to_json()
                .get(text(&a(1)))
                .cloned()
                .unwrap_or(Value::String(String::new())),
        ),
        "first" => json(
            a(0).to_json()
                .as_array()
                .and_then(|x| x.first().cloned())
                .unwrap_or(Value::Null),
        ),
        "last" => json(
            a(0).to_json()
                .as_array()
                .and_then(|x| x.last().cloned())
                .unwrap_or(Value::Null),
        ),
        "b64enc" => string(base64::engine::general_purpose::STANDARD.encode(text(&a(0)))),
        "b64dec" => string(
            base64::engine::general_purpose::STANDARD
                .decode(text(&a(0)))
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default(),
        ),
        "toString" => string(text(&a(0))),
        "int" => json(Value::from(int(&a(0)))),
        "add" => json(Value::from(args.iter().map(int).sum::<i64>())),
        "sub" => json(Value::from(int(&a(0)) - int(&a(1)))),
        "mul" => json(Value::from(args.iter().map(int).product::<i64>())),
        "regexMatch" => {
            let re =
                regex::Regex::new(&text(&a(0))).map_err(|e| err(format!("regexMatch: {e}")))?;
            json(Value::Bool(re.is_match(&text(&a(1)))))
        }
        "regexReplaceAll" => {
            let re = regex::Regex::new(&text(&a(0)))
                .map_err(|e| err(format!("regexReplaceAll: {e}")))?;
            string(
                re.replace_all(&text(&a(1)), text(&a(2)).as_str())
                    .into_owned(),
            )
        }
        "indent" | "nindent" => {
            let pad = " ".repeat(int(&a(0)).max(0) as usize);
            let body = text(&a(1))
                .lines()
                .map(|l| format!("{pad}{l}"))
                .collect::<Vec<_>>()
                .join("\n");
            string(if name == "nindent" {
                format!("\n{body}")
            } else {
                body
            })
        }
        "now" => TVal::Time(now),
        other => return Err(err(format!("function {other:?} not defined"))),
    })
}
