//! Behaviour of the sandbox: Argo CD's documented scripts, limits, refused functions, actions.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use capstan_lua::{ActionOverrides, K8sOperation, Limits, LuaError, Sandbox};
use serde_json::json;

/// The cert-manager Certificate check from Argo CD's docs/operator-manual/health.md, unchanged.
const CERT_MANAGER_HEALTH: &str = r#"hs = {}
if obj.status ~= nil then
  if obj.status.conditions ~= nil then
    for i, condition in ipairs(obj.status.conditions) do
      if condition.type == "Ready" and condition.status == "False" then
        hs.status = "Degraded"
        hs.message = condition.message
        return hs
      end
      if condition.type == "Ready" and condition.status == "True" then
        hs.status = "Healthy"
        hs.message = condition.message
        return hs
      end
    end
  end
end

hs.status = "Progressing"
hs.message = "Waiting for certificate"
return hs
"#;

fn certificate(ready: Option<&str>) -> serde_json::Value {
    let mut obj = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"}});
    if let Some(status) = ready {
        obj["status"] = json!({"conditions": [
            {"type": "Issuing", "status": "False"},
            {"type": "Ready", "status": status, "message": format!("ready is {status}")}
        ]});
    }
    obj
}

#[test]
fn documented_health_script_runs_unchanged() {
    let sandbox = Sandbox::default();
    let healthy = sandbox
        .health(CERT_MANAGER_HEALTH, &certificate(Some("True")))
        .unwrap();
    assert_eq!(
        (healthy.status.as_str(), healthy.message.as_str()),
        ("Healthy", "ready is True")
    );
    let degraded = sandbox
        .health(CERT_MANAGER_HEALTH, &certificate(Some("False")))
        .unwrap();
    assert_eq!(degraded.status, "Degraded");
    let waiting = sandbox
        .health(CERT_MANAGER_HEALTH, &certificate(None))
        .unwrap();
    assert_eq!(
        (waiting.status.as_str(), waiting.message.as_str()),
        ("Progressing", "Waiting for certificate")
    );
}

#[test]
fn endless_loop_is_stopped_within_one_second() {
    let sandbox = Sandbox::default();
    let started = Instant::now();
    let err = sandbox.health("while true do end", &json!({})).unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(err, LuaError::Timeout(Duration::from_secs(1)));
    assert!(elapsed < Duration::from_millis(1500), "took {elapsed:?}");
}

#[test]
fn configurable_time_limit() {
    let sandbox = Sandbox::new(Limits {
        timeout: Duration::from_millis(50),
        ..Limits::default()
    });
    let started = Instant::now();
    let err = sandbox
        .run("local i = 0 while true do i = i + 1 end", &json!({}))
        .unwrap_err();
    assert!(matches!(err, LuaError::Timeout(d) if d == Duration::from_millis(50)));
    assert!(started.elapsed() < Duration::from_millis(500));
}

#[test]
fn os_execute_is_refused_with_a_clear_error() {
    let err = Sandbox::default()
        .run(
            "os.execute('touch /tmp/capstan-pwned') return {}",
            &json!({}),
        )
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("os.execute is refused"), "{text}");
    assert!(!std::path::Path::new("/tmp/capstan-pwned").exists());
}

#[test]
fn file_and_module_loading_is_refused() {
    let sandbox = Sandbox::default();
    for script in [
        "return io.open('/etc/passwd')",
        "return dofile('/etc/passwd')",
        "return loadfile('/etc/passwd')",
        "return loadstring('return 1')()",
        "return require('io')",
        "return string.dump(function() end)",
        "return os.getenv('HOME')",
    ] {
        let err = sandbox.run(script, &json!({})).unwrap_err();
        assert!(matches!(err, LuaError::Script(_)), "{script}: {err:?}");
    }
}

