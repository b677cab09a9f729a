//! Tabular datasets from CSV files: separator detection, a configured target column, several files
//! stacked with a one-hot source column per file, a recorded schema, and errors that name the
//! file, line and column. Reads only the files it is given; knows nothing of versioning.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

/// A dense row-major matrix of `f64`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Matrix {
    rows: usize,
    cols: usize,
    data: Vec<f64>,
}

impl Matrix {
    /// A matrix from row-major data; `None` if `data.len() != rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Option<Self> {
        (data.len() == rows * cols).then_some(Self { rows, cols, data })
    }

    /// A matrix from rows; `None` if the rows differ in length.
    pub fn from_rows(rows: &[Vec<f64>]) -> Option<Self> {
        let cols = rows.first().map_or(0, Vec::len);
        if rows.iter().any(|r| r.len() != cols) {
            return None;
        }
        Some(Self {
            rows: rows.len(),
            cols,
            data: rows.iter().flatten().copied().collect(),
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.data[i * self.cols + j]
    }

    pub fn as_slice(&self) -> &[f64] {
        &self.data
    }

    /// The same shape with `f` applied to every value.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Matrix {
        Matrix {
            rows: self.rows,
            cols: self.cols,
            data: self.data.iter().map(|&v| f(v)).collect(),
        }
    }

    /// The rows at `indices`, in that order.
    pub fn select_rows(&self, indices: &[usize]) -> Matrix {
        let mut data = Vec::with_capacity(indices.len() * self.cols);
        for &i in indices {
            data.extend_from_slice(self.row(i));
        }
        Matrix {
            rows: indices.len(),
            cols: self.cols,
            data,
        }
    }

    /// Column-major copy: `cols` vectors of `rows` values (what tree learners scan).
    pub fn columns(&self) -> Vec<Vec<f64>> {
        (0..self.cols)
            .map(|j| (0..self.rows).map(|i| self.get(i, j)).collect())
            .collect()
    }
}

/// What to do with an empty or `NA` cell in a feature column.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "strategy", content = "value")]
pub enum Imputation {
    /// Fail with the file, line and column of the first missing value (the default).
    #[default]
    Error,
    /// Replace with the column mean over all files.
    Mean,
    /// Replace with the column median over all files.
    Median,
    /// Replace with a constant.
    Constant(f64),
}

/// How to read the CSV files.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetOptions {
    /// The column to predict.
    pub target: String,
    /// The field separator; `None` detects `;`, `,` or tab from the header line.
    pub separator: Option<u8>,
    /// Missing feature values (missing targets are always an error).
    pub missing: Imputation,
    /// Add a 0/1 column `source_<file stem>` per file when more than one file is given.
    pub source_columns: bool,
    /// A column holding fold numbers (0-based) for cross-validation, excluded from the features.
    pub folds_column: Option<String>,
}

impl DatasetOptions {
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            separator: None,
            missing: Imputation::Error,
            source_columns: true,
            folds_column: None,
        }
    }
}

/// The role of a column in the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnRole {
    Feature,
    Target,
    /// The one-hot source column added per input file.
    Source,
}

/// Integer-valued or real-valued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ColumnType {
    Integer,
    Double,
}

/// Statistics of one column, recorded with every run and model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnSchema {
    pub name: String,
    pub role: ColumnRole,
    #[serde(rename = "type")]
    pub kind: ColumnType,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Cells that were missing and imputed.
    pub imputed: usize,
}

/// One input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    /// The path as given (relative paths stay relative).
    pub path: String,
    /// md5 of the raw bytes (what DVC records).
    pub md5: String,
    pub rows: usize,
    /// The separator used, as a string.
    pub separator: String,
}

/// Columns, their types and statistics, and the files they came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    pub rows: usize,
    /// Features first (in model input order), then the target.
    pub columns: Vec<ColumnSchema>,
    pub files: Vec<SourceFile>,
}

