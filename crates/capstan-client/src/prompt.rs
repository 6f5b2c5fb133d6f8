//! Reading a secret from the user: from the terminal without echo, or one line of standard input
//! when it is a pipe (`echo "$PW" | capstan login ...`).

use std::io::{BufRead, IsTerminal};

use crate::error::ClientError;

/// Reads a password: prompted on the terminal with echo off, or the first line of standard input.
pub fn read_password(prompt: &str) -> Result<String, ClientError> {
    let stdin = std::io::stdin();
    let password = if stdin.is_terminal() {
        rpassword::prompt_password(prompt)
            .map_err(|e| ClientError::Invalid(format!("reading the password: {e}")))?
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line).map_err(|e| {
            ClientError::Invalid(format!("reading the password from standard input: {e}"))
        })?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    if password.is_empty() {
        return Err(ClientError::Invalid(
            "no password given: use --password or pipe it on standard input".into(),
        ));
    }
    Ok(password)
}
