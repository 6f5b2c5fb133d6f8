use chrono::DateTime;
use serde_json::json;

use super::*;

fn app() -> serde_json::Value {
    json!({
        "metadata": {"name": "guestbook", "labels": {"team": "a"}},
        "status": {
            "sync": {"status": "Synced", "revision": "abc"},
            "health": {"status": "Healthy"},
            "operationState": {
                "phase": "Succeeded",
                "finishedAt": "2026-01-01T10:00:00Z",
                "syncResult": {"revision": "abc"}
            },
            "conditions": [{"type": "SyncError"}]
        }
    })
}

fn env() -> Env {
    let now = DateTime::parse_from_rfc3339("2026-01-01T10:07:30Z").unwrap();
    Env::new(now).with("app", Val::from_json(&app()))
}

fn eval(src: &str) -> Val {
    Expr::parse(src).unwrap().eval(&env()).unwrap()
}

#[test]
fn catalog_conditions() {
    for (src, want) in [
        ("app.status.operationState.phase in ['Succeeded']", true),
        (
            "app.status.operationState.phase in ['Error', 'Failed']",
            false,
        ),
        (
            "app.status.operationState != nil and app.status.operationState.phase in ['Succeeded'] and app.status.health.status == 'Healthy'",
            true,
        ),
        ("app.status.health.status == 'Degraded'", false),
        ("app.status.sync.status == 'Unknown'", false),
        ("app.metadata.deletionTimestamp != nil", false),
        ("true", true),
    ] {
        assert_eq!(eval(src), Val::Bool(want), "{src}");
    }
}

#[test]
fn optional_chaining_and_once_per() {
    assert_eq!(
        eval("app.status.operationState?.syncResult?.revision"),
        Val::Str("abc".into())
    );
    assert_eq!(eval("app.status.missing?.deeper.still"), Val::Nil);
    assert_eq!(eval("app.status.missing ?? 'x'"), Val::Str("x".into()));
}

#[test]
fn time_arithmetic() {
    assert_eq!(
        eval("time.Now().Sub(time.Parse(app.status.operationState.finishedAt)).Minutes() >= 5"),
        Val::Bool(true)
    );
    assert_eq!(
        eval("time.Now().Sub(time.Parse(app.status.operationState.finishedAt)).Minutes() >= 10"),
        Val::Bool(false)
    );
    assert_eq!(
        eval("time.Now().Sub(time.Parse(app.status.operationState.finishedAt)) > 5 * time.Minute"),
        Val::Bool(true)
    );
    assert_eq!(
        eval("time.Parse(app.status.operationState.finishedAt).Before(time.Now())"),
        Val::Bool(true)
    );
}

#[test]
fn operators() {
    assert_eq!(eval("not (1 > 2) && 'ab' startsWith 'a'"), Val::Bool(true));
    assert_eq!(eval("'b' not in ['a', 'c']"), Val::Bool(true));
    assert_eq!(eval("'team' in app.metadata.labels"), Val::Bool(true));
    assert_eq!(eval("app.metadata.name matches '^guest'"), Val::Bool(true));
    assert_eq!(eval("len(app.status.conditions) == 1"), Val::Bool(true));
    assert_eq!(eval("1 + 2 * 3"), Val::Int(7));
    assert_eq!(eval("1 == 1.0"), Val::Bool(true));
    assert_eq!(
        eval("app.status.conditions[0].type"),
        Val::Str("SyncError".into())
    );
    assert_eq!(eval("false ? 1 : 2"), Val::Int(2));
    assert_eq!(
        eval("strings.ToUpper(app.metadata.name)"),
        Val::Str("GUESTBOOK".into())
    );
}

#[test]
fn syntax_errors_name_the_offset() {
    let err = Expr::parse("app.status ==").unwrap_err();
    assert!(
        matches!(err, ExprError::Syntax { offset: 13, .. }),
        "{err:?}"
    );
    assert!(Expr::parse("app.status.phase in ['a'").is_err());
    assert!(Expr::parse("'unterminated").is_err());
    assert!(Expr::parse("a # b").is_err());
    assert!(Expr::parse("").is_err());
}

#[test]
fn eval_errors() {
    let e = env();
    assert!(
        Expr::parse("time.Parse('yesterday')")
            .unwrap()
            .eval(&e)
            .is_err()
    );
    assert!(
        Expr::parse("app.metadata.name > 3")
            .unwrap()
            .eval(&e)
            .is_err()
    );
    assert!(Expr::parse("nope == 1").unwrap().eval(&e).is_err());
    assert!(
        Expr::parse("app.metadata.name")
            .unwrap()
            .eval_bool(&e)
            .is_err()
    );
}
