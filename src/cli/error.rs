//! How failures reach a person: `error:` / `Caused by:` / `hint:` on stderr, and the exit code
//! (1 for a user or input error, 2 for usage, unbuilt commands and internal errors, and DVC's
//! codes where scripts test them: 253 outside a DVC repository, 251 for a malformed config).

use std::error::Error as StdError;
use std::fmt;
use std::process::ExitCode;

use super::Printer;

/// A CLI-level error that carries the fix.
#[derive(Debug)]
pub struct Hinted {
    message: String,
    hint: String,
}

impl Hinted {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl fmt::Display for Hinted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for Hinted {}

/// A command whose implementation has not landed yet: says so instead of pretending (exit 2).
#[derive(Debug)]
pub struct NotBuilt {
    pub command: &'static str,
    pub meanwhile: &'static str,
}

impl fmt::Display for NotBuilt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`vintner {}` is not built yet", self.command)
    }
}

impl StdError for NotBuilt {}

/// A failure that was already shown, or that is meant to be silent (`status -q` with changes):
/// prints nothing and exits with its code.
#[derive(Debug)]
pub struct Exit(pub u8);

impl fmt::Display for Exit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl StdError for Exit {}

/// DVC's exit code outside a DVC repository.
pub const NOT_A_REPO: u8 = 253;
/// DVC's exit code for a configuration error.
pub const CONFIG_ERROR: u8 = 251;

/// A configuration error of a config-editing command (`remote …`): exits with 251, DVC's code
/// for configuration errors, so scripts written for `dvc` can test it.
#[derive(Debug)]
pub struct ConfigFailed(pub crate::data::Error);

impl fmt::Display for ConfigFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for ConfigFailed {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// The hint of the first error in the chain that has one.
fn hint_of(err: &anyhow::Error) -> Option<String> {
    err.chain().find_map(|cause| {
        if let Some(h) = cause.downcast_ref::<Hinted>() {
            return Some(h.hint.clone());
        }
        if let Some(n) = cause.downcast_ref::<NotBuilt>() {
            return Some(n.meanwhile.to_string());
        }
        if let Some(c) = cause.downcast_ref::<ConfigFailed>() {
            return c.0.hint();
        }
        if let Some(e) = cause.downcast_ref::<crate::data::Error>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<crate::pipeline::Error>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<crate::track::Error>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<crate::ml::Error>() {
            return e.hint();
        }
        if let Some(e) = cause.downcast_ref::<crate::settings::Error>() {
            return e.hint();
        }
        None
    })
}

/// Prints `err` as `error:` / `Caused by:` / `hint:` lines on stderr. Every URL in them is
/// redacted (`http://***@host`, `?token=***`), whichever library wrote the message.
pub fn report(printer: &Printer, err: &anyhow::Error) {
    if err.downcast_ref::<Exit>().is_some() {
        return;
    }
    printer.error(&render(printer, err));
}

fn render(printer: &Printer, err: &anyhow::Error) -> String {
    use crate::redact::Redacted;
    let mut text = format!(
        "{} {}\n",
        printer.style_error("error:"),
        Redacted(&err.to_string())
    );
    for cause in err.chain().skip(1) {
        text.push_str(&format!("  Caused by: {}\n", Redacted(&cause.to_string())));
    }
    if let Some(hint) = hint_of(err) {
        text.push_str(&format!(
            "{} {}\n",
            printer.style_hint("hint:"),
            Redacted(&hint)
        ));
    }
    text
}

/// 2 for commands that are not built and internal errors, DVC's 253 outside a repository and
/// 251 for a malformed config or a configuration error of a config-editing command, 1 for
/// everything else a user can fix.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    if let Some(Exit(code)) = err.downcast_ref::<Exit>() {
        return ExitCode::from(*code);
    }
    if err
        .chain()
        .any(|c| c.downcast_ref::<ConfigFailed>().is_some())
    {
        return ExitCode::from(CONFIG_ERROR);
    }
    let data = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<crate::data::Error>());
    match data {
        Some(crate::data::Error::NotARepo(_)) => return ExitCode::from(NOT_A_REPO),
        Some(crate::data::Error::Config { .. }) => return ExitCode::from(CONFIG_ERROR),
        _ => {}
    }
    let internal = err.chain().any(|cause| {
        cause.downcast_ref::<NotBuilt>().is_some()
            || cause
                .downcast_ref::<crate::data::Error>()
                .is_some_and(|e| e.is_internal())
    });
    ExitCode::from(if internal { 2 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_redacts_urls_in_every_line() {
        let err = anyhow::Error::new(Hinted::new(
            "server http://alice:s3cret@h:1 said no",
            "retry with https://h/?token=s3cret",
        ))
        .context("Failed to reach `http://u:s3cret@h`");
        let text = render(&Printer::new(true, false), &err);
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("http://***@h:1 said no"), "{text}");
        assert!(text.contains("?token=***"), "{text}");
    }

    #[test]
    fn exit_codes_follow_dvc_where_scripts_test_them() {
        let code = |e: anyhow::Error| format!("{:?}", exit_code(&e));
        let not_repo = anyhow::Error::new(crate::data::Error::NotARepo("/x".into()));
        assert_eq!(code(not_repo), format!("{:?}", ExitCode::from(253)));
        let config = anyhow::Error::new(crate::data::Error::Config {
            path: "c".into(),
            line: 1,
            message: "bad".into(),
        })
        .context("Failed to read the config");
        assert_eq!(code(config), format!("{:?}", ExitCode::from(251)));
        let quiet = anyhow::Error::new(Exit(1));
        assert_eq!(code(quiet), format!("{:?}", ExitCode::from(1)));
        let other = anyhow::Error::new(crate::data::Error::NoRemote);
        assert_eq!(code(other), format!("{:?}", ExitCode::from(1)));
    }
}