impl Schema {
    /// md5 of the training data: the file's md5 for one file, otherwise the md5 of the lines
    /// `<md5>  <path>\n` of every file in order (as `md5sum` prints them).
    pub fn data_md5(&self) -> String {
        if let [only] = self.files.as_slice() {
            return only.md5.clone();
        }
        let mut text = String::new();
        for f in &self.files {
            let _ = writeln!(text, "{}  {}", f.md5, f.path);
        }
        hex::encode(Md5::digest(text.as_bytes()))
    }

    pub fn feature_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| c.role != ColumnRole::Target)
            .map(|c| c.name.clone())
            .collect()
    }

    pub fn target(&self) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.role == ColumnRole::Target)
    }
}

/// Features, target and schema, ready for training.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub feature_names: Vec<String>,
    pub target_name: String,
    pub x: Matrix,
    pub y: Vec<f64>,
    /// Fold numbers from [`DatasetOptions::folds_column`], if configured.
    pub folds: Option<Vec<usize>>,
    pub schema: Schema,
}

/// Why a dataset could not be loaded. Every message names the file (and line/column if any).
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("No input files were given")]
    NoFiles,
    #[error("Failed to read `{path}`")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is empty")]
    Empty { path: String },
    #[error("`{path}` has a header but no data rows")]
    NoRows { path: String },
    #[error(
        "`{path}` has a single column when split on `{used}`, but its header contains `{likely}`: \
         the separator is probably `{likely}`"
    )]
    WrongSeparator {
        path: String,
        used: String,
        likely: String,
    },
    #[error("`{path}` has no column `{target}` to predict; its columns are: {columns}")]
    MissingTarget {
        path: String,
        target: String,
        columns: String,
    },
    #[error("`{path}` has no folds column `{column}`")]
    MissingFoldsColumn { path: String, column: String },
    #[error("`{path}` has the column `{column}` twice")]
    DuplicateColumn { path: String, column: String },
    #[error("`{path}` has columns [{found}] but `{first}` has [{expected}]")]
    ColumnsDiffer {
        path: String,
        first: String,
        found: String,
        expected: String,
    },
    #[error("`{path}` line {line}: expected {expected} fields, found {found}")]
    RowLength {
        path: String,
        line: u64,
        expected: usize,
        found: usize,
    },
    #[error("`{path}` line {line}, column `{column}`: `{value}` is not a number")]
    NotNumeric {
        path: String,
        line: u64,
        column: String,
        value: String,
    },
    #[error("`{path}` line {line}, column `{column}`: the value is missing")]
    Missing {
        path: String,
        line: u64,
        column: String,
        /// True when the column is the target (imputation never applies to it).
        target: bool,
    },
    #[error("`{path}` line {line}, column `{column}`: `{value}` is not a fold number (0, 1, 2, …)")]
    BadFold {
        path: String,
        line: u64,
        column: String,
        value: String,
    },
    #[error("`{path}` is not valid CSV")]
    Csv {
        path: String,
        #[source]
        source: csv::Error,
    },
    #[error("`{path}` has no feature columns besides the target `{target}`")]
    NoFeatures { path: String, target: String },
}

impl DatasetError {
    /// What the user can do about it.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            Self::NoFiles => "give at least one CSV file".into(),
            Self::Empty { .. } | Self::NoRows { .. } => {
                "check that the file was pulled completely (`vintner pull`)".into()
            }
            Self::WrongSeparator { likely, .. } => {
                format!("set the separator to `{likely}`, or leave it unset to detect it")
            }
            Self::MissingTarget { .. } => {
                "set the target to one of the listed columns (`[data] target` in vintner.toml, or `--target`)"
                    .into()
            }
            Self::Missing { target: false, .. } => {
                "fill the value, or configure an imputation (mean, median or a constant)".into()
            }
            Self::Missing { target: true, .. } => "rows without a target cannot be used".into(),
            Self::NotNumeric { .. } => {
                "every feature must be numeric; fix or remove that value (a wrong separator can \
                 also cause this)"
                    .into()
            }
            Self::ColumnsDiffer { .. } => "files loaded together must have the same columns".into(),
            _ => return None,
        })
    }
}

