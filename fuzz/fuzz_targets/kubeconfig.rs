//! Kubeconfig files given to `capstan cluster add`: the first line names the context, the rest is the
//! kubeconfig.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (context, kubeconfig) = text.split_once('\n').unwrap_or(("default", text));
    if let Ok(cluster) = capstan_settings::cluster_from_kubeconfig(kubeconfig, "fuzz", context) {
        assert!(cluster["server"].as_str().is_some_and(|s| !s.is_empty()));
    }
});