#[test]
fn os_time_and_date_and_require_os_work() {
    let sandbox = Sandbox::default();
    let out = sandbox
        .run(
            r#"local os2 = require("os")
               local t = os2.time({year=2024, month=1, day=2, hour=3, min=4, sec=5})
               return {t = t, d = os.date("!%Y-%m-%d %H:%M:%S", t), y = os.date("*t", t).year, now = os.time() > 0}"#,
            &json!({}),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        out,
        json!({"t": 1704164645, "d": "2024-01-02 03:04:05", "y": 2024, "now": true})
    );
}

#[test]
fn memory_bomb_is_refused() {
    let sandbox = Sandbox::new(Limits {
        memory_bytes: 8 * 1024 * 1024,
        ..Limits::default()
    });
    let err = sandbox
        .run("local t = {} local s = string.rep('x', 1024) for i = 1, 1e9 do t[i] = s .. i end return t", &json!({}))
        .unwrap_err();
    assert_eq!(err, LuaError::Memory(8 * 1024 * 1024));
    let err = sandbox
        .run("return string.rep('x', 1e9)", &json!({}))
        .unwrap_err();
    assert_eq!(err, LuaError::Memory(8 * 1024 * 1024));
}

#[test]
fn health_return_value_rules() {
    let sandbox = Sandbox::default();
    let invalid = sandbox
        .health("return {status = 'Great'}", &json!({}))
        .unwrap();
    assert_eq!(
        (invalid.status.as_str(), invalid.message.as_str()),
        ("Unknown", "Lua returned an invalid health status")
    );
    let err = sandbox.health("return 'Healthy'", &json!({})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "expect table output from Lua script, not string"
    );
    let err = sandbox
        .health("local x = nil return x.y", &json!({}))
        .unwrap_err();
    assert!(
        matches!(err, LuaError::Script(ref m) if m.contains("attempt to index")),
        "{err:?}"
    );
    let err = sandbox.health("return {", &json!({})).unwrap_err();
    assert!(matches!(err, LuaError::Script(_)));
}

#[test]
fn obj_global_has_lua_51_semantics() {
    let obj = json!({"spec": {"replicas": 3, "list": [1, 2, 3], "nothing": null}, "metadata": {"name": "x"}});
    let out = Sandbox::default()
        .run("return {n = #obj.spec.list, r = obj.spec.replicas * 2, nothing = obj.spec.nothing == nil, name = obj.metadata.name}", &obj)
        .unwrap()
        .unwrap();
    assert_eq!(out, json!({"n": 3, "r": 6, "nothing": true, "name": "x"}));
}

const DEPLOYMENT_ACTIONS: &str = r#"discovery.lua: |
  actions = {}
  actions["restart"] = {}
  actions["pause"] = {["disabled"] = obj.spec.paused == true}
  return actions
definitions:
- name: restart
  action.lua: |
    if obj.spec.template.metadata == nil then
      obj.spec.template.metadata = {}
    end
    if obj.spec.template.metadata.annotations == nil then
      obj.spec.template.metadata.annotations = {}
    end
    obj.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"] = "2024-01-01T00:00:00Z"
    return obj
- name: scale
  action.lua: |
    obj.spec.replicas = tonumber(actionParams["replicas"])
    return obj
- name: clone
  action.lua: |
    local copy = {}
    copy.apiVersion = obj.apiVersion
    copy.kind = obj.kind
    copy.metadata = {name = obj.metadata.name .. "-copy"}
    return {{operation = "create", resource = copy}, {operation = "patch", resource = obj}}
"#;

