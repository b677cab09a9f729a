//! The single place that decides what goes to stdout (data: tables, ids, JSON) and what goes to
//! stderr (status, warnings, progress). A closed stdout (`vintner runs list | head`) is not an error.
//! Everything it writes, and every log line ([`LogWriter`]), goes through [`crate::redact::text`]:
//! a URL's credentials and secret query values never reach a terminal, a pipe or `--json`.

use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::progress::{Progress, Silent};
use crate::redact;

/// Writes command output; see the module documentation.
pub struct Printer {
    quiet: bool,
    progress: bool,
    colors: bool,
}

impl Printer {
    pub fn new(quiet: bool, progress: bool) -> Self {
        let colors = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            && console::Term::stderr().features().colors_supported();
        Self {
            quiet,
            progress,
            colors,
        }
    }

    /// Whether `--quiet` was given (`status -q` then answers with its exit code alone).
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// Data for stdout, followed by a newline.
    pub fn data(&self, text: impl AsRef<str>) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", redact::text(text.as_ref()));
    }

    /// A line of a report on stdout that `--quiet` hides, as DVC's `A       path` lines.
    pub fn report(&self, text: impl AsRef<str>) {
        if !self.quiet {
            self.data(text);
        }
    }

    /// A value as pretty JSON on stdout (the `--json` contract: fields are added, never renamed).
    pub fn json<T: Serialize + ?Sized>(&self, value: &T) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(value)?;
        self.data(text);
        Ok(())
    }

    /// A status line for a person on stderr (hidden by `--quiet`).
    pub fn status(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", redact::text(text.as_ref()));
        }
    }

    /// A warning on stderr (hidden by `--quiet`).
    pub fn warn(&self, text: impl AsRef<str>) {
        if !self.quiet {
            eprintln!(
                "{} {}",
                self.paint("warning:", console::Color::Yellow),
                redact::text(text.as_ref())
            );
        }
    }

    /// Already formatted error text on stderr (never hidden).
    pub(crate) fn error(&self, text: &str) {
        let _ = std::io::stderr()
            .lock()
            .write_all(redact::text(text).as_bytes());
    }

    pub(crate) fn style_error(&self, text: &str) -> String {
        self.paint(text, console::Color::Red)
    }

    pub(crate) fn style_hint(&self, text: &str) -> String {
        self.paint(text, console::Color::Cyan)
    }

    fn paint(&self, text: &str, color: console::Color) -> String {
        if self.colors {
            console::style(text).fg(color).bold().to_string()
        } else {
            text.to_string()
        }
    }

    /// A progress sink: bars on a terminal, nothing otherwise.
    pub fn progress(&self) -> Box<dyn Progress> {
        if self.progress {
            Box::new(Bars::default())
        } else {
            Box::new(Silent)
        }
    }
}

/// [`Progress`] drawn with indicatif on stderr.
#[derive(Default)]
struct Bars {
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for Bars {
    fn begin(&self, what: &str, total: Option<u64>) {
        let bar = match total {
            Some(n) => ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr())
                .with_style(
                    ProgressStyle::with_template(
                        "{msg:>12} [{bar:30}] {human_pos}/{human_len} ({eta})",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} {human_pos}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        };
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut slot) = self.bar.lock()
            && let Some(old) = slot.replace(bar)
        {
            old.finish_and_clear();
        }
    }

    fn advance(&self, n: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(n);
        }
    }

    fn end(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }

    fn note(&self, message: &str) {
        let message = redact::text(message);
        let message = message.as_ref();
        if let Ok(slot) = self.bar.lock() {
            match slot.as_ref() {
                Some(bar) => bar.println(message),
                None => eprintln!("{message}"),
            }
        }
    }
}

/// Where log lines (`-v`, `RUST_LOG`) go: stderr, each line redacted like everything the
/// [`Printer`] writes, whichever crate logged it (an HTTP client logging the URL it connects to).
#[derive(Clone, Copy, Default)]
pub struct LogWriter;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;

    fn make_writer(&'a self) -> LogLine {
        LogLine::default()
    }
}

/// One formatted log event, written to stderr redacted when it is flushed or dropped.
#[derive(Default)]
pub struct LogLine {
    buf: Vec<u8>,
}

impl Write for LogLine {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        self.buf.clear();
        std::io::stderr()
            .lock()
            .write_all(redact::text(&text).as_bytes())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}
