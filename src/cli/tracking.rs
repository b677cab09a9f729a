//! What the tracking commands (`experiments`, `runs`, `models`) share: the `--tracking-uri` flag,
//! opening the store it resolves to (commands that only read never create one), and the plain
//! tables and timestamps they print.

use std::path::Path;

use anyhow::Context as _;
use comfy_table::{CellAlignment, Table, presets};

use crate::cli::Context;
use crate::track::{self, Access, Tracker, TrackingUri, UriSource};

/// `--tracking-uri`, for every tracking command.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TrackingArgs {
    /// MLflow tracking URI: `http(s)://host:port` or `sqlite:///path/mlflow.db` [default:
    /// MLFLOW_TRACKING_URI, else VINTNER_TRACKING_URI, else `[tracking] uri` in vintner.toml, else
    /// mlflow.db at the repository root]
    #[arg(long, value_name = "URI")]
    pub tracking_uri: Option<String>,
}

/// Resolves the URI (flag > MLFLOW_TRACKING_URI > vintner.toml > default) and opens the store
/// to read: a missing `mlflow.db` is an error, never created.
pub fn open(args: &TrackingArgs, ctx: &Context) -> anyhow::Result<Box<dyn Tracker>> {
    open_args(args, ctx, Access::Read)
}

/// [`open`] for a command that records something: a missing `mlflow.db` is created.
pub fn open_writable(args: &TrackingArgs, ctx: &Context) -> anyhow::Result<Box<dyn Tracker>> {
    open_args(args, ctx, Access::Write)
}

/// [`open`] for a command that changes what a store holds (deletes, tags, renames): the store
/// must exist, as for reading, and is then opened to write.
pub fn open_existing_writable(
    args: &TrackingArgs,
    ctx: &Context,
) -> anyhow::Result<Box<dyn Tracker>> {
    drop(open_args(args, ctx, Access::Read)?);
    open_args(args, ctx, Access::Write)
}

fn open_args(
    args: &TrackingArgs,
    ctx: &Context,
    access: Access,
) -> anyhow::Result<Box<dyn Tracker>> {
    let root = crate::git::toplevel(&ctx.cwd)
        .ok()
        .flatten()
        .unwrap_or_else(|| ctx.cwd.clone());
    let settings = crate::settings::Settings::load(&root)?;
    let uri = resolve_at(args.tracking_uri.as_deref(), &settings, &root, ctx)?;
    open_uri(&uri, access)
}

/// Opens the store to read, for a project whose root and settings the caller already has.
pub fn open_at(
    flag: Option<&str>,
    settings: &crate::settings::Settings,
    root: &Path,
    ctx: &Context,
) -> anyhow::Result<Box<dyn Tracker>> {
    open_uri(&resolve_at(flag, settings, root, ctx)?, Access::Read)
}

/// [`open_at`] for a command that records something: a missing `mlflow.db` is created.
pub fn open_at_writable(
    flag: Option<&str>,
    settings: &crate::settings::Settings,
    root: &Path,
    ctx: &Context,
) -> anyhow::Result<Box<dyn Tracker>> {
    open_uri(&resolve_at(flag, settings, root, ctx)?, Access::Write)
}

/// The tracking URI in force: flag > MLFLOW_TRACKING_URI > vintner.toml > `mlflow.db` at `root`.
pub fn resolve_at(
    flag: Option<&str>,
    settings: &crate::settings::Settings,
    root: &Path,
    ctx: &Context,
) -> anyhow::Result<TrackingUri> {
    let uri = TrackingUri::resolve(
        flag,
        settings.tracking.uri.as_deref(),
        root,
        &ctx.cwd,
        &|k| std::env::var(k).ok(),
    )?;
    tracing::debug!("tracking URI {uri} (from {})", uri.source().describe());
    Ok(uri)
}

/// Opens a resolved store; the error names the URI and where it came from.
pub fn open_uri(uri: &TrackingUri, access: Access) -> anyhow::Result<Box<dyn Tracker>> {
    track::open_resolved(uri, access).with_context(|| {
        format!(
            "Failed to open the tracking store `{uri}` ({})",
            source_words(uri.source())
        )
    })
}