const MISSING_TOKENS: [&str; 7] = ["", "NA", "N/A", "NaN", "nan", "null", "None"];

pub(crate) struct RawFile {
    pub(crate) path: String,
    pub(crate) md5: String,
    pub(crate) separator: u8,
    pub(crate) header: Vec<String>,
    /// (line, fields)
    pub(crate) records: Vec<(u64, Vec<String>)>,
}

fn detect_separator(header_line: &str) -> u8 {
    let mut counts = [(b';', 0usize), (b',', 0), (b'\t', 0)];
    let mut quoted = false;
    for b in header_line.bytes() {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for c in counts.iter_mut() {
                if c.0 == b {
                    c.1 += 1;
                }
            }
        }
    }
    // Highest count wins; ties keep the order `;`, `,`, tab. No separator at all: `,`.
    let best = counts
        .iter()
        .fold(counts[0], |acc, c| if c.1 > acc.1 { *c } else { acc });
    if best.1 == 0 { b',' } else { best.0 }
}

fn sep_name(sep: u8) -> String {
    if sep == b'\t' {
        "\\t".into()
    } else {
        (sep as char).to_string()
    }
}

pub(crate) fn read_raw(path: &Path, options: &DatasetOptions) -> Result<RawFile, DatasetError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| DatasetError::Io {
        path: shown.clone(),
        source,
    })?;
    let md5 = hex::encode(Md5::digest(&bytes));
    let text_start = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    if text_start.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(DatasetError::Empty { path: shown });
    }
    let first_line = text_start
        .split(|&b| b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .unwrap_or_default();
    let separator = options
        .separator
        .unwrap_or_else(|| detect_separator(&first_line));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text_start);
    let csv_err = |source| DatasetError::Csv {
        path: shown.clone(),
        source,
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_string)
        .collect();
    if header.len() == 1 {
        for likely in [b';', b',', b'\t'] {
            if likely != separator && first_line.as_bytes().contains(&likely) {
                return Err(DatasetError::WrongSeparator {
                    path: shown,
                    used: sep_name(separator),
                    likely: sep_name(likely),
                });
            }
        }
    }
    let mut seen = HashMap::new();
    for name in &header {
        if seen.insert(name.as_str(), ()).is_some() {
            return Err(DatasetError::DuplicateColumn {
                path: shown,
                column: name.clone(),
            });
        }
    }
    let mut records = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_err)?;
        let line = record.position().map_or(0, |p| p.line());
        if record.len() == 1 && record.get(0) == Some("") {
            continue; // blank line
        }
        if record.len() != header.len() {
            return Err(DatasetError::RowLength {
                path: shown,
                line,
                expected: header.len(),
                found: record.len(),
            });
        }
        records.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(RawFile {
        path: shown,
        md5,
        separator,
        header,
        records,
    })
}

fn file_stem(path: &str) -> String {
    Path::new(path)
        .file_stem()
        .map_or_else(|| path.to_string(), |s| s.to_string_lossy().into_owned())
}

