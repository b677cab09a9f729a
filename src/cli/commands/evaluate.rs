//! `vintner evaluate`: cross-validates a model family on CSV files and prints the per-fold
//! metrics (or `--json`), recording nothing. The quick way to compare hyperparameters, or to run
//! on folds another tool made (`--cv file:folds.csv`).

use std::path::PathBuf;

use anyhow::Context as _;

use super::JsonFlag;
use crate::cli::{Context, Hinted};
use crate::ml::{
    self, CvOptions, CvScheme, Dataset, DatasetOptions, Imputation, ModelSpec, SchemeSpec,
    cross_validate, fold_assignments, parse_scheme, read_folds_file, write_folds_file,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV files (several are stacked with a one-hot `source_<file stem>` column per file).
    #[arg(required = true, value_name = "CSV")]
    inputs: Vec<PathBuf>,
    /// Model family: extra-trees, random-forest, gbm, mlp, elastic-net or blend.
    #[arg(short, long, default_value = "extra-trees")]
    model: String,
    /// Hyperparameter (repeatable): -P n_estimators=500.
    #[arg(short = 'P', long = "param", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    params: Vec<(String, String)>,
    /// grouped | kfold | holdout[:fraction] | column:<name> | file:<folds.csv>.
    #[arg(long, default_value = "grouped", value_name = "SCHEME")]
    cv: String,
    /// Number of folds (k) for grouped and kfold.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Repeat the k-fold split with different shuffles.
    #[arg(long, default_value_t = 1)]
    repeats: usize,
    /// Seeds the split and the models.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Also write the fold of every row (one column per repeat) to this CSV, for other tools.
    #[arg(long, value_name = "CSV")]
    export_folds: Option<PathBuf>,
    /// The column to predict.
    #[arg(long, default_value = "quality")]
    target: String,
    /// Field separator (detected from the header by default).
    #[arg(long, value_name = "CHAR")]
    separator: Option<char>,
    /// Fill missing feature values with `mean`, `median` or a number (default: fail).
    #[arg(long, value_name = "HOW")]
    impute: Option<String>,
    #[command(flatten)]
    json: JsonFlag,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

fn imputation(text: Option<&str>) -> anyhow::Result<Imputation> {
    Ok(match text {
        None => Imputation::Error,
        Some("mean") => Imputation::Mean,
        Some("median") => Imputation::Median,
        Some(t) => match t.parse::<f64>() {
            Ok(v) if v.is_finite() => Imputation::Constant(v),
            _ => {
                return Err(Hinted::new(
                    format!("`--impute {t}` is not `mean`, `median` or a number"),
                    "use e.g. `--impute mean`",
                )
                .into());
            }
        },
    })
}

pub fn run(args: Args, ctx: &Context) -> anyhow::Result<()> {
    let spec = ModelSpec::parse(&args.model, &args.params).map_err(ml::Error::from)?;
    let scheme = parse_scheme(&args.cv).map_err(ml::Error::from)?;
    let separator = match args.separator {
        None => None,
        Some(c) if c.is_ascii() => Some(c as u8),
        Some(c) => {
            return Err(Hinted::new(
                format!("`--separator {c}` is not a single ASCII character"),
                "use `;`, `,` or a tab",
            )
            .into());
        }
    };
    let options = DatasetOptions {
        target: args.target.clone(),
        separator,
        missing: imputation(args.impute.as_deref())?,
        source_columns: true,
        folds_column: match &scheme {
            SchemeSpec::Column(c) => Some(c.clone()),
            _ => None,
        },
    };
    let files: Vec<PathBuf> = args.inputs.iter().map(|f| ctx.cwd.join(f)).collect();
    let data = Dataset::load(&files, &options).map_err(ml::Error::from)?;
    let scheme = match scheme {
        SchemeSpec::Scheme(s) => s,
        SchemeSpec::Column(_) => CvScheme::Given {
            assignments: Vec::new(),
        },
        SchemeSpec::File(path) => CvScheme::Given {
            assignments: read_folds_file(&ctx.cwd.join(path)).map_err(ml::Error::from)?,
        },
    };
    let cv = CvOptions {
        scheme,
        folds: args.folds,
        repeats: args.repeats,
        seed: args.seed,
    };
    if let Some(path) = &args.export_folds {
        let path = ctx.cwd.join(path);
        let assignments = fold_assignments(&data, &cv).map_err(ml::Error::from)?;
        write_folds_file(&path, &assignments)
            .map_err(ml::Error::from)
            .with_context(|| format!("Failed to export the folds to `{}`", path.display()))?;
    }
    ctx.printer.status(format!(
        "Evaluating {} on {} rows × {} features ({} CV, seed {})",
        spec.family,
        data.len(),
        data.feature_names.len(),
        args.cv,
        args.seed
    ));
    let progress = ctx.printer.progress();
    let report = cross_validate(&spec, &data, &cv, progress.as_ref()).map_err(ml::Error::from)?;
    if args.json.json {
        return ctx.printer.json(&report);
    }
    ctx.printer.data(report.fold_table().to_text().trim_end());
    ctx.printer.status(format!(
        "mean RMSE {:.4} ± {:.4}, MAE {:.4}, R² {:.4}, rounded accuracy {:.1} %",
        report.mean.rmse,
        report.std.rmse,
        report.mean.mae,
        report.mean.r2,
        report.mean.acc_round * 100.0
    ));
    Ok(())
}
