//! Checks of settings Secrets and ConfigMaps: repository / repo-creds / cluster Secrets, `argocd-cm`,
//! `argocd-rbac-cm`, `argocd-cmd-params-cm`.

use capstan_settings::{
    ArgoCdConfig, Cluster, CmdParams, RbacConfig, RepoCreds, Repository, SettingsError,
};
use capstan_types::annotations::{SECRET_TYPE, secret_type};
use serde_json::Value;

use crate::context::DocContext;
use crate::urls::repo_url_problem;

/// The path of a Secret data key as written in the file: `stringData.<key>` or `data.<key>`.
fn secret_key_path(value: &Value, key: &str) -> String {
    let key = key
        .strip_prefix("data.")
        .or_else(|| key.strip_prefix("stringData."))
        .unwrap_or(key);
    let quoted = |prefix: &str| {
        if key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            format!("{prefix}.{key}")
        } else {
            format!("{prefix}[\"{key}\"]")
        }
    };
    if value.get("stringData").and_then(|d| d.get(key)).is_some() {
        quoted("stringData")
    } else if value.get("data").and_then(|d| d.get(key)).is_some() {
        quoted("data")
    } else {
        quoted("stringData")
    }
}

fn report_settings_error(ctx: &mut DocContext<'_>, err: &SettingsError, data_field: &str) {
    let message = match err {
        SettingsError::Key { message, .. } | SettingsError::Object { message, .. } => {
            message.clone()
        }
    };
    match err.data_key() {
        Some(key) if data_field == "data" && !key.starts_with("data.") => {
            let path = if key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                format!("data.{key}")
            } else {
                format!("data[\"{key}\"]")
            };
            ctx.report_value(&path, message)
        }
        Some(key) => {
            let path = secret_key_path(&ctx.doc.value, key);
            ctx.report_value(&path, message)
        }
        None => ctx.report("metadata.labels", message),
    }
}

/// Returns true when the Secret is an Argo CD settings Secret.
pub(crate) fn check_secret(ctx: &mut DocContext<'_>) -> bool {
    let value = ctx.doc.value.clone();
    let Some(kind) = value
        .pointer("/metadata/labels")
        .and_then(|l| l.get(SECRET_TYPE))
    else {
        return false;
    };
    let Some(kind) = kind.as_str() else {
        ctx.report_value(
            &format!("metadata.labels[\"{SECRET_TYPE}\"]"),
            "must be a string",
        );
        return true;
    };
    match kind {
        secret_type::REPOSITORY => match Repository::from_secret(&value) {
            Ok(repo) => {
                if let Some(problem) = repo_url_problem(
                    &repo.creds.url,
                    repo.creds.repo_type != capstan_settings::RepositoryType::Git,
                ) {
                    let path = secret_key_path(&value, "url");
                    ctx.report_value(&path, problem);
                }
            }
            Err(e) => report_settings_error(ctx, &e, "stringData"),
        },
        secret_type::REPO_CREDS => {
            if let Err(e) = RepoCreds::from_secret(&value) {
                report_settings_error(ctx, &e, "stringData");
            }
        }
        secret_type::CLUSTER => {
            if let Err(e) = Cluster::from_secret(&value) {
                report_settings_error(ctx, &e, "stringData");
            }
        }
        secret_type::SCM_CREDS => {}
        other => ctx.report_value(
            &format!("metadata.labels[\"{SECRET_TYPE}\"]"),
            format!(
                "unknown secret type {other:?}; expected one of {}",
                secret_type::ALL.join(", ")
            ),
        ),
    }
    true
}

/// Returns true when the ConfigMap is one of Argo CD's settings ConfigMaps.
pub(crate) fn check_config_map(ctx: &mut DocContext<'_>) -> bool {
    let value = ctx.doc.value.clone();
    let name = value
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match name {
        capstan_settings::names::ARGOCD_CM => {
            if let Err(e) = ArgoCdConfig::from_config_map(&value) {
                report_settings_error(ctx, &e, "data");
            }
        }
        capstan_settings::names::ARGOCD_CMD_PARAMS_CM => {
            if let Err(e) = CmdParams::from_config_map(&value) {
                report_settings_error(ctx, &e, "data");
            }
        }
        capstan_settings::names::ARGOCD_RBAC_CM => {
            if let Err(errors) = RbacConfig::from_config_map(&value) {
                for e in errors {
                    report_rbac_error(ctx, &e);
                }
            }
        }
        _ => return false,
    }
    true
}

/// RBAC errors carry `line N: ...`: point at that line inside the policy value.
fn report_rbac_error(ctx: &mut DocContext<'_>, err: &SettingsError) {
    let (Some(key), SettingsError::Key { message, .. }) = (err.data_key(), err) else {
        return report_settings_error(ctx, err, "data");
    };
    let path = format!("data[\"{key}\"]");
    let line = message
        .strip_prefix("line ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse::<usize>().ok());
    match line {
        Some(n) => ctx.report_in_value(&path, n, format!("policy {message}")),
        None => ctx.report_value(&path, message.clone()),
    }
}
