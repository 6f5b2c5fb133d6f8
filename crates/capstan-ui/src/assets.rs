//! The CSS, JavaScript and icon embedded in the binary. Their URLs carry a hash of the content
//! (`/ui/static/app.css?v=<hash>`), so browsers may cache them for a long time.

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// File name under `/ui/static/`.
    pub name: &'static str,
    /// Content type.
    pub content_type: &'static str,
    /// Content.
    pub body: &'static [u8],
}

const CSS: &[u8] = include_bytes!("../static/app.css");
const JS: &[u8] = include_bytes!("../static/app.js");
const ICON: &[u8] = include_bytes!("../static/icon.svg");

/// Every embedded file.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: CSS,
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: JS,
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        body: ICON,
    },
];

/// The embedded file `name`.
pub fn get(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

const fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut p = 0;
    while p < parts.len() {
        let bytes = parts[p];
        let mut i = 0;
        while i < bytes.len() {
            hash ^= bytes[i] as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
            i += 1;
        }
        p += 1;
    }
    hash
}

/// A hash of all embedded files, computed at compile time.
pub const VERSION: u64 = fnv1a(&[CSS, JS, ICON]);

/// The URL of an embedded file, with the content hash.
pub fn url(name: &str) -> String {
    format!("/ui/static/{name}?v={VERSION:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_embedded_and_versioned() {
        let js = get("app.js").expect("app.js");
        assert!(js.content_type.starts_with("text/javascript"));
        assert!(
            std::str::from_utf8(js.body)
                .unwrap()
                .contains("EventSource")
        );
        assert!(get("app.css").is_some());
        assert!(get("../Cargo.toml").is_none());
        assert_eq!(
            url("app.css"),
            format!("/ui/static/app.css?v={VERSION:016x}")
        );
        assert_ne!(fnv1a(&[b"a"]), fnv1a(&[b"b"]));
    }
}
