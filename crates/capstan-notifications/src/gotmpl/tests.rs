use serde_json::json;

use super::*;

fn data() -> Value {
    json!({
        "app": {
            "metadata": {"name": "guestbook"},
            "spec": {"source": {"repoURL": "git@github.com:argoproj/argocd-example-apps.git"}},
            "status": {
                "sync": {"status": "Synced", "revision": "abc123"},
                "operationState": {"finishedAt": "2026-01-01T10:00:00Z", "message": "ok",
                    "operation": {"info": [{"name": "reason", "value": "hotfix"}]}},
                "conditions": [
                    {"type": "SyncError", "message": "boom"},
                    {"type": "Warn", "message": "hmm"}
                ],
                "replicas": 3
            }
        },
        "context": {"argocdUrl": "https://argo.example.com"},
        "serviceType": "slack"
    })
}

fn render(src: &str) -> String {
    Template::parse(src).unwrap().render(&data()).unwrap()
}

#[test]
fn fields_and_conditionals() {
    assert_eq!(
        render("Application {{.app.metadata.name}} ok"),
        "Application guestbook ok"
    );
    assert_eq!(
        render(r#"{{if eq .serviceType "slack"}}:white_check_mark:{{end}} x"#),
        ":white_check_mark: x"
    );
    assert_eq!(
        render(r#"{{if ne .serviceType "slack"}}A{{else}}B{{end}}"#),
        "B"
    );
    assert_eq!(
        render(
            r#"{{if eq .serviceType "email"}}E{{else if eq .serviceType "slack"}}S{{else}}O{{end}}"#
        ),
        "S"
    );
    assert_eq!(render("{{ .app.status.replicas }}"), "3");
    assert_eq!(render("{{.app.status.nothing}}"), "<no value>");
    assert_eq!(
        render("{{with .app.status.sync}}{{.revision}}{{end}}"),
        "abc123"
    );
}

#[test]
fn range_with_index_and_trim() {
    assert_eq!(
        render("{{range $index, $c := .app.status.conditions}}{{$index}}={{$c.type}};{{end}}"),
        "0=SyncError;1=Warn;"
    );
    assert_eq!(
        render("{{range $c := .app.status.conditions}}{{$c.message}} {{end}}"),
        "boom hmm "
    );
    assert_eq!(
        render("{{range .app.status.none}}x{{else}}empty{{end}}"),
        "empty"
    );
    assert_eq!(render("a  {{- \"b\" -}}  \n c"), "abc");
    assert_eq!(render("a{{/* comment */}}b"), "ab");
}

#[test]
fn functions_and_call() {
    assert_eq!(
        render("{{.app.spec.source.repoURL | call .repo.RepoURLToHTTPS}}"),
        "https://github.com/argoproj/argocd-example-apps"
    );
    assert_eq!(
        render("{{call .repo.FullNameByRepoURL .app.spec.source.repoURL}}"),
        "argoproj/argocd-example-apps"
    );
    assert_eq!(
        render("{{call .sync.GetInfoItem .app \"reason\"}}"),
        "hotfix"
    );
    assert_eq!(
        render("{{toJson .app.status.sync}}"),
        r#"{"status":"Synced","revision":"abc123"}"#
    );
    assert_eq!(render("{{.app.status.nothing | default \"none\"}}"), "none");
    assert_eq!(
        render("{{printf \"%s-%d\" .app.metadata.name 7}}"),
        "guestbook-7"
    );
    assert_eq!(
        render("{{ $n := .app.metadata.name }}{{ upper $n }}"),
        "GUESTBOOK"
    );
    assert_eq!(
        render("{{ (index .app.status.conditions 1).type }}"),
        "Warn"
    );
    assert_eq!(render("{{ len .app.status.conditions }}"), "2");
    assert_eq!(render("{{ trunc 5 .app.status.sync.revision }}"), "abc12");
    assert_eq!(
        render("{{ call .time.Parse .app.status.operationState.finishedAt }}"),
        "2026-01-01 10:00:00 +0000"
    );
}

#[test]
fn go_errors() {
    // unknown function: a parse error, as Go reports it
    let e = Template::parse("{{nosuch .x}}").unwrap_err();
    assert!(matches!(e, TemplateError::Parse { line: 1, .. }), "{e:?}");
    assert!(e.to_string().contains("nosuch"));
    // unclosed blocks and actions name the line
    let e = Template::parse("a\nb\n{{if .x}}never closed").unwrap_err();
    assert!(matches!(e, TemplateError::Parse { line: 3, .. }), "{e:?}");
    assert!(Template::parse("{{.x").is_err());
    assert!(Template::parse("{{end}}").is_err());
    // a field of a missing value is an execution error
    let t = Template::parse("{{.app.status.nothing.deeper}}").unwrap();
    assert!(t.render(&data()).is_err());
}

#[test]
fn repo_urls() {
    assert_eq!(
        repo_url_to_https("https://github.com/a/b.git"),
        "https://github.com/a/b"
    );
    assert_eq!(
        repo_url_to_https("ssh://git@gitlab.com:22/a/b.git"),
        "https://gitlab.com/a/b"
    );
    assert_eq!(full_name_by_repo_url("https://github.com/a/b"), "a/b");
}
