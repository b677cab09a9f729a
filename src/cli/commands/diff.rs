//! `vintner diff [a_rev] [b_rev]`: data added, deleted, renamed and modified between a git
//! revision (default HEAD) and the workspace or a second revision, printed as `dvc diff` does.

use std::path::PathBuf;

use super::JsonFlag;
use crate::cli::{Context, Hinted};
use crate::data::{Repo, diff, index};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Git revision to compare from (default HEAD).
    rev: Option<String>,
    /// Git revision to compare to (default: the workspace).
    to_rev: Option<String>,
    /// Show the hashes (the first 8 characters in text).
    #[arg(long)]
    show_hash: bool,
    /// Leave out the recorded objects missing from the cache.
    #[arg(long)]
    hide_missing: bool,
    /// Only these outputs, or paths inside tracked folders (relative to the current folder).
    #[arg(long, num_args = 1.., value_name = "TARGET")]
    targets: Vec<PathBuf>,
    /// Print a Markdown table (`| Status | Path |`).
    #[arg(long = "md", conflicts_with = "json")]
    markdown: bool,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    // A revision git does not know is the user's to fix: say so, not how git said it.
    for rev in [&args.rev, &args.to_rev].into_iter().flatten() {
        if crate::git::rev_parse(&repo.root, rev).is_err() && rev != "HEAD" {
            return Err(Hinted::new(
                format!("unknown Git revision '{rev}'"),
                "name a commit, branch or tag (`git log --oneline --all` lists them)",
            )
            .into());
        }
    }
    let progress = ctx.printer.progress();
    let mut report = diff::diff(
        &repo,
        args.rev.as_deref(),
        args.to_rev.as_deref(),
        progress.as_ref(),
    )?;
    if args.hide_missing || args.to_rev.is_some() {
        report.not_in_cache = None;
    }
    if !args.targets.is_empty() {
        let wanted: Vec<String> = args
            .targets
            .iter()
            .map(|t| {
                let abs = crate::data::fsutil::normalize(&ctx.cwd.join(t));
                index::shown_from(&abs, &repo.root)
            })
            .collect();
        report = report.only(&wanted);
    }
    if !args.show_hash {
        report = report.without_hashes();
    }
    if args.markdown {
        return print_markdown(ctx, &report, args.show_hash);
    }
    if args.json.json {
        if report.is_empty() {
            return ctx.printer.json(&serde_json::json!({}));
        }
        return ctx.printer.json(&report);
    }
    let mut sections = vec![
        ("added", &report.added),
        ("deleted", &report.deleted),
        ("renamed", &report.renamed),
        ("modified", &report.modified),
    ];
    if let Some(missing) = &report.not_in_cache {
        sections.push(("not in cache", missing));
    }
    let mut summary = Vec::new();
    for (state, entries) in sections {
        if entries.is_empty() {
            continue;
        }
        let mut title = state.to_string();
        title[..1].make_ascii_uppercase();
        ctx.printer.data(format!("{title}:"));
        let mut files = 0;
        for e in entries.iter() {
            let path = e.path.to_string();
            files += usize::from(!path.ends_with('/'));
            match &e.hash {
                Some(h) => ctx.printer.data(format!("    {}  {path}", short(h))),
                None => ctx.printer.data(format!("    {path}")),
            }
        }
        ctx.printer.data("");
        if files > 0 {
            summary.push(format!("{files} {state}"));
        }
    }
    if !summary.is_empty() {
        ctx.printer
            .data(format!("files summary: {}", summary.join(", ")));
    }
    Ok(())
}

/// The first 8 characters of a hash, or `old..new` of a pair, as DVC shows them.
fn short(h: &diff::Field) -> String {
    match h {
        diff::Field::One(h) => h.chars().take(8).collect::<String>(),
        diff::Field::Two { old, new } => format!(
            "{}..{}",
            old.chars().take(8).collect::<String>(),
            new.chars().take(8).collect::<String>()
        ),
    }
}

/// `dvc diff --md`: a GitHub-style table of status (and hash) and path, then a blank line.
fn print_markdown(ctx: &Context, report: &diff::DiffReport, show_hash: bool) -> anyhow::Result<()> {
    let mut sections = vec![
        ("added", &report.added),
        ("deleted", &report.deleted),
        ("renamed", &report.renamed),
        ("modified", &report.modified),
    ];
    if let Some(missing) = &report.not_in_cache {
        sections.push(("not in cache", missing));
    }
    let mut rows: Vec<Vec<String>> = vec![if show_hash {
        vec!["Status".into(), "Hash".into(), "Path".into()]
    } else {
        vec!["Status".into(), "Path".into()]
    }];
    for (state, entries) in sections {
        for e in entries {
            let mut row = vec![state.to_string()];
            if show_hash {
                row.push(e.hash.as_ref().map(short).unwrap_or_default());
            }
            row.push(e.path.to_string());
            rows.push(row);
        }
    }
    // As `tabulate` sizes them: the widest cell, and at least the header plus two.
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| {
            let cells = rows[1..].iter().map(|r| r[c].chars().count()).max();
            cells.unwrap_or(0).max(rows[0][c].chars().count() + 2)
        })
        .collect();
    let line = |row: &[String]| {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!(" {cell:<w$} "))
            .collect();
        format!("|{}|", cells.join("|"))
    };
    ctx.printer.data(line(&rows[0]));
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    ctx.printer.data(format!("|{}|", rule.join("|")));
    for row in &rows[1..] {
        ctx.printer.data(line(row));
    }
    ctx.printer.data("");
    Ok(())
}