impl Dataset {
    /// Loads and stacks `paths` (same columns in each, in any order).
    pub fn load(paths: &[PathBuf], options: &DatasetOptions) -> Result<Dataset, DatasetError> {
        if paths.is_empty() {
            return Err(DatasetError::NoFiles);
        }
        let raws = paths
            .iter()
            .map(|p| read_raw(p, options))
            .collect::<Result<Vec<_>, _>>()?;
        let first = &raws[0];
        if !first.header.contains(&options.target) {
            return Err(DatasetError::MissingTarget {
                path: first.path.clone(),
                target: options.target.clone(),
                columns: first
                    .header
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        if let Some(fc) = &options.folds_column
            && !first.header.contains(fc)
        {
            return Err(DatasetError::MissingFoldsColumn {
                path: first.path.clone(),
                column: fc.clone(),
            });
        }
        let base_features: Vec<String> = first
            .header
            .iter()
            .filter(|c| **c != options.target && Some(*c) != options.folds_column.as_ref())
            .cloned()
            .collect();
        if base_features.is_empty() {
            return Err(DatasetError::NoFeatures {
                path: first.path.clone(),
                target: options.target.clone(),
            });
        }
        let with_sources = options.source_columns && raws.len() > 1;
        let mut feature_names = base_features.clone();
        if with_sources {
            for raw in &raws {
                let name = format!("source_{}", file_stem(&raw.path));
                if feature_names.contains(&name) || name == options.target {
                    return Err(DatasetError::DuplicateColumn {
                        path: raw.path.clone(),
                        column: name,
                    });
                }
                feature_names.push(name);
            }
        }
        let d = feature_names.len();
        let n_base = base_features.len();
        let mut data: Vec<f64> = Vec::new();
        let mut missing_at: Vec<usize> = Vec::new(); // flat indices into `data`
        let mut y = Vec::new();
        let mut folds = options.folds_column.as_ref().map(|_| Vec::new());
        let mut files = Vec::new();
        for (file_index, raw) in raws.iter().enumerate() {
            if raw.records.is_empty() {
                return Err(DatasetError::NoRows {
                    path: raw.path.clone(),
                });
            }
            let position: HashMap<&str, usize> = raw
                .header
                .iter()
                .enumerate()
                .map(|(i, c)| (c.as_str(), i))
                .collect();
            let same = raw.header.len() == first.header.len()
                && first
                    .header
                    .iter()
                    .all(|c| position.contains_key(c.as_str()));
            if !same {
                return Err(DatasetError::ColumnsDiffer {
                    path: raw.path.clone(),
                    first: first.path.clone(),
                    found: raw.header.join(", "),
                    expected: first.header.join(", "),
                });
            }
            let feature_pos: Vec<usize> =
                base_features.iter().map(|c| position[c.as_str()]).collect();
            let target_pos = position[options.target.as_str()];
            let fold_pos = options.folds_column.as_ref().map(|c| position[c.as_str()]);
            for (line, fields) in &raw.records {
                for (j, &p) in feature_pos.iter().enumerate() {
                    match parse_cell(&fields[p]) {
                        Cell::Value(v) => data.push(v),
                        Cell::Missing if options.missing != Imputation::Error => {
                            missing_at.push(data.len());
                            data.push(f64::NAN);
                        }
                        Cell::Missing => {
                            return Err(DatasetError::Missing {
                                path: raw.path.clone(),
                                line: *line,
                                column: base_features[j].clone(),
                                target: false,
                            });
                        }
                        Cell::Text => {
                            return Err(DatasetError::NotNumeric {
                                path: raw.path.clone(),
                                line: *line,
                                column: base_features[j].clone(),
                                value: fields[p].clone(),
                            });
                        }
                    }
                }
                if with_sources {
                    for k in 0..raws.len() {
                        data.push(if k == file_index { 1.0 } else { 0.0 });
                    }
                }
                match parse_cell(&fields[target_pos]) {
                    Cell::Value(v) => y.push(v),
                    Cell::Missing => {
                        return Err(DatasetError::Missing {
                            path: raw.path.clone(),
                            line: *line,
                            column: options.target.clone(),
                            target: true,
                        });
                    }
                    Cell::Text => {
                        return Err(DatasetError::NotNumeric {
                            path: raw.path.clone(),
                            line: *line,
                            column: options.target.clone(),
                            value: fields[target_pos].clone(),
                        });
                    }
                }
                if let (Some(folds), Some(fp)) = (folds.as_mut(), fold_pos) {
                    let text = &fields[fp];
                    let fold = text.parse::<usize>().map_err(|_| DatasetError::BadFold {
                        path: raw.path.clone(),
                        line: *line,
                        column: options.folds_column.clone().unwrap_or_default(),
                        value: text.clone(),
                    })?;
                    folds.push(fold);
                }
            }
            files.push(SourceFile {
                path: raw.path.clone(),
                md5: raw.md5.clone(),
                rows: raw.records.len(),
                separator: sep_name(raw.separator),
            });
        }
        let n = y.len();
        // Imputation, per column over all files.
        let mut imputed = vec![0usize; d];
        if !missing_at.is_empty() {
            let mut fill = vec![0.0; d];
            for (j, f) in fill.iter_mut().enumerate() {
                let mut present: Vec<f64> = (0..n)
                    .map(|i| data[i * d + j])
                    .filter(|v| !v.is_nan())
                    .collect();
                *f = match options.missing {
                    Imputation::Constant(c) => c,
                    Imputation::Mean if !present.is_empty() => {
                        present.iter().sum::<f64>() / present.len() as f64
                    }
                    Imputation::Median if !present.is_empty() => {
                        present.sort_by(f64::total_cmp);
                        let m = present.len() / 2;
                        if present.len() % 2 == 1 {
                            present[m]
                        } else {
                            0.5 * (present[m - 1] + present[m])
                        }
                    }
                    _ => 0.0,
                };
            }
            for &k in &missing_at {
                imputed[k % d] += 1;
                data[k] = fill[k % d];
            }
        }
        let x = Matrix {
            rows: n,
            cols: d,
            data,
        };
        let mut columns: Vec<ColumnSchema> = (0..d)
            .map(|j| {
                let role = if j < n_base {
                    ColumnRole::Feature
                } else {
                    ColumnRole::Source
                };
                column_schema(
                    &feature_names[j],
                    role,
                    (0..n).map(|i| x.get(i, j)),
                    imputed[j],
                )
            })
            .collect();
        columns.push(column_schema(
            &options.target,
            ColumnRole::Target,
            y.iter().copied(),
            0,
        ));
        Ok(Dataset {
            feature_names,
            target_name: options.target.clone(),
            x,
            y,
            folds,
            schema: Schema {
                rows: n,
                columns,
                files,
            },
        })
    }

    pub fn len(&self) -> usize {
        self.y.len()
    }

    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The rows at `indices` (features and target).
    pub fn subset(&self, indices: &[usize]) -> (Matrix, Vec<f64>) {
        (
            self.x.select_rows(indices),
            indices.iter().map(|&i| self.y[i]).collect(),
        )
    }
}

enum Cell {
    Value(f64),
    Missing,
    Text,
}

fn parse_cell(text: &str) -> Cell {
    let t = text.trim();
    if MISSING_TOKENS.contains(&t) {
        return Cell::Missing;
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Cell::Value(v),
        _ => Cell::Text,
    }
}

fn column_schema(
    name: &str,
    role: ColumnRole,
    values: impl Iterator<Item = f64>,
    imputed: usize,
) -> ColumnSchema {
    let (mut min, mut max, mut sum, mut n, mut integral) =
        (f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize, true);
    for v in values {
        min = min.min(v);
        max = max.max(v);
        sum += v;
        n += 1;
        integral &= v.fract() == 0.0 && v.abs() < 9.0e15;
    }
    ColumnSchema {
        name: name.to_string(),
        role,
        kind: if integral {
            ColumnType::Integer
        } else {
            ColumnType::Double
        },
        min,
        max,
        mean: if n > 0 { sum / n as f64 } else { f64::NAN },
        imputed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn semicolon_quoted_header_and_two_files_with_source_columns() {
        let dir = tempfile::tempdir().unwrap();
        let red = write(
            dir.path(),
            "red.csv",
            "\"a\";\"b\";\"quality\"\n1;2.5;5\n3;4;6\n",
        );
        let white = write(dir.path(), "white.csv", "b,quality,a\n7,4,8\n");
        let ds = Dataset::load(&[red, white], &DatasetOptions::new("quality")).unwrap();
        assert_eq!(ds.feature_names, ["a", "b", "source_red", "source_white"]);
        assert_eq!(ds.x.row(2), &[8.0, 7.0, 0.0, 1.0]);
        assert_eq!(ds.y, [5.0, 6.0, 4.0]);
        let a = &ds.schema.columns[0];
        assert_eq!(
            (a.min, a.max, a.mean, a.kind),
            (1.0, 8.0, 4.0, ColumnType::Integer)
        );
        assert_eq!(ds.schema.columns[1].kind, ColumnType::Double);
        assert_eq!(ds.schema.target().unwrap().name, "quality");
        assert_eq!(ds.schema.files[0].separator, ";");
        assert_eq!(ds.schema.data_md5().len(), 32);
    }

    #[test]
    fn wrong_separator_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "w.csv", "\"a\";\"quality\"\n1;5\n");
        let mut opts = DatasetOptions::new("quality");
        opts.separator = Some(b',');
        let err = Dataset::load(&[p], &opts).unwrap_err();
        assert!(matches!(err, DatasetError::WrongSeparator { ref likely, .. } if likely == ";"));
        assert!(err.to_string().contains("w.csv"));
    }

    #[test]
    fn missing_target_lists_columns() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "m.csv", "a,b\n1,2\n");
        let err = Dataset::load(&[p], &DatasetOptions::new("quality")).unwrap_err();
        assert!(matches!(err, DatasetError::MissingTarget { .. }));
        assert!(err.to_string().contains("`a`, `b`"), "{err}");
    }

