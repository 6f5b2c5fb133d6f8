//! Built-in resource actions for common kinds (Capstan's own scripts, with the action names Argo CD's
//! bundled actions use): Deployment restart/pause/resume/scale, StatefulSet restart/scale, DaemonSet
//! restart, CronJob create-job/suspend/resume. Configured actions replace them per kind unless the
//! configuration sets `mergeBuiltinActions: true`.

use crate::actions::{ActionDefinition, ResourceActions};

const RESTART: &str = r#"if obj.spec.template.metadata == nil then obj.spec.template.metadata = {} end
if obj.spec.template.metadata.annotations == nil then obj.spec.template.metadata.annotations = {} end
obj.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"] = os.date("!%Y-%m-%dT%H:%M:%SZ")
return obj
"#;

const SCALE: &str = r#"local replicas = tonumber(actionParams["replicas"])
if replicas == nil or replicas < 0 or replicas ~= math.floor(replicas) then
  error("replicas must be a non-negative integer, got " .. tostring(actionParams["replicas"]))
end
obj.spec.replicas = replicas
return obj
"#;

const DEPLOYMENT_DISCOVERY: &str = r#"local paused = obj.spec.paused == true
local replicas = obj.spec.replicas
if replicas == nil then replicas = 1 end
return {
  restart = {},
  pause = {disabled = paused},
  resume = {disabled = not paused},
  scale = {params = {{name = "replicas", default = tostring(replicas)}}},
}
"#;

const STATEFULSET_DISCOVERY: &str = r#"local replicas = obj.spec.replicas
if replicas == nil then replicas = 1 end
return {restart = {}, scale = {params = {{name = "replicas", default = tostring(replicas)}}}}
"#;

const CRONJOB_DISCOVERY: &str = r#"local actions = {["create-job"] = {iconClass = "fa fa-fw fa-plus", displayName = "Create Job"}}
if obj.spec.suspend == true then
  actions["resume"] = {iconClass = "fa fa-fw fa-play"}
else
  actions["suspend"] = {iconClass = "fa fa-fw fa-pause"}
end
return actions
"#;

const CREATE_JOB: &str = r#"local template = obj.spec.jobTemplate
local job = {apiVersion = "batch/v1", kind = "Job", metadata = {}, spec = template.spec}
local meta = template.metadata or {}
job.metadata.name = obj.metadata.name .. "-" .. os.date("!%Y%m%d%H%M%S")
job.metadata.namespace = obj.metadata.namespace
job.metadata.labels = meta.labels
job.metadata.annotations = meta.annotations or {}
job.metadata.annotations["cronjob.kubernetes.io/instantiate"] = "manual"
job.metadata.ownerReferences = {{
  apiVersion = obj.apiVersion, kind = obj.kind, name = obj.metadata.name, uid = obj.metadata.uid,
  controller = true, blockOwnerDeletion = true,
}}
return {{operation = "create", resource = job}}
"#;

fn set(discovery: &str, actions: &[(&str, &str)]) -> ResourceActions {
    ResourceActions {
        discovery_lua: discovery.to_string(),
        definitions: actions
            .iter()
            .map(|(name, lua)| ActionDefinition {
                name: (*name).to_string(),
                action_lua: (*lua).to_string(),
            })
            .collect(),
        merge_builtin_actions: false,
    }
}

/// The built-in action sets as `(group/Kind key, actions)`.
pub(crate) fn builtin_action_sets() -> Vec<(&'static str, ResourceActions)> {
    vec![
        (
            "apps/Deployment",
            set(
                DEPLOYMENT_DISCOVERY,
                &[
                    ("restart", RESTART),
                    ("pause", "obj.spec.paused = true\nreturn obj\n"),
                    ("resume", "obj.spec.paused = false\nreturn obj\n"),
                    ("scale", SCALE),
                ],
            ),
        ),
        (
            "apps/StatefulSet",
            set(
                STATEFULSET_DISCOVERY,
                &[("restart", RESTART), ("scale", SCALE)],
            ),
        ),
        (
            "apps/DaemonSet",
            set("return {restart = {}}\n", &[("restart", RESTART)]),
        ),
        (
            "batch/CronJob",
            set(
                CRONJOB_DISCOVERY,
                &[
                    ("create-job", CREATE_JOB),
                    ("suspend", "obj.spec.suspend = true\nreturn obj\n"),
                    ("resume", "obj.spec.suspend = false\nreturn obj\n"),
                ],
            ),
        ),
    ]
}
