//! `vintner diff [a_rev] [b_rev]`: data added, deleted, renamed and modified between a git
//! revision (default HEAD) and the workspace or a second revision, printed as `dvc diff` does.

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{Repo, diff};

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
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let mut report = diff::diff(
        &repo,
        args.rev.as_deref(),
        args.to_rev.as_deref(),
        progress.as_ref(),
    )?;
    if args.hide_missing {
        report.not_in_cache = None;
    }
    if !args.show_hash {
        report = report.without_hashes();
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
    let short = |h: &diff::Field| match h {
        diff::Field::One(h) => h.chars().take(8).collect::<String>(),
        diff::Field::Two { old, new } => format!(
            "{}..{}",
            old.chars().take(8).collect::<String>(),
            new.chars().take(8).collect::<String>()
        ),
    };
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
