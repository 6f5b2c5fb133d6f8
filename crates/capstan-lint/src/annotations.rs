//! Argo CD annotations on any object: waves, hooks, delete policies, sync and compare options.

use capstan_types::annotations::{
    COMPARE_OPTIONS, HOOK, HOOK_DELETE_POLICY, REFRESH, SYNC_OPTIONS, SYNC_WAVE, compare_options,
    split_list, sync_options,
};
use capstan_types::{HookDeletePolicy, HookType, RefreshType};
use serde_json::Value;

use crate::context::DocContext;

fn annotation_path(key: &str) -> String {
    format!("metadata.annotations[\"{key}\"]")
}

pub(crate) fn check(ctx: &mut DocContext<'_>) {
    let Some(annotations) = ctx
        .doc
        .value
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
    else {
        return;
    };
    let annotations = annotations.clone();
    for (key, value) in &annotations {
        let path = annotation_path(key);
        let Some(text) = value.as_str() else {
            if !value.is_null() {
                ctx.report_value(
                    &path,
                    format!(
                        "annotation values must be strings, found {}",
                        crate::kind_name(value)
                    ),
                );
            }
            continue;
        };
        match key.as_str() {
            SYNC_WAVE if text.trim().parse::<i32>().is_err() => {
                ctx.report_value(
                    &path,
                    format!("sync wave must be an integer, found {text:?}"),
                );
            }
            HOOK => {
                for hook in split_list(text) {
                    if let Err(e) = hook.parse::<HookType>() {
                        ctx.report_value(&path, e.to_string());
                    }
                }
            }
            HOOK_DELETE_POLICY => {
                for policy in split_list(text) {
                    if let Err(e) = policy.parse::<HookDeletePolicy>() {
                        ctx.report_value(&path, e.to_string());
                    }
                }
            }
            SYNC_OPTIONS => {
                for option in split_list(text) {
                    if let Err(e) = sync_options::validate(option) {
                        ctx.report_value(&path, e.to_string());
                    }
                }
            }
            COMPARE_OPTIONS => {
                for option in split_list(text) {
                    let ok = matches!(
                        option,
                        compare_options::IGNORE_EXTRANEOUS
                            | "ServerSideDiff=true"
                            | "ServerSideDiff=false"
                            | "IncludeMutationWebhook=true"
                            | "IncludeMutationWebhook=false"
                    );
                    if !ok {
                        ctx.report_value(
                            &path,
                            format!(
                                "unknown compare option {option:?}; expected IgnoreExtraneous, ServerSideDiff=true|false or IncludeMutationWebhook=true"
                            ),
                        );
                    }
                }
            }
            REFRESH => {
                if let Err(e) = text.trim().parse::<RefreshType>() {
                    ctx.report_value(&path, e.to_string());
                }
            }
            _ => {}
        }
    }
}
