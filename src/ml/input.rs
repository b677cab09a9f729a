//! Reading CSV input for prediction against a model's signature: the model's feature columns
//! in its order (missing ones are an error listing them, extra ones are reported and ignored),
//! the target when present (to score the predictions), and `source_<file>` columns filled from
//! the file name when a multi-file model is given its original files.

use std::path::{Path, PathBuf};

use super::dataset::{DatasetError, DatasetOptions, Matrix, read_raw};

/// Prediction input, in the model's feature order.
#[derive(Debug, Clone)]
pub struct InputTable {
    pub x: Matrix,
    /// The target column's values, when every input has it.
    pub target: Option<Vec<f64>>,
    /// Input columns the model does not use.
    pub ignored: Vec<String>,
}

/// Why prediction input was refused.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    #[error("`{path}` lacks columns the model needs: {}", missing.join(", "))]
    MissingColumns { path: String, missing: Vec<String> },
}

impl InputError {
    pub fn hint(&self) -> Option<String> {
        match self {
            InputError::Dataset(e) => e.hint(),
            InputError::MissingColumns { .. } => Some(
                "give a CSV with the columns the model was trained on (`vintner models show` lists its signature)"
                    .into(),
            ),
        }
    }
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Reads `paths` (stacked) as input for a model with `features`.
pub fn read(
    paths: &[PathBuf],
    features: &[String],
    target: Option<&str>,
    separator: Option<u8>,
) -> Result<InputTable, InputError> {
    if paths.is_empty() {
        return Err(DatasetError::NoFiles.into());
    }
    let mut options = DatasetOptions::new(target.unwrap_or_default());
    options.separator = separator;
    let mut data = Vec::new();
    let mut target_values: Option<Vec<f64>> = Some(Vec::new());
    let mut ignored: Vec<String> = Vec::new();
    let mut rows = 0usize;
    for path in paths {
        let raw = read_raw(path, &options)?;
        let file_stem = stem(path);
        // Where each feature comes from: a column, or a constant source indicator.
        enum From {
            Column(usize),
            Constant(f64),
        }
        let mut missing = Vec::new();
        let mut plan = Vec::with_capacity(features.len());
        for f in features {
            match raw.header.iter().position(|h| h == f) {
                Some(i) => plan.push(From::Column(i)),
                None => match f.strip_prefix("source_") {
                    Some(src) if features.iter().any(|g| g == &format!("source_{file_stem}")) => {
                        plan.push(From::Constant(if src == file_stem { 1.0 } else { 0.0 }))
                    }
                    _ => missing.push(f.clone()),
                },
            }
        }
        if !missing.is_empty() {
            return Err(InputError::MissingColumns {
                path: raw.path.clone(),
                missing,
            });
        }
        let target_col = target.and_then(|t| raw.header.iter().position(|h| h == t));
        for h in &raw.header {
            if !features.contains(h) && Some(h.as_str()) != target && !ignored.contains(h) {
                ignored.push(h.clone());
            }
        }
        if target_col.is_none() {
            target_values = None;
        }
        for (line, fields) in &raw.records {
            for (j, from) in plan.iter().enumerate() {
                let value = match from {
                    From::Constant(v) => *v,
                    From::Column(i) => parse(&raw.path, *line, &features[j], &fields[*i])?,
                };
                data.push(value);
            }
            if let (Some(values), Some(t)) = (target_values.as_mut(), target_col) {
                values.push(parse(&raw.path, *line, &raw.header[t], &fields[t])?);
            }
            rows += 1;
        }
    }
    if rows == 0 {
        return Err(DatasetError::NoRows {
            path: paths[0].display().to_string(),
        }
        .into());
    }
    let x = Matrix::new(rows, features.len(), data).ok_or_else(|| DatasetError::NoRows {
        path: paths[0].display().to_string(),
    })?;
    Ok(InputTable {
        x,
        target: target_values,
        ignored,
    })
}

fn parse(path: &str, line: u64, column: &str, text: &str) -> Result<f64, DatasetError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(DatasetError::Missing {
            path: path.to_string(),
            line,
            column: column.to_string(),
            target: false,
        });
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(DatasetError::NotNumeric {
            path: path.to_string(),
            line,
            column: column.to_string(),
            value: t.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reorders_columns_ignores_extras_and_reads_target() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.csv");
        std::fs::write(&p, "\"b\";\"extra\";\"a\";\"quality\"\n2;x;1;5\n4;y;3;6\n").unwrap();
        let t = read(&[p], &names(&["a", "b"]), Some("quality"), None).unwrap();
        assert_eq!(t.x.row(0), &[1.0, 2.0]);
        assert_eq!(t.x.row(1), &[3.0, 4.0]);
        assert_eq!(t.target, Some(vec![5.0, 6.0]));
        assert_eq!(t.ignored, names(&["extra"]));
    }

    #[test]
    fn missing_columns_are_listed_and_bad_values_located() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.csv");
        std::fs::write(&p, "a,c\n1,2\n").unwrap();
        let err = read(
            std::slice::from_ref(&p),
            &names(&["a", "b", "d"]),
            None,
            None,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .ends_with("lacks columns the model needs: b, d"),
            "{err}"
        );
        std::fs::write(&p, "a,b\n1,2\n3,oops\n").unwrap();
        let err = read(&[p], &names(&["a", "b"]), None, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("line 3, column `b`: `oops` is not a number"),
            "{err}"
        );
    }

    #[test]
    fn source_columns_come_from_file_names() {
        let dir = tempfile::tempdir().unwrap();
        let red = dir.path().join("red.csv");
        let white = dir.path().join("white.csv");
        std::fs::write(&red, "a\n1\n").unwrap();
        std::fs::write(&white, "a\n2\n").unwrap();
        let f = names(&["a", "source_red", "source_white"]);
        let t = read(&[red, white], &f, None, None).unwrap();
        assert_eq!(t.x.row(0), &[1.0, 1.0, 0.0]);
        assert_eq!(t.x.row(1), &[2.0, 0.0, 1.0]);
        assert_eq!(t.target, None);
    }
}
