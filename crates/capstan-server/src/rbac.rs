//! RBAC on every endpoint: the policy of `argocd-rbac-cm` (with the built-in roles and
//! `policy.default`) plus, for project role tokens, the policies of the project's roles. A project role
//! token can act only on objects of its own project, whatever the policies say.

use capstan_rbac::{Request, parse_policy};
use serde_json::Value;

use crate::auth::{Principal, PrincipalKind};
use crate::error::ApiError;
use crate::state::AppState;

/// The `g`/`p` lines of an AppProject's roles: each role's policies, and its groups as
/// `g, <group>, proj:<project>:<role>`. Lines of a role that do not name the role's own project
/// subject or an object of the project are dropped, as Argo CD does.
pub fn project_policy(project: &Value) -> String {
    let name = project
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let mut out = String::new();
    for role in project
        .pointer("/spec/roles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let role_name = role["name"].as_str().unwrap_or_default();
        let subject = format!("proj:{name}:{role_name}");
        for line in role["policies"].as_array().into_iter().flatten() {
            let Some(line) = line.as_str() else { continue };
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            if fields.len() >= 5
                && fields[0] == "p"
                && fields[1] == subject
                && (fields[4] == name || fields[4].starts_with(&format!("{name}/")))
            {
                out.push_str(line);
                out.push('\n');
            }
        }
        for group in role["groups"].as_array().into_iter().flatten() {
            if let Some(group) = group.as_str() {
                out.push_str(&format!("g, {group}, {subject}\n"));
            }
        }
    }
    out
}

/// The policy that decides a principal's requests, prepared once (for a project role token: with its
/// project's role policies) so that deciding many objects (a list of 10,000 Applications) is cheap.
pub struct Authorizer<'p> {
    settings: std::sync::Arc<crate::state::Settings>,
    project_enforcer: Option<capstan_rbac::Enforcer>,
    principal: &'p Principal,
}

impl<'p> Authorizer<'p> {
    /// Prepares the policy of `principal`.
    pub async fn new(state: &AppState, principal: &'p Principal) -> Result<Self, ApiError> {
        let settings = state.settings();
        let mut project_enforcer = None;
        if let PrincipalKind::ProjectRole { project, .. } = &principal.kind {
            let proj = state
                .client
                .get(&state.types.project, Some(&state.config.namespace), project)
                .await?;
            let mut enforcer = settings.rbac.enforcer.clone();
            if let Some(proj) = proj {
                let lines = parse_policy(&project_policy(&proj), settings.rbac.match_mode)
                    .map_err(|errors| {
                        ApiError::Internal(format!(
                            "project {project} has invalid role policies: {}",
                            errors
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join("; ")
                        ))
                    })?;
                enforcer.extend(lines);
            }
            project_enforcer = Some(enforcer);
        }
        Ok(Authorizer {
            settings,
            project_enforcer,
            principal,
        })
    }

    /// Decides one request.
    pub fn allows(&self, resource: &str, action: &str, object: &str) -> bool {
        let request = Request {
            resource,
            action,
            object,
        };
        let p = self.principal;
        if let PrincipalKind::ProjectRole { project, .. } = &p.kind {
            let in_project = object == project || object.starts_with(&format!("{project}/"));
            // a role may read its project, never change it: a token that could update the
            // project could widen its own policies, source repositories and destinations
            let project_read = resource == "projects" && action == "get";
            if !in_project
                || !capstan_rbac::PROJECT_SCOPED_RESOURCES.contains(&resource) && !project_read
            {
                return false;
            }
            return self
                .project_enforcer
                .as_ref()
                .is_some_and(|e| e.enforce(&p.subject, &p.groups, request));
        }
        self.settings
            .rbac
            .enforcer
            .enforce(&p.subject, &p.groups, request)
    }
}

/// Decides a request.
pub async fn allowed(
    state: &AppState,
    principal: &Principal,
    resource: &str,
    action: &str,
    object: &str,
) -> Result<bool, ApiError> {
    if let PrincipalKind::ProjectRole { project, .. } = &principal.kind {
        let in_project = object == project || object.starts_with(&format!("{project}/"));
        if !in_project {
            return Ok(false);
        }
    }
    Ok(Authorizer::new(state, principal)
        .await?
        .allows(resource, action, object))
}

/// `Ok` when allowed; otherwise 403 naming the permission.
pub async fn enforce(
    state: &AppState,
    principal: &Principal,
    resource: &str,
    action: &str,
    object: &str,
) -> Result<(), ApiError> {
    if allowed(state, principal, resource, action, object).await? {
        Ok(())
    } else {
        Err(ApiError::denied(
            resource,
            action,
            object,
            &principal.subject,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn project_policy_keeps_only_own_lines() {
        let project = json!({"metadata": {"name": "team"}, "spec": {"roles": [{
            "name": "ci",
            "policies": [
                "p, proj:team:ci, applications, sync, team/*, allow",
                "p, proj:team:ci, applications, sync, other/*, allow",
                "p, proj:other:ci, applications, sync, team/*, allow"
            ],
            "groups": ["devs"]
        }]}});
        assert_eq!(
            project_policy(&project),
            "p, proj:team:ci, applications, sync, team/*, allow\ng, devs, proj:team:ci\n"
        );
    }
}
