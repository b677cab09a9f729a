//! The command line: clap types, settings resolution, error reporting and the printer. The only
//! layer that writes to stdout/stderr; one file per command under `commands/`.

pub mod commands;
mod error;
mod printer;
pub mod tracking;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::{ConfigFailed, Hinted, NotBuilt, exit_code, report};
pub use printer::Printer;

/// What every command receives besides its own arguments.
pub struct Context {
    /// Where the command runs (the current directory unless `-C` was given).
    pub cwd: PathBuf,
    /// Writes data to stdout and status to stderr.
    pub printer: Printer,
}

#[derive(Debug, Parser)]
#[command(
    name = "vintner",
    version,
    about = "Versioned data and models, tracked experiments, a model registry, training and serving — \
             compatible with DVC 3 and MLflow 3",
    long_about = None,
    propagate_version = true,
    arg_required_else_help = true
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command accepts.
#[derive(Debug, clap::Args)]
struct GlobalArgs {
    /// More output on stderr (-v: debug, -vv: trace); RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,
    /// Never draw progress bars (they are drawn only when stderr is a terminal anyway).
    #[arg(long, global = true)]
    no_progress: bool,
    /// Run as if vintner was started in this directory.
    #[arg(short = 'C', value_name = "DIR", global = true)]
    directory: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make this folder a vintner project: git repository, DVC layout, vintner.toml, data remote.
    Init(commands::init::Args),
    /// Version files or folders: hash them into the cache and write `<name>.dvc` files.
    Add(commands::add::Args),
    /// Show what changed in the workspace against the `.dvc` files (or, with -c, the remote).
    Status(commands::status::Args),
    /// Upload cached data of the `.dvc` files to the data remote.
    Push(commands::push::Args),
    /// Download data from the remote into the cache and check it out into the workspace.
    Pull(commands::pull::Args),
    /// Download data from the remote into the cache only.
    Fetch(commands::fetch::Args),
    /// Put the workspace in the state the `.dvc` files describe, from the cache.
    Checkout(commands::checkout::Args),
    /// Remove cached objects that no `.dvc` file in the workspace references.
    Gc(commands::gc::Args),
    /// Show data changes between the workspace and a git revision.
    Diff(commands::diff::Args),
    /// Manage data remotes (`.dvc/config`, `.dvc/config.local`).
    Remote(commands::remote::Args),
    /// Train a model on the versioned data, version and push it, and record the run.
    Train(commands::train::Args),
    /// Cross-validate a model family on CSV files without recording anything.
    Evaluate(commands::evaluate::Args),
    /// Register the best run's model in the model registry and move an alias to it.
    Register(commands::register::Args),
    /// Predict with a registered or tracked model, pulling exactly its verified bytes.
    Infer(commands::infer::Args),
    /// Retrain a recorded run on its exact data version and check the metrics match.
    Reproduce(commands::reproduce::Args),
    /// Serve predictions over HTTP with MLflow's scoring protocol.
    Serve(commands::serve::Args),
    /// List or create experiments in the tracking store.
    Experiments(commands::experiments::Args),
    /// List, show and compare tracked runs.
    Runs(commands::runs::Args),
    /// List and show registered models, and move their aliases.
    Models(commands::models::Args),
}

/// Runs the command line and turns the outcome into the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // clap prints help/version to stdout (exit 0) and usage errors to stderr (exit 2).
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() { 2 } else { 0 });
        }
    };
    init_logging(&cli.global);
    let printer = Printer::new(
        cli.global.quiet,
        !cli.global.no_progress && !cli.global.quiet && std::io::stderr().is_terminal(),
    );
    let cwd = match resolve_cwd(cli.global.directory.as_deref()) {
        Ok(cwd) => cwd,
        Err(err) => {
            report(&printer, &err);
            return exit_code(&err);
        }
    };
    let ctx = Context { cwd, printer };
    match run(cli.command, &ctx) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&ctx.printer, &err);
            exit_code(&err)
        }
    }
}

fn run(command: Command, ctx: &Context) -> anyhow::Result<()> {
    match command {
        Command::Init(args) => commands::init::run(args, ctx),
        Command::Add(args) => commands::add::run(args, ctx),
        Command::Status(args) => commands::status::run(args, ctx),
        Command::Push(args) => commands::push::run(args, ctx),
        Command::Pull(args) => commands::pull::run(args, ctx),
        Command::Fetch(args) => commands::fetch::run(args, ctx),
        Command::Checkout(args) => commands::checkout::run(args, ctx),
        Command::Gc(args) => commands::gc::run(args, ctx),
        Command::Diff(args) => commands::diff::run(args, ctx),
        Command::Remote(args) => commands::remote::run(args, ctx),
        Command::Train(args) => commands::train::run(args, ctx),
        Command::Evaluate(args) => commands::evaluate::run(args, ctx),
        Command::Register(args) => commands::register::run(args, ctx),
        Command::Infer(args) => commands::infer::run(args, ctx),
        Command::Reproduce(args) => commands::reproduce::run(args, ctx),
        Command::Serve(args) => commands::serve::run(args, ctx),
        Command::Experiments(args) => commands::experiments::run(args, ctx),
        Command::Runs(args) => commands::runs::run(args, ctx),
        Command::Models(args) => commands::models::run(args, ctx),
    }
}

fn resolve_cwd(directory: Option<&std::path::Path>) -> anyhow::Result<PathBuf> {
    use anyhow::Context as _;
    let cwd = std::env::current_dir().context("Failed to read the current directory")?;
    Ok(match directory {
        Some(dir) => {
            let dir = cwd.join(dir);
            if !dir.is_dir() {
                return Err(Hinted::new(
                    format!("`{}` is not a directory", dir.display()),
                    "give `-C` an existing folder",
                )
                .into());
            }
            dir
        }
        None => cwd,
    })
}

fn init_logging(global: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "vintner=debug,info",
        (false, _) => "vintner=trace,debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(printer::LogWriter)
        .with_target(false)
        .without_time()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
