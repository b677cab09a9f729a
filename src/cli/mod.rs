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

pub use error::{ConfigFailed, Exit, Hinted, NotBuilt, exit_code, report};
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
    about = "Versioned data and models, tracked experiments, a model registry, training and batch \
             inference — compatible with DVC 3 and MLflow 3",
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
    /// Data views beyond `status` (`data status`: committed, uncommitted and unchanged data).
    Data(commands::data::Args),
    /// Show data changes between the workspace and a git revision.
    Diff(commands::diff::Args),
    /// Manage data remotes (`.dvc/config`, `.dvc/config.local`).
    Remote(commands::remote::Args),
    /// Stop tracking outputs: delete their `.dvc` files and `.gitignore` entries.
    #[command(visible_alias = "rm")]
    Remove(commands::remove::Args),
    /// Move a tracked output together with its `.dvc` file and `.gitignore` entry.
    #[command(visible_alias = "mv")]
    Move(commands::mv::Args),
    /// Record workspace changes of tracked outputs in the cache and their `.dvc` files.
    Commit(commands::commit::Args),
    /// Turn read-only links into the cache into writable copies.
    Unprotect(commands::unprotect::Args),
    /// Mark `.dvc` files `frozen: true`.
    Freeze(commands::freeze::Args),
    /// Take `frozen: true` off `.dvc` files.
    Unfreeze(commands::unfreeze::Args),
    /// Show whether paths are excluded by `.dvcignore`, and by which pattern.
    CheckIgnore(commands::check_ignore::Args),
    /// Show or set the cache folder (`cache dir`).
    Cache(commands::cache::Args),
    /// Print the repository's root relative to the current folder.
    Root(commands::root::Args),
    /// Get, set, unset or list DVC config options (`section.option`, `remote.name.option`).
    Config(commands::config::Args),
    /// Show the version, platform, supported remotes and the repository's cache and remotes.
    Doctor(commands::doctor::Args),
    /// Get exact, verified bytes: a registered model or a run's output (`get name@alias`), or a
    /// file or folder of another DVC repository (`get <repo> <path>`, as `dvc get`).
    Get(commands::get::Args),
    /// Version a file or folder of another DVC repository here, recording where it came from.
    Import(commands::import::Args),
    /// Bring imports to the newest commit of the revision they follow.
    Update(commands::update::Args),
    /// List a repository's files and DVC outputs (a local path or `file://` URL).
    Ls(commands::ls::Args),
    /// Take DVC out of this repository, keeping the data as plain files (asks first).
    Destroy(commands::destroy::Args),
    /// Install DVC's git hooks and merge driver, as `dvc install` writes them.
    Install(commands::install::Args),
    /// Train a model on the versioned data, version and push it, and record the run.
    Train(commands::train::Args),
    /// Cross-validate a model family on CSV files without recording anything.
    Evaluate(commands::evaluate::Args),
    /// Register the best run's model in the model registry and move an alias to it.
    Register(commands::register::Args),
    /// Predict with a registered or tracked model, pulling exactly its verified bytes.
    Infer(commands::infer::Args),
    /// Run any command as a tracked MLflow run; version and push its outputs when it succeeds.
    Run(commands::run::Args),
    /// Retrain a recorded run on its exact data version and check the metrics match.
    Reproduce(commands::reproduce::Args),
    /// Run the `dvc.yaml` stages that changed and write `dvc.lock` as DVC does.
    Repro(commands::repro::Args),
    /// Show the stages of `dvc.yaml` and their dependencies (Mermaid or dot).
    Dag(commands::dag::Args),
    /// Serve predictions over HTTP with MLflow's scoring protocol.
    Serve(commands::serve::Args),
    /// List or create experiments in the tracking store.
    Experiments(commands::experiments::Args),
    /// List, show and compare tracked runs.
    Runs(commands::runs::Args),
    /// List and show registered models, and move their aliases.
    Models(commands::models::Args),
    /// List and download run and model artifacts (`runs:/…`, `models:/…`, `s3://…`, …).
    Artifacts(commands::artifacts::Args),
    /// Browse runs, metric charts, the registry and lineage in a web browser (read-only).
    Ui(commands::ui::Args),
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
    match guarded(|| run(cli.command, &ctx)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(err)) => {
            if let Some(commands::ExitWith(code)) = err.downcast_ref() {
                return ExitCode::from(*code);
            }
            report(&ctx.printer, &err);
            // Work that failed once Ctrl-C or SIGTERM arrived stopped because of it: exit as a
            // shell expects after that signal (130, 143).
            match crate::interrupt::requested() {
                Some(interrupted) => ExitCode::from(interrupted.exit_code()),
                None => exit_code(&err),
            }
        }
        Err(panic) => {
            ctx.printer.error(&format!(
                "{} internal error: {panic}\n{} this is a bug in vintner; please report it with \
                 the command you ran (RUST_BACKTRACE=1 adds a backtrace)\n",
                ctx.printer.style_error("error:"),
                ctx.printer.style_hint("hint:"),
            ));
            ExitCode::from(2)
        }
    }
}