    #[test]
    fn text_in_numeric_column_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "t.csv", "a,b,quality\n1,2,5\n1,oops,6\n");
        let err = Dataset::load(&[p], &DatasetOptions::new("quality")).unwrap_err();
        match &err {
            DatasetError::NotNumeric {
                line,
                column,
                value,
                ..
            } => {
                assert_eq!((*line, column.as_str(), value.as_str()), (3, "b", "oops"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "`{}` line 3, column `b`: `oops` is not a number",
                dir.path().join("t.csv").display()
            )
        );
    }

    #[test]
    fn empty_file_and_header_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "e.csv", "");
        let err = Dataset::load(&[p], &DatasetOptions::new("quality")).unwrap_err();
        assert!(matches!(err, DatasetError::Empty { .. }));
        let p = write(dir.path(), "h.csv", "a,quality\n");
        let err = Dataset::load(&[p], &DatasetOptions::new("quality")).unwrap_err();
        assert!(matches!(err, DatasetError::NoRows { .. }));
    }

    #[test]
    fn missing_values_error_or_impute() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "n.csv", "a,quality\n1,5\n,6\n3,7\n");
        let err =
            Dataset::load(std::slice::from_ref(&p), &DatasetOptions::new("quality")).unwrap_err();
        assert!(matches!(
            err,
            DatasetError::Missing {
                line: 3,
                target: false,
                ..
            }
        ));
        let mut opts = DatasetOptions::new("quality");
        opts.missing = Imputation::Mean;
        let ds = Dataset::load(&[p], &opts).unwrap();
        assert_eq!(ds.x.get(1, 0), 2.0);
        assert_eq!(ds.schema.columns[0].imputed, 1);
    }

    #[test]
    fn ragged_row_and_folds_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "r.csv", "a,quality\n1,5\n1,2,3\n");
        let err = Dataset::load(&[p], &DatasetOptions::new("quality")).unwrap_err();
        assert!(matches!(err, DatasetError::RowLength { line: 3, .. }));
        let p = write(dir.path(), "f.csv", "a,fold,quality\n1,0,5\n2,1,6\n");
        let mut opts = DatasetOptions::new("quality");
        opts.folds_column = Some("fold".into());
        let ds = Dataset::load(&[p], &opts).unwrap();
        assert_eq!(ds.feature_names, ["a"]);
        assert_eq!(ds.folds, Some(vec![0, 1]));
    }
}
