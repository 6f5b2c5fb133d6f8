//! Parsing of policy CSV text into rules, with the line of every rule.

use crate::matcher::{MatchMode, Pattern};

/// Effect of a `p` rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants the permission.
    Allow,
    /// Refuses the permission; wins over any allow.
    Deny,
}

/// A `p` line.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Subject: user, group, `role:<name>` or `proj:<project>:<role>`.
    pub subject: String,
    /// Resource pattern.
    pub resource: String,
    /// Action pattern.
    pub action: String,
    /// Object pattern.
    pub object: String,
    /// Effect.
    pub effect: Effect,
    /// Line in its source (1-based).
    pub line: usize,
    pub(crate) resource_pattern: Pattern,
    pub(crate) action_pattern: Pattern,
    pub(crate) object_pattern: Pattern,
}

/// A `g` line: `member` has `role`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouping {
    /// User, group or role that gets the role.
    pub member: String,
    /// The role.
    pub role: String,
    /// Line in its source (1-based).
    pub line: usize,
}

/// One parsed line.
#[derive(Debug, Clone)]
pub enum Line {
    /// A permission.
    Rule(Box<Rule>),
    /// A role assignment.
    Grouping(Grouping),
}

/// A policy line that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}: {text:?}")]
pub struct PolicyError {
    /// Line (1-based) in the policy text.
    pub line: usize,
    /// The line as written.
    pub text: String,
    /// What is wrong.
    pub message: String,
}

/// Splits one CSV line into trimmed fields; double quotes may enclose a field containing commas.
fn split_csv(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut current = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if in_quotes && chars.peek() == Some(&'"') => {
                current.push('"');
                chars.next();
            }
            '"' => in_quotes = !in_quotes,
            ',' if !in_quotes => fields.push(std::mem::take(&mut current).trim().to_string()),
            _ => current.push(c),
        }
    }
    if in_quotes {
        return Err("unterminated double quote".to_string());
    }
    fields.push(current.trim().to_string());
    Ok(fields)
}

/// Parses policy text. Blank lines and `#` comments are skipped; every other line must be a valid `p`
/// or `g` line. All problems are returned, not only the first.
pub fn parse_policy(text: &str, mode: MatchMode) -> Result<Vec<Line>, Vec<PolicyError>> {
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let number = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match parse_line(trimmed, number, mode) {
            Ok(line) => lines.push(line),
            Err(message) => errors.push(PolicyError {
                line: number,
                text: trimmed.to_string(),
                message,
            }),
        }
    }
    if errors.is_empty() {
        Ok(lines)
    } else {
        Err(errors)
    }
}

fn parse_line(line: &str, number: usize, mode: MatchMode) -> Result<Line, String> {
    let fields = split_csv(line)?;
    if fields.iter().any(String::is_empty) {
        return Err("empty field".to_string());
    }
    match fields[0].as_str() {
        "p" => {
            if fields.len() != 6 {
                return Err(format!(
                    "a p line has 6 fields (p, subject, resource, action, object, allow|deny), found {}",
                    fields.len()
                ));
            }
            let effect = match fields[5].as_str() {
                "allow" => Effect::Allow,
                "deny" => Effect::Deny,
                other => return Err(format!("effect must be allow or deny, not {other:?}")),
            };
            let compile = |text: &str| Pattern::compile(text, mode);
            Ok(Line::Rule(Box::new(Rule {
                subject: fields[1].clone(),
                resource: fields[2].clone(),
                action: fields[3].clone(),
                object: fields[4].clone(),
                effect,
                line: number,
                resource_pattern: compile(&fields[2])?,
                action_pattern: compile(&fields[3])?,
                object_pattern: compile(&fields[4])?,
            })))
        }
        "g" => {
            if fields.len() != 3 {
                return Err(format!(
                    "a g line has 3 fields (g, user or group, role), found {}",
                    fields.len()
                ));
            }
            Ok(Line::Grouping(Grouping {
                member: fields[1].clone(),
                role: fields[2].clone(),
                line: number,
            }))
        }
        other => Err(format!("a policy line starts with p or g, not {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_every_bad_line() {
        let text = "# comment\n\np, role:ci, applications, sync, proj/*, allow\ng, alice, role:ci\np, x, y\nq, a, b\np, a, b, c, d, maybe\ng, \"my, group\", role:ci\np, a, b, \"c, d, e, allow\n";
        let errors = parse_policy(text, MatchMode::Glob).unwrap_err();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [5, 6, 7, 9]);
        assert!(errors[0].to_string().contains("6 fields"), "{}", errors[0]);
        assert!(errors[2].message.contains("allow or deny"));
        let ok = parse_policy("g, \"my, group\", role:ci\n", MatchMode::Glob).unwrap();
        assert!(matches!(&ok[0], Line::Grouping(g) if g.member == "my, group"));
    }
}
