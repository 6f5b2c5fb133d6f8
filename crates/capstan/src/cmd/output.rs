//! Output of the client commands: aligned tables for people (colours only on a terminal),
//! `-o json|yaml|name|wide` for scripts. JSON keeps the server's field order, so it is stable.

use std::io::IsTerminal;

use serde_json::Value;

/// `-o` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Human table (the default).
    #[default]
    #[value(skip)]
    Table,
    /// Table with more columns.
    Wide,
    /// JSON (stable, for scripts).
    Json,
    /// YAML.
    Yaml,
    /// Names only, one per line.
    Name,
}

/// An aligned text table, like argocd's tabwriter output (two spaces between columns).
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table text; with `colour`, known status words are coloured (widths ignore the codes).
    pub fn render(&self, colour: bool) -> String {
        let cols = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        let mut out = String::new();
        let mut line = |cells: &[String], paint: bool| {
            let mut text = String::new();
            for (i, c) in cells.iter().enumerate().take(cols) {
                let shown = if paint { paint_status(c) } else { c.clone() };
                if i + 1 == cols {
                    text.push_str(&shown);
                } else {
                    let pad = widths[i] - c.chars().count() + 2;
                    text.push_str(&shown);
                    text.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&self.header, false);
        for r in &self.rows {
            line(r, colour);
        }
        out
    }
}

/// ANSI colour of a health or sync status word.
fn paint_status(word: &str) -> String {
    let code = match word {
        "Healthy" | "Synced" | "Succeeded" => "32",
        "Progressing" | "Running" | "Terminating" => "36",
        "Degraded" | "OutOfSync" | "Failed" | "Error" | "SyncFailed" => "31",
        "Missing" | "Unknown" | "Suspended" => "33",
        _ => return word.to_string(),
    };
    format!("\x1b[{code}m{word}\x1b[0m")
}

/// Whether standard output is a terminal (colours and live progress only then; `NO_COLOR` wins).
pub fn stdout_is_tty() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether tables should be coloured.
pub fn colour() -> bool {
    stdout_is_tty() && std::env::var_os("NO_COLOR").is_none()
}

/// A value as pretty JSON or YAML.
pub fn serialize(value: &Value, format: Format) -> String {
    match format {
        Format::Yaml => capstan_yaml::to_yaml_string(value),
        _ => {
            let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
            s.push('\n');
            s
        }
    }
}

/// Prints objects in a machine format (`json`, `yaml`, `name`); false when `format` is a table.
pub fn print_machine(values: &Value, names: &[String], format: Format) -> bool {
    match format {
        Format::Json | Format::Yaml => {
            print!("{}", serialize(values, format));
            true
        }
        Format::Name => {
            for n in names {
                println!("{n}");
            }
            true
        }
        Format::Table | Format::Wide => false,
    }
}

/// The string at a JSON pointer, or "".
pub fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_colours_without_shifting_columns() {
        let mut t = Table::new(&["NAME", "STATUS", "X"]);
        t.row(vec!["a".into(), "Synced".into(), "1".into()]);
        t.row(vec!["longer-name".into(), "OutOfSync".into(), "".into()]);
        let plain = t.render(false);
        assert_eq!(
            plain,
            "NAME         STATUS     X\na            Synced     1\nlonger-name  OutOfSync\n"
        );
        let coloured = t.render(true);
        assert!(coloured.contains("\x1b[32mSynced\x1b[0m     1"));
        let stripped = coloured
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[0m", "");
        assert_eq!(stripped, plain);
    }
}