/// Where a URI came from, in words for an error message.
fn source_words(source: UriSource) -> &'static str {
    match source {
        UriSource::Flag => "from --tracking-uri",
        UriSource::Env => "from MLFLOW_TRACKING_URI",
        UriSource::Config => "from `[tracking] uri` in vintner.toml",
        UriSource::Default => {
            "the default: no --tracking-uri, MLFLOW_TRACKING_URI or `[tracking] uri` in vintner.toml"
        }
    }
}

/// Finds an experiment by id or by name.
pub fn find_experiment(
    tracker: &dyn Tracker,
    name_or_id: &str,
) -> anyhow::Result<track::Experiment> {
    // An all-digit argument that is an existing id means that id (as `mlflow runs list
    // --experiment-id`); otherwise it is a name.
    if !name_or_id.is_empty() && name_or_id.chars().all(|c| c.is_ascii_digit()) {
        match tracker.get_experiment(name_or_id) {
            Ok(e) => return Ok(e),
            Err(track::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(e) = tracker.get_experiment_by_name(name_or_id)? {
        return Ok(e);
    }
    Err(crate::cli::Hinted::new(
        format!(
            "No experiment named or numbered `{name_or_id}` in {}",
            tracker.uri()
        ),
        "`vintner experiments list` shows the experiments",
    )
    .into())
}

/// Text from a store made safe for a terminal: control characters (an ANSI escape in a tag
/// value, a carriage return) are shown escaped (`\u{1b}`) instead of acting on the terminal;
/// newlines and tabs stay.
pub fn printable(s: &str) -> String {
    if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return s.to_string();
    }
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A plain aligned table: no borders, a header row, the given columns right-aligned.
pub fn table(header: &[&str], rows: Vec<Vec<String>>, right_aligned: &[usize]) -> String {
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    t.set_header(header.to_vec());
    for row in rows {
        t.add_row(row.iter().map(|c| printable(c)).collect::<Vec<_>>());
    }
    for col in t.column_iter_mut() {
        col.set_padding((0, 2));
    }
    for &i in right_aligned {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t.to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `2026-11-28 13:05:09` (UTC) from epoch milliseconds.
pub fn utc(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

/// A metric value for a table: NaN and ±Inf spelled out, otherwise up to 6 significant digits.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() || v.abs() >= 1.0e300 {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else if v != 0.0 && (v.abs() >= 1.0e6 || v.abs() < 1.0e-4) {
        format!("{v:.4e}")
    } else {
        let s = format!("{v:.6}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s.is_empty() || s == "-" {
            "0".into()
        } else {
            s.to_string()
        }
    }
}

/// Seconds between start and end, or `-`.
pub fn duration(start: Option<i64>, end: Option<i64>) -> String {
    match (start, end) {
        (Some(s), Some(e)) if e >= s => format!("{:.1}", (e - s) as f64 / 1000.0),
        _ => "-".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_never_reach_the_terminal() {
        assert_eq!(
            printable("\u{1b}[31mred\u{1b}[0m"),
            "\\u{1b}[31mred\\u{1b}[0m"
        );
        assert_eq!(printable("a\rb\tc\nd"), "a\\u{d}b\tc\nd");
        let t = table(
            &["Key", "Value"],
            vec![vec!["k".into(), "\u{1b}]0;pwned\u{7}".into()]],
            &[],
        );
        assert!(!t.contains('\u{1b}') && !t.contains('\u{7}'), "{t:?}");
    }

    #[test]
    fn utc_formats_epoch_millis() {
        assert_eq!(utc(Some(0)), "1970-01-01 00:00:00");
        assert_eq!(utc(Some(1_795_867_157_443)), "2026-11-28 11:59:17");
        assert_eq!(utc(None), "-");
    }

    #[test]
    fn numbers_are_short_and_spell_out_nan() {
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(1.0), "1");
        assert_eq!(number(f64::NAN), "NaN");
        assert_eq!(number(1.7976931348623157e308), "inf");
        assert_eq!(number(0.123456789), "0.123457");
        assert_eq!(number(1.5e-7), "1.5000e-7");
    }
}
