//! `vintner dag`: the stages of `dvc.yaml` and their dependencies as text, in the exact format
//! of `dvc dag --mermaid` (the default) or `dvc dag --dot`. DVC's ASCII drawing is not
//! reproduced.

use crate::cli::Context;
use crate::data::Repo;
use crate::data::repro;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only this stage and the stages it depends on.
    target: Option<String>,
    /// Graphviz `dot`, as `dvc dag --dot` prints it.
    #[arg(long, conflicts_with = "mermaid")]
    dot: bool,
    /// A Mermaid flowchart, as `dvc dag --mermaid` prints it (the default).
    #[arg(long)]
    mermaid: bool,
    /// The Mermaid flowchart inside a Markdown code block (`dvc dag --md`).
    #[arg(long)]
    md: bool,
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let repo = Repo::find(&ctx.cwd)?;
    let targets: Vec<String> = args.target.iter().cloned().collect();
    let (file, names) =
        repro::resolve_targets(&repo, &ctx.cwd, &targets, true).map_err(super::repro::hinted)?;
    let g = repro::load(&repo, &file).map_err(super::repro::hinted)?;
    let keep: Vec<usize> = match names.first() {
        Some(Some(_)) => {
            // The target and every stage it depends on, frozen or not (DVC's full graph).
            let mut keep = repro::plan(&g, &names, true).map_err(super::repro::hinted)?;
            let mut i = 0;
            while i < keep.len() {
                for &j in &g.upstream[keep[i]] {
                    if !keep.contains(&j) {
                        keep.push(j);
                    }
                }
                i += 1;
            }
            keep.sort_unstable();
            keep
        }
        _ => (0..g.pipeline.stages.len()).collect(),
    };
    let text = if args.dot {
        repro::dot(&g, &keep)
    } else {
        let m = repro::mermaid(&g, &keep);
        if args.md {
            format!("```mermaid\n{m}\n```")
        } else {
            m
        }
    };
    ctx.printer.data(text);
    Ok(())
}
