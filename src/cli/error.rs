//! How failures reach a person: `error:` / `Caused by:` / `hint:` on stderr, and the exit code
//! (1 for a user or input error, 2 for usage, unbuilt commands and internal errors).

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

/// 2 for commands that are not built and internal errors, 251 for a configuration error of a
/// config-editing command (as DVC), 1 for everything else a user can fix.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    if err
        .chain()
        .any(|c| c.downcast_ref::<ConfigFailed>().is_some())
    {
        return ExitCode::from(251);
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
}
