//! Exit codes of the binary and one-line usage errors.

use std::process::ExitCode;

/// Shown by `capstan --help`.
pub const EXIT_CODES: &str = "Exit codes:
  0  success (`app diff`: no difference)
  1  the command ran but the answer is no: `app diff` found differences, a sync/rollback
     operation failed, `app wait`/`--wait` timed out (the message says what is pending),
     `lint` found problems, `render` could not render
  2  error: bad flag or input file (the message names file, line and field), not logged in,
     permission denied (the message names the permission), unknown object, server unreachable
     (the message names the URL tried)";

/// Prints a command-line parsing error as one line (help and version print as usual).
pub fn usage_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        let _ = err.print();
        return ExitCode::SUCCESS;
    }
    eprintln!("{}", one_line(&err.render().to_string()));
    ExitCode::from(2)
}

/// clap's multi-line message joined into one line, without the usage and help hints.
fn one_line(text: &str) -> String {
    let parts: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more information")
        })
        .collect();
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    #[test]
    fn wrong_flag_values_are_one_line() {
        let err =
            crate::Cli::try_parse_from(["capstan", "app", "list", "-o", "bogus"]).unwrap_err();
        let line = super::one_line(&err.render().to_string());
        assert_eq!(
            line,
            "error: invalid value 'bogus' for '--output <OUTPUT>' [possible values: wide, json, yaml, name]"
        );
        let err = crate::Cli::try_parse_from(["capstan", "app", "sync"]).unwrap_err();
        let line = super::one_line(&err.render().to_string());
        assert!(
            line.starts_with("error: the following required arguments were not provided:"),
            "{line}"
        );
        assert!(!line.contains('\n'));
    }
}
