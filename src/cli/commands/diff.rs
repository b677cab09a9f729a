//! `vintner diff [rev]`: data added, deleted and modified since a git revision (default HEAD).

use super::JsonFlag;
use crate::cli::Context;
use crate::data::{Repo, diff};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Git revision to compare the workspace with (default HEAD).
    rev: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let progress = ctx.printer.progress();
    let report = diff::diff(&repo, args.rev.as_deref(), progress.as_ref())?;
    if args.json.json {
        return ctx.printer.json(&report);
    }
    let sections = [
        ("Added", &report.added),
        ("Deleted", &report.deleted),
        ("Modified", &report.modified),
    ];
    let mut first = true;
    for (title, entries) in sections {
        if entries.is_empty() {
            continue;
        }
        if !first {
            ctx.printer.data("");
        }
        first = false;
        ctx.printer.data(format!("{title}:"));
        for e in entries {
            ctx.printer.data(format!("    {}", e.path));
        }
    }
    let files = |v: &Vec<diff::Entry>| v.iter().filter(|e| !e.path.ends_with('/')).count();
    let (a, d, m) = (
        files(&report.added),
        files(&report.deleted),
        files(&report.modified),
    );
    if a + d + m > 0 || !first {
        ctx.printer.data(format!(
            "\nfiles summary: {a} added, {d} deleted, {m} modified"
        ));
    }
    Ok(())
}