#[test]
fn resource_actions_from_config_map() {
    let mut data = BTreeMap::new();
    data.insert(
        "resource.customizations.actions.apps_Deployment".to_string(),
        DEPLOYMENT_ACTIONS.to_string(),
    );
    let overrides = ActionOverrides::from_config_map_data(&data).unwrap();
    let actions = overrides.get("apps", "Deployment").unwrap();
    let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {}},
        "spec": {"paused": true, "replicas": 1, "selector": {}, "template": {"spec": {"containers": []}}}});
    let sandbox = Sandbox::default();

    let discovered = sandbox
        .discover_actions(&actions.discovery_lua, &obj)
        .unwrap();
    let names: Vec<_> = discovered
        .iter()
        .map(|a| (a.name.as_str(), a.disabled))
        .collect();
    assert_eq!(names, [("pause", true), ("restart", false)]);

    let restart = overrides
        .action_script("apps", "Deployment", "restart")
        .unwrap();
    let result = sandbox.run_action(restart, &obj, &BTreeMap::new()).unwrap();
    assert_eq!(result.len(), 1);
    assert_eq!(result[0].operation, K8sOperation::Patch);
    let patched = &result[0].resource;
    assert_eq!(
        patched["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
        "2024-01-01T00:00:00Z"
    );
    // empty maps stay maps, empty lists stay lists
    assert_eq!(patched["metadata"]["labels"], json!({}));
    assert_eq!(patched["spec"]["selector"], json!({}));
    assert_eq!(patched["spec"]["template"]["spec"]["containers"], json!([]));

    let mut params = BTreeMap::new();
    params.insert("replicas".to_string(), "5".to_string());
    let scaled = sandbox
        .run_action(
            overrides
                .action_script("apps", "Deployment", "scale")
                .unwrap(),
            &obj,
            &params,
        )
        .unwrap();
    assert_eq!(scaled[0].resource["spec"]["replicas"], 5);

    let cloned = sandbox
        .run_action(
            overrides
                .action_script("apps", "Deployment", "clone")
                .unwrap(),
            &obj,
            &params,
        )
        .unwrap();
    assert_eq!(cloned.len(), 2);
    assert_eq!(cloned[0].operation, K8sOperation::Create);
    assert_eq!(cloned[0].resource["metadata"]["name"], "web-copy");
}

#[test]
fn bad_action_configuration_names_the_key() {
    let mut data = BTreeMap::new();
    data.insert(
        "resource.customizations.actions.a_b_c".to_string(),
        "definitions: []".to_string(),
    );
    let err = ActionOverrides::from_config_map_data(&data).unwrap_err();
    assert!(
        err.to_string()
            .contains("resource.customizations.actions.a_b_c"),
        "{err}"
    );
    let mut data = BTreeMap::new();
    data.insert(
        "resource.customizations.actions.apps_Deployment".to_string(),
        "definitions: [".to_string(),
    );
    let err = ActionOverrides::from_config_map_data(&data).unwrap_err();
    assert!(matches!(err, LuaError::Config { .. }));
}

#[test]
fn catastrophic_patterns_are_refused_quickly_and_normal_ones_work() {
    let sandbox = Sandbox::default();
    let started = Instant::now();
    let err = sandbox
        .run(
            "local s = string.rep('a', 3000) return string.find(s, '.-.-.-.-x')",
            &json!({}),
        )
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(1500));
    assert!(
        err.to_string()
            .contains("refused by the Capstan Lua sandbox"),
        "{err}"
    );
    let err = sandbox
        .run(
            "local s = string.rep('a', 3000) return s:match('.-.-.-.-x')",
            &json!({}),
        )
        .unwrap_err();
    assert!(matches!(err, LuaError::Script(_)));
    let out = sandbox
        .run(
            r#"local major, minor = string.match(obj.v, "^(%d+)%.(%d+)")
               local n = 0 for _ in string.gmatch("a,b,c", "[^,]+") do n = n + 1 end
               return {major = major, minor = minor, n = n, sub = (string.gsub("x-y", "-", "_")),
                       plain = string.find(string.rep("ab", 100000), "ba", 1, true)}"#,
            &json!({"v": "1.27.3"}),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        out,
        json!({"major": "1", "minor": "27", "n": 3, "sub": "x_y", "plain": 2})
    );
}