/// What the last panic said and where, kept by the panic hook for [`guarded`].
static PANIC_MESSAGE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Runs `work`, turning a panic (a bug) into `Err` with its message and location instead of
/// Rust's default report, so that the user sees `error: internal error …` and exit code 2.
fn guarded<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into());
        let mut text = match info.location() {
            Some(l) => format!("{message} (at {}:{})", l.file(), l.line()),
            None => message,
        };
        let trace = std::backtrace::Backtrace::capture();
        if trace.status() == std::backtrace::BacktraceStatus::Captured {
            text.push_str(&format!("\n{trace}"));
        }
        if let Ok(mut slot) = PANIC_MESSAGE.lock() {
            // The first panic is the cause; later ones (other threads unwinding) are echoes.
            slot.get_or_insert(text);
        }
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work));
    let _ = std::panic::take_hook();
    outcome.map_err(|_| {
        PANIC_MESSAGE
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .unwrap_or_else(|| "panic".into())
    })
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
        Command::Data(args) => commands::data::run(args, ctx),
        Command::Diff(args) => commands::diff::run(args, ctx),
        Command::Remote(args) => commands::remote::run(args, ctx),
        Command::Remove(args) => commands::remove::run(args, ctx),
        Command::Move(args) => commands::mv::run(args, ctx),
        Command::Commit(args) => commands::commit::run(args, ctx),
        Command::Unprotect(args) => commands::unprotect::run(args, ctx),
        Command::Freeze(args) => commands::freeze::run(args, ctx),
        Command::Unfreeze(args) => commands::unfreeze::run(args, ctx),
        Command::CheckIgnore(args) => commands::check_ignore::run(args, ctx),
        Command::Cache(args) => commands::cache::run(args, ctx),
        Command::Root(args) => commands::root::run(args, ctx),
        Command::Config(args) => commands::config::run(args, ctx),
        Command::Doctor(args) => commands::doctor::run(args, ctx),
        Command::Get(args) => commands::get::run(args, ctx),
        Command::Import(args) => commands::import::run(args, ctx),
        Command::Update(args) => commands::update::run(args, ctx),
        Command::Ls(args) => commands::ls::run(args, ctx),
        Command::Destroy(args) => commands::destroy::run(args, ctx),
        Command::Install(args) => commands::install::run(args, ctx),
        Command::Train(args) => commands::train::run(args, ctx),
        Command::Evaluate(args) => commands::evaluate::run(args, ctx),
        Command::Register(args) => commands::register::run(args, ctx),
        Command::Infer(args) => commands::infer::run(args, ctx),
        Command::Run(args) => commands::run::run(args, ctx),
        Command::Reproduce(args) => commands::reproduce::run(args, ctx),
        Command::Repro(args) => commands::repro::run(args, ctx),
        Command::Dag(args) => commands::dag::run(args, ctx),
        Command::Serve(args) => commands::serve::run(args, ctx),
        Command::Experiments(args) => commands::experiments::run(args, ctx),
        Command::Runs(args) => commands::runs::run(args, ctx),
        Command::Models(args) => commands::models::run(args, ctx),
        Command::Artifacts(args) => commands::artifacts::run(args, ctx),
        Command::Ui(args) => commands::ui::run(args, ctx),
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

    #[test]
    fn a_panic_becomes_an_internal_error_with_its_message_and_place() {
        let err = guarded(|| -> u8 { panic!("index out of range") }).unwrap_err();
        assert!(
            err.starts_with("index out of range (at src/cli/mod.rs:"),
            "{err}"
        );
        assert_eq!(guarded(|| 7), Ok(7));
    }
}
