//! RBAC policies from argocd-rbac-cm and project roles: the first line is a request
//! (`subject,resource,action,object`), the rest a policy CSV, parsed in both match modes and enforced.
#![no_main]

use capstan_rbac::{Enforcer, MatchMode, Request, parse_policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (request, policy) = text.split_once('\n').unwrap_or((text, ""));
    let mut fields = request.splitn(4, ',');
    let subject = fields.next().unwrap_or_default();
    let resource = fields.next().unwrap_or_default();
    let action = fields.next().unwrap_or_default();
    let object = fields.next().unwrap_or_default();
    for mode in [MatchMode::Glob, MatchMode::Regex] {
        let _ = parse_policy(policy, mode);
        if let Ok(enforcer) = Enforcer::new(policy, Some(subject), mode) {
            let request = Request {
                resource,
                action,
                object,
            };
            let _ = enforcer.enforce(subject, &[resource.to_string()], request);
            let _ = enforcer.roles_of(subject);
        }
    }
});