#[test]
fn empty_string_rep_does_not_spin() {
    let started = Instant::now();
    let out = Sandbox::default()
        .run(
            "return {s = string.rep('', 1e15), t = ('ab'):rep(3)}",
            &json!({}),
        )
        .unwrap()
        .unwrap();
    assert_eq!(out, json!({"s": "", "t": "ababab"}));
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[test]
fn builtin_actions_for_common_kinds() {
    let overrides = ActionOverrides::default().with_builtin();
    let sandbox = Sandbox::default();
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"},
        "spec": {"replicas": 2, "template": {"spec": {"containers": []}}}});
    let actions = sandbox
        .discover_actions(
            &overrides.get("apps", "Deployment").unwrap().discovery_lua,
            &deployment,
        )
        .unwrap();
    let summary: Vec<(&str, bool)> = actions
        .iter()
        .map(|a| (a.name.as_str(), a.disabled))
        .collect();
    assert_eq!(
        summary,
        [
            ("pause", false),
            ("restart", false),
            ("resume", true),
            ("scale", false)
        ]
    );
    assert_eq!(actions[3].params[0].default, "2");

    let restarted = sandbox
        .run_action(
            overrides
                .action_script("apps", "Deployment", "restart")
                .unwrap(),
            &deployment,
            &BTreeMap::new(),
        )
        .unwrap();
    let stamp = restarted[0].resource["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].as_str().unwrap();
    assert!(stamp.ends_with('Z') && stamp.len() == 20, "{stamp}");

    let mut params = BTreeMap::new();
    params.insert("replicas".to_string(), "abc".to_string());
    let err = sandbox
        .run_action(
            overrides
                .action_script("apps", "Deployment", "scale")
                .unwrap(),
            &deployment,
            &params,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("replicas must be a non-negative integer"),
        "{err}"
    );

    let cronjob = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly", "namespace": "ns", "uid": "u1"},
        "spec": {"schedule": "0 0 * * *", "jobTemplate": {"metadata": {"labels": {"a": "b"}}, "spec": {"template": {"spec": {"restartPolicy": "Never"}}}}}});
    let created = sandbox
        .run_action(
            overrides
                .action_script("batch", "CronJob", "create-job")
                .unwrap(),
            &cronjob,
            &BTreeMap::new(),
        )
        .unwrap();
    assert_eq!(created[0].operation, K8sOperation::Create);
    let job = &created[0].resource;
    assert_eq!(job["kind"], "Job");
    assert!(
        job["metadata"]["name"]
            .as_str()
            .unwrap()
            .starts_with("nightly-")
    );
    assert_eq!(job["metadata"]["ownerReferences"][0]["uid"], "u1");
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");

    // configuration replaces built-in actions of a kind, or merges with mergeBuiltinActions
    let mut data = BTreeMap::new();
    data.insert(
        "resource.customizations.actions.apps_DaemonSet".to_string(),
        "discovery.lua: return {noop = {}}\ndefinitions:\n- name: noop\n  action.lua: return obj\n"
            .to_string(),
    );
    data.insert("resource.customizations.actions.apps_StatefulSet".to_string(), "mergeBuiltinActions: true\ndiscovery.lua: return {noop = {}}\ndefinitions:\n- name: noop\n  action.lua: return obj\n".to_string());
    let configured = ActionOverrides::from_config_map_data(&data)
        .unwrap()
        .with_builtin();
    assert!(
        configured
            .action_script("apps", "DaemonSet", "restart")
            .is_none()
    );
    assert!(
        configured
            .action_script("apps", "StatefulSet", "restart")
            .is_some()
    );
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"}, "spec": {"replicas": 1}});
    let names: Vec<String> = sandbox
        .discover_actions(
            &configured.get("apps", "StatefulSet").unwrap().discovery_lua,
            &sts,
        )
        .unwrap()
        .into_iter()
        .map(|a| a.name)
        .collect();
    assert_eq!(names, ["noop", "restart", "scale"]);
}

#[test]
fn endless_loop_inside_a_coroutine_is_stopped_too() {
    let started = Instant::now();
    let err = Sandbox::default()
        .run("local co = coroutine.create(function() while true do end end) local ok, e = coroutine.resume(co) error(e)", &json!({}))
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, LuaError::Timeout(_)), "{err:?}");
    // a script that swallows the timeout error with pcall is still stopped
    let started = Instant::now();
    let err = Sandbox::default()
        .run(
            "while true do pcall(function() while true do end end) end",
            &json!({}),
        )
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, LuaError::Timeout(_)), "{err:?}");
}
