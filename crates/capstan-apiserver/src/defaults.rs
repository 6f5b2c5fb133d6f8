//! Defaulting of built-in kinds: the fields a real kube-apiserver fills in, so that objects
//! read back compare equal to what a real cluster would return for the same manifest.

use serde_json::{Map, Value, json};

/// Insert `v` at `key` when absent.
fn def(m: &mut Map<String, Value>, key: &str, v: Value) {
    if !m.contains_key(key) || m.get(key).is_some_and(Value::is_null) {
        m.insert(key.to_string(), v);
    }
}

fn obj<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    v.get_mut(key).and_then(Value::as_object_mut)
}

/// Apply defaults for `kind` (group-qualified by `group`). `old` is the stored object on update.
pub fn apply(group: &str, kind: &str, o: &mut Value, old: Option<&Value>) {
    match (group, kind) {
        ("", "Namespace") => namespace(o),
        ("", "Secret") => secret(o),
        ("", "Service") => service(o, old),
        ("", "Pod") => {
            if let Some(spec) = obj(o, "spec") {
                pod_spec(spec);
                def(spec, "enableServiceLinks", json!(true));
                def(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
                def(spec, "priority", json!(0));
                def(spec, "serviceAccountName", json!("default"));
                if let Some(sa) = spec.get("serviceAccountName").cloned() {
                    def(spec, "serviceAccount", sa);
                }
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = obj(o, "spec") {
                def(spec, "volumeMode", json!("Filesystem"));
            }
            if o.get("status").is_none() {
                o["status"] = json!({"phase": "Pending"});
            }
        }
        ("", "ServiceAccount") | ("", "ConfigMap") => {}
        ("apps", "Deployment") => deployment(o),
        ("apps", "ReplicaSet") => {
            if let Some(spec) = obj(o, "spec") {
                def(spec, "replicas", json!(1));
                template(spec);
            }
        }
        ("apps", "StatefulSet") => statefulset(o),
        ("apps", "DaemonSet") => {
            if let Some(spec) = obj(o, "spec") {
                def(spec, "updateStrategy", json!({"type": "RollingUpdate"}));
                if let Some(us) = spec
                    .get_mut("updateStrategy")
                    .and_then(Value::as_object_mut)
                    && us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                {
                    def(us, "rollingUpdate", json!({}));
                    if let Some(ru) = us.get_mut("rollingUpdate").and_then(Value::as_object_mut) {
                        def(ru, "maxUnavailable", json!(1));
                        def(ru, "maxSurge", json!(0));
                    }
                }
                def(spec, "revisionHistoryLimit", json!(10));
                template(spec);
            }
        }
        ("batch", "Job") => job(o),
        ("batch", "CronJob") => {
            if let Some(spec) = obj(o, "spec") {
                def(spec, "concurrencyPolicy", json!("Allow"));
                def(spec, "suspend", json!(false));
                def(spec, "successfulJobsHistoryLimit", json!(3));
                def(spec, "failedJobsHistoryLimit", json!(1));
                if let Some(js) = spec
                    .get_mut("jobTemplate")
                    .and_then(|j| j.get_mut("spec"))
                    .and_then(Value::as_object_mut)
                {
                    job_spec(js);
                }
            }
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            if let Some(spec) = obj(o, "spec")
                && !spec.contains_key("policyTypes")
            {
                let mut types = vec![json!("Ingress")];
                if spec.contains_key("egress") {
                    types.push(json!("Egress"));
                }
                spec.insert("policyTypes".into(), Value::Array(types));
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(o),
        _ => {}
    }
}

fn namespace(o: &mut Value) {
    let name = crate::meta::name(o).to_string();
    let m = crate::meta::metadata_mut(o);
    def(m, "labels", json!({}));
    if let Some(l) = m.get_mut("labels").and_then(Value::as_object_mut) {
        l.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
    if !o.get("spec").is_some_and(Value::is_object) {
        o["spec"] = json!({});
    }
    if let Some(spec) = obj(o, "spec") {
        def(spec, "finalizers", json!(["kubernetes"]));
    }
    if !o.get("status").is_some_and(Value::is_object) {
        o["status"] = json!({});
    }
    if let Some(st) = obj(o, "status") {
        def(st, "phase", json!("Active"));
    }
}

fn secret(o: &mut Value) {
    use base64::Engine;
    if let Some(m) = o.as_object_mut() {
        def(m, "type", json!("Opaque"));
        if let Some(Value::Object(sd)) = m.remove("stringData") {
            let data = m.entry("data").or_insert_with(|| json!({}));
            if let Some(d) = data.as_object_mut() {
                for (k, v) in sd {
                    let s = v.as_str().unwrap_or_default();
                    d.insert(
                        k,
                        json!(base64::engine::general_purpose::STANDARD.encode(s)),
                    );
                }
            }
        }
    }
}

fn hash32(s: &str) -> u32 {
    // FNV-1a: stable across runs, for deterministic allocations.
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

fn service(o: &mut Value, old: Option<&Value>) {
    let id = format!("{}/{}", crate::meta::namespace(o), crate::meta::name(o));
    let Some(spec) = obj(o, "spec") else { return };
    def(spec, "type", json!("ClusterIP"));
    def(spec, "sessionAffinity", json!("None"));
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    if ty != "ExternalName" {
        let old_ip = old.and_then(|o| o.pointer("/spec/clusterIP")).cloned();
        if !spec.contains_key("clusterIP")
            || spec
                .get("clusterIP")
                .is_some_and(|v| v.as_str() == Some(""))
        {
            let h = hash32(&id);
            let ip = old_ip
                .unwrap_or_else(|| json!(format!("10.96.{}.{}", (h >> 8) % 256, (h % 254) + 1)));
            spec.insert("clusterIP".into(), ip);
        }
        let ip = spec.get("clusterIP").cloned().unwrap_or(Value::Null);
        def(spec, "clusterIPs", json!([ip]));
        def(spec, "ipFamilies", json!(["IPv4"]));
        def(spec, "ipFamilyPolicy", json!("SingleStack"));
        def(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if ty == "NodePort" || ty == "LoadBalancer" {
        def(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if ty == "LoadBalancer" {
        def(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    let old_ports = old
        .and_then(|o| o.pointer("/spec/ports"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for (i, p) in ports.iter_mut().enumerate() {
            let Some(pm) = p.as_object_mut() else {
                continue;
            };
            def(pm, "protocol", json!("TCP"));
            if let Some(port) = pm.get("port").cloned() {
                def(pm, "targetPort", port);
            }
            if ty == "NodePort" || ty == "LoadBalancer" {
                let port = pm.get("port").and_then(Value::as_i64).unwrap_or(0);
                let prev = old_ports
                    .iter()
                    .find(|op| op.get("port").and_then(Value::as_i64) == Some(port))
                    .and_then(|op| op.get("nodePort"))
                    .cloned();
                let alloc = 30000 + (hash32(&format!("{id}:{port}:{i}")) % 2768);
                def(pm, "nodePort", prev.unwrap_or_else(|| json!(alloc)));
            }
        }
    }
}

fn deployment(o: &mut Value) {
    let Some(spec) = obj(o, "spec") else { return };
    def(spec, "replicas", json!(1));
    def(spec, "strategy", json!({"type": "RollingUpdate"}));
    if let Some(st) = spec.get_mut("strategy").and_then(Value::as_object_mut)
        && st.get("type").and_then(Value::as_str) == Some("RollingUpdate")
    {
        def(st, "rollingUpdate", json!({}));
        if let Some(ru) = st.get_mut("rollingUpdate").and_then(Value::as_object_mut) {
            def(ru, "maxUnavailable", json!("25%"));
            def(ru, "maxSurge", json!("25%"));
        }
    }
    def(spec, "revisionHistoryLimit", json!(10));
    def(spec, "progressDeadlineSeconds", json!(600));
    template(spec);
}

fn statefulset(o: &mut Value) {
    let Some(spec) = obj(o, "spec") else { return };
    def(spec, "replicas", json!(1));
    def(spec, "podManagementPolicy", json!("OrderedReady"));
    def(spec, "updateStrategy", json!({"type": "RollingUpdate"}));
    if let Some(us) = spec
        .get_mut("updateStrategy")
        .and_then(Value::as_object_mut)
        && us.get("type").and_then(Value::as_str) == Some("RollingUpdate")
    {
        def(us, "rollingUpdate", json!({"partition": 0}));
    }
    def(spec, "revisionHistoryLimit", json!(10));
    def(
        spec,
        "persistentVolumeClaimRetentionPolicy",
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
    );
    if let Some(vcts) = spec
        .get_mut("volumeClaimTemplates")
        .and_then(Value::as_array_mut)
    {
        for v in vcts.iter_mut() {
            if let Some(m) = v.as_object_mut() {
                def(m, "apiVersion", json!("v1"));
                def(m, "kind", json!("PersistentVolumeClaim"));
            }
            if let Some(s) = obj(v, "spec") {
                def(s, "volumeMode", json!("Filesystem"));
            }
            if let Some(m) = v.as_object_mut() {
                def(m, "status", json!({"phase": "Pending"}));
            }
        }
    }
    template(spec);
}

fn job(o: &mut Value) {
    let uid = crate::meta::uid(o).to_string();
    let name = crate::meta::name(o).to_string();
    let Some(spec) = obj(o, "spec") else { return };
    job_spec(spec);
    let manual = spec
        .get("manualSelector")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !manual && !uid.is_empty() {
        def(
            spec,
            "selector",
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
        );
        if let Some(tm) = spec.get_mut("template").and_then(|t| t.as_object_mut()) {
            let meta = tm.entry("metadata").or_insert_with(|| json!({}));
            if let Some(mm) = meta.as_object_mut() {
                let labels = mm.entry("labels").or_insert_with(|| json!({}));
                if let Some(l) = labels.as_object_mut() {
                    def(l, "batch.kubernetes.io/controller-uid", json!(uid));
                    def(l, "batch.kubernetes.io/job-name", json!(name));
                    def(l, "controller-uid", json!(uid));
                    def(l, "job-name", json!(name));
                }
            }
        }
    }
}

fn job_spec(spec: &mut Map<String, Value>) {
    def(spec, "backoffLimit", json!(6));
    def(spec, "completionMode", json!("NonIndexed"));
    def(spec, "suspend", json!(false));
    def(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
    if !spec.contains_key("completions") && !spec.contains_key("parallelism") {
        spec.insert("completions".into(), json!(1));
    }
    def(spec, "parallelism", json!(1));
    if let Some(m) = spec
        .get_mut("template")
        .and_then(|t| t.get_mut("spec"))
        .and_then(Value::as_object_mut)
    {
        pod_spec(m);
    }
}

/// `spec.template.spec` defaults for workload kinds.
fn template(spec: &mut Map<String, Value>) {
    if let Some(t) = spec.get_mut("template").and_then(Value::as_object_mut) {
        def(t, "metadata", json!({}));
        if let Some(ps) = t.get_mut("spec").and_then(Value::as_object_mut) {
            pod_spec(ps);
        }
    }
}

fn pod_spec(ps: &mut Map<String, Value>) {
    def(ps, "restartPolicy", json!("Always"));
    def(ps, "terminationGracePeriodSeconds", json!(30));
    def(ps, "dnsPolicy", json!("ClusterFirst"));
    def(ps, "securityContext", json!({}));
    def(ps, "schedulerName", json!("default-scheduler"));
    for list in ["containers", "initContainers"] {
        if let Some(cs) = ps.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                container(c);
            }
        }
    }
    if let Some(vols) = ps.get_mut("volumes").and_then(Value::as_array_mut) {
        for v in vols.iter_mut().filter_map(Value::as_object_mut) {
            for src in ["configMap", "secret"] {
                if let Some(s) = v.get_mut(src).and_then(Value::as_object_mut) {
                    def(s, "defaultMode", json!(420));
                }
            }
            if let Some(s) = v.get_mut("projected").and_then(Value::as_object_mut) {
                def(s, "defaultMode", json!(420));
            }
        }
    }
}

fn container(c: &mut Map<String, Value>) {
    def(c, "terminationMessagePath", json!("/dev/termination-log"));
    def(c, "terminationMessagePolicy", json!("File"));
    let image = c
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let last = image.rsplit('/').next().unwrap_or("");
    let tag = if last.contains('@') {
        Some("digest")
    } else {
        last.split_once(':').map(|(_, t)| t)
    };
    let policy = match tag {
        None | Some("latest") => "Always",
        _ => "IfNotPresent",
    };
    def(c, "imagePullPolicy", json!(policy));
    def(c, "resources", json!({}));
    if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
        for p in ports.iter_mut().filter_map(Value::as_object_mut) {
            def(p, "protocol", json!("TCP"));
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = c.get_mut(probe).and_then(Value::as_object_mut) {
            def(p, "timeoutSeconds", json!(1));
            def(p, "periodSeconds", json!(10));
            def(p, "successThreshold", json!(1));
            def(p, "failureThreshold", json!(3));
            if let Some(h) = p.get_mut("httpGet").and_then(Value::as_object_mut) {
                def(h, "scheme", json!("HTTP"));
            }
        }
    }
    if let Some(env) = c.get_mut("env").and_then(Value::as_array_mut) {
        for e in env.iter_mut() {
            if let Some(fr) = e
                .pointer_mut("/valueFrom/fieldRef")
                .and_then(Value::as_object_mut)
            {
                def(fr, "apiVersion", json!("v1"));
            }
        }
    }
}

fn crd(o: &mut Value) {
    let Some(spec) = obj(o, "spec") else { return };
    def(spec, "conversion", json!({"strategy": "None"}));
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        def(names, "singular", json!(kind.to_lowercase()));
        def(names, "listKind", json!(format!("{kind}List")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_defaults_match_kube_apiserver() {
        let mut d = json!({"spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "a", "image": "nginx:1.27"}, {"name": "b", "image": "busybox"}]}}}});
        apply("apps", "Deployment", &mut d, None);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%");
        assert_eq!(d["spec"]["progressDeadlineSeconds"], 600);
        let c = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(c[0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c[1]["imagePullPolicy"], "Always");
        assert_eq!(c[0]["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(d["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    }

    #[test]
    fn service_keeps_allocated_cluster_ip() {
        let mut s =
            json!({"metadata": {"name": "a", "namespace": "d"}, "spec": {"ports": [{"port": 80}]}});
        apply("", "Service", &mut s, None);
        let ip = s["spec"]["clusterIP"].clone();
        assert!(ip.as_str().unwrap().starts_with("10.96."));
        assert_eq!(s["spec"]["ports"][0]["targetPort"], 80);
        let mut s2 =
            json!({"metadata": {"name": "a", "namespace": "d"}, "spec": {"ports": [{"port": 80}]}});
        apply("", "Service", &mut s2, Some(&s));
        assert_eq!(s2["spec"]["clusterIP"], ip);
    }
}
