//! The status badge SVG of `/api/badge?name=APP` (Argo CD's endpoint): health and sync status,
//! optionally the application name and the synced revision.

use maud::{Markup, html};

/// What a badge shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// Health status (`Healthy`, `Degraded`, ...; `Unknown` when disabled).
    pub health: String,
    /// Sync status (`Synced`, `OutOfSync`, `Unknown`).
    pub sync: String,
    /// Application name, when `showAppName=true`.
    pub app_name: Option<String>,
    /// Revision, when `revision=true` (already shortened unless `keepFullRevision=true`).
    pub revision: Option<String>,
    /// `Not Found` instead of the status when the application does not exist.
    pub not_found: bool,
}

fn health_color(health: &str) -> &'static str {
    match health {
        "Healthy" => "#18be52",
        "Progressing" => "#0dadea",
        "Degraded" => "#e96d76",
        "Suspended" => "#766f94",
        "Missing" => "#f4c030",
        _ => "#ccd6dd",
    }
}

fn sync_color(sync: &str) -> &'static str {
    match sync {
        "Synced" => "#18be52",
        "OutOfSync" => "#f4c030",
        _ => "#ccd6dd",
    }
}

/// Approximate text width in pixels of 11px Verdana-like text.
fn text_width(text: &str) -> u32 {
    text.chars()
        .map(|c| match c {
            'i' | 'l' | 'j' | '.' | ':' | '|' | '\'' => 4,
            'm' | 'w' | 'M' | 'W' => 10,
            c if c.is_ascii_uppercase() => 8,
            _ => 7,
        })
        .sum::<u32>()
        + 10
}

/// A revision as badges show it: the first 7 characters unless `keep_full`.
pub fn short_revision(revision: &str, keep_full: bool) -> String {
    if keep_full {
        revision.to_string()
    } else {
        revision.chars().take(7).collect()
    }
}

/// The badge as an SVG document.
pub fn render(badge: &Badge) -> String {
    let mut parts: Vec<(String, &'static str)> = Vec::new();
    if let Some(name) = &badge.app_name {
        parts.push((name.clone(), "#555"));
    }
    if badge.not_found {
        parts.push(("Not Found".to_string(), "#ccd6dd"));
    } else {
        parts.push((badge.health.clone(), health_color(&badge.health)));
        parts.push((badge.sync.clone(), sync_color(&badge.sync)));
    }
    if let Some(rev) = &badge.revision {
        parts.push((format!("({rev})"), "#555"));
    }
    let widths: Vec<u32> = parts.iter().map(|(t, _)| text_width(t)).collect();
    let total: u32 = widths.iter().sum();
    let label = parts
        .iter()
        .map(|(t, _)| t.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let mut x = 0;
    let mut segments: Vec<(u32, u32, &str, &str)> = Vec::new();
    for ((text, color), w) in parts.iter().zip(&widths) {
        segments.push((x, *w, text.as_str(), color));
        x += w;
    }
    let markup: Markup = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(total) height="20" role="img" aria-label=(label) {
            title { (label) }
            linearGradient id="s" x2="0" y2="100%" {
                stop offset="0" stop-color="#bbb" stop-opacity=".1" {}
                stop offset="1" stop-opacity=".1" {}
            }
            clipPath id="r" { rect width=(total) height="20" rx="3" fill="#fff" {} }
            g clip-path="url(#r)" {
                @for (x, w, _, color) in &segments {
                    rect x=(x) width=(w) height="20" fill=(color) {}
                }
                rect width=(total) height="20" fill="url(#s)" {}
            }
            g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11" {
                @for (x, w, text, _) in &segments {
                    text x=(x + w / 2) y="14" { (text) }
                }
            }
        }
    };
    markup.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_synced_badge() {
        let svg = render(&Badge {
            health: "Healthy".into(),
            sync: "Synced".into(),
            app_name: None,
            revision: None,
            not_found: false,
        });
        insta::assert_snapshot!(svg);
    }

    #[test]
    fn name_and_revision_are_escaped_and_shown() {
        let svg = render(&Badge {
            health: "Degraded".into(),
            sync: "OutOfSync".into(),
            app_name: Some("<evil>&".into()),
            revision: Some(short_revision("0123456789abcdef", false)),
            not_found: false,
        });
        assert!(svg.contains("&lt;evil&gt;&amp;"), "{svg}");
        assert!(!svg.contains("<evil>"));
        assert!(svg.contains("(0123456)"));
        assert!(svg.contains(health_color("Degraded")));
        assert!(svg.contains(sync_color("OutOfSync")));
    }

    #[test]
    fn not_found_badge() {
        let svg = render(&Badge {
            health: "Unknown".into(),
            sync: "Unknown".into(),
            app_name: None,
            revision: None,
            not_found: true,
        });
        assert!(svg.contains("Not Found"));
        assert!(!svg.contains("Unknown"));
    }
}
