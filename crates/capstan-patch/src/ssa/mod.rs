//! Server-side apply (placeholder while the implementation lands).
