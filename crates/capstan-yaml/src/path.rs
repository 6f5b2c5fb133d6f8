use std::fmt;

/// One step into a JSON value: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathSegment {
    /// A key of a map.
    Key(String),
    /// An index of a list.
    Index(usize),
}

/// A path to a field, displayed as `spec.destinations[0].server` (the form Kubernetes uses in
/// validation messages). Keys that are not identifiers are quoted: `metadata.labels["app.kubernetes.io/name"]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FieldPath(pub Vec<PathSegment>);

impl FieldPath {
    /// The empty path (the document itself).
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path with a key appended.
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Key(key.into()));
        FieldPath(segments)
    }

    /// This path with an index appended.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Index(index));
        FieldPath(segments)
    }

    /// The path without its last segment (the root stays the root).
    #[must_use]
    pub fn parent(&self) -> Self {
        let mut segments = self.0.clone();
        segments.pop();
        FieldPath(segments)
    }

    /// True for the document itself.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Parses a dotted path such as `spec.source.repoURL` or `spec.destinations[0].server`.
    /// Quoted keys (`labels["a.b/c"]`) are understood.
    pub fn parse(text: &str) -> Self {
        let mut segments = Vec::new();
        let mut chars = text.chars().peekable();
        let mut current = String::new();
        while let Some(c) = chars.next() {
            match c {
                '.' => {
                    if !current.is_empty() {
                        segments.push(PathSegment::Key(std::mem::take(&mut current)));
                    }
                }
                '[' => {
                    if !current.is_empty() {
                        segments.push(PathSegment::Key(std::mem::take(&mut current)));
                    }
                    let mut inner = String::new();
                    for c in chars.by_ref() {
                        if c == ']' {
                            break;
                        }
                        inner.push(c);
                    }
                    let trimmed = inner.trim_matches('"');
                    match inner.parse::<usize>() {
                        Ok(i) => segments.push(PathSegment::Index(i)),
                        Err(_) => segments.push(PathSegment::Key(trimmed.to_string())),
                    }
                }
                _ => current.push(c),
            }
        }
        if !current.is_empty() {
            segments.push(PathSegment::Key(current));
        }
        FieldPath(segments)
    }

    /// The JSON pointer (RFC 6901) of this path.
    pub fn to_json_pointer(&self) -> String {
        let mut out = String::new();
        for segment in &self.0 {
            out.push('/');
            match segment {
                PathSegment::Key(k) => out.push_str(&k.replace('~', "~0").replace('/', "~1")),
                PathSegment::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("<document>");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Key(k) if is_plain_key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                PathSegment::Key(k) => write!(f, "[{k:?}]")?,
                PathSegment::Index(idx) => write!(f, "[{idx}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse() {
        let p = FieldPath::root()
            .key("spec")
            .key("destinations")
            .index(0)
            .key("server");
        assert_eq!(p.to_string(), "spec.destinations[0].server");
        assert_eq!(FieldPath::parse("spec.destinations[0].server"), p);
        let q = FieldPath::root()
            .key("metadata")
            .key("labels")
            .key("app.kubernetes.io/name");
        assert_eq!(q.to_string(), "metadata.labels[\"app.kubernetes.io/name\"]");
        assert_eq!(FieldPath::parse(&q.to_string()), q);
        assert_eq!(
            q.to_json_pointer(),
            "/metadata/labels/app.kubernetes.io~1name"
        );
        assert_eq!(FieldPath::root().to_string(), "<document>");
    }
}
