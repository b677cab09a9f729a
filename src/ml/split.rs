//! Train/test splits for evaluation: k-fold, k-fold grouped by identical feature rows (so a
//! duplicated wine never sits on both sides), folds given from a column or a file (so another
//! tool can use the very same folds), and a held-out split. Depends on `dataset` and `rng` only.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::dataset::Matrix;
use super::rng::{Rng, derive_seed};

/// How rows are assigned to test folds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "scheme")]
pub enum CvScheme {
    /// Rows shuffled into k folds.
    KFold,
    /// Groups of identical feature rows shuffled into k folds (the default: duplicates in the
    /// Wine Quality data otherwise leak from training into test).
    Grouped,
    /// Fold numbers given per repeat (one `Vec` per repeat, one fold number per row).
    Given { assignments: Vec<Vec<usize>> },
    /// One train/test split with about `test_fraction` of the rows in test.
    Holdout { test_fraction: f64, grouped: bool },
}

/// One train/test split.
#[derive(Debug, Clone, PartialEq)]
pub struct Fold {
    pub repeat: usize,
    pub index: usize,
    pub train: Vec<usize>,
    pub test: Vec<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    #[error("{folds} folds need at least {folds} groups of rows, but there are {groups}")]
    TooFewGroups { folds: usize, groups: usize },
    #[error(
        "Unknown cross-validation scheme `{0}` (expected grouped, kfold, holdout[:fraction], \
         column:<name> or file:<path>)"
    )]
    UnknownScheme(String),
    #[error("No folds to evaluate: the fold assignments are empty")]
    NoFolds,
    #[error("Cross-validation needs at least 2 folds, got {0}")]
    TooFewFolds(usize),
    #[error("The test fraction must be in (0, 1), got {0}")]
    BadFraction(f64),
    #[error("The folds cover {found} rows but the dataset has {expected}")]
    LengthMismatch { expected: usize, found: usize },
    #[error("Fold {fold} of repeat {repeat} has no test rows (fold numbers must be 0..k-1)")]
    EmptyFold { repeat: usize, fold: usize },
    #[error("Failed to read the folds file `{path}`")]
    Read {
        path: String,
        #[source]
        source: csv::Error,
    },
    #[error("Failed to write the folds file `{path}`")]
    Write {
        path: String,
        #[source]
        source: csv::Error,
    },
    #[error("`{path}` line {line}, column `{column}`: `{value}` is not a fold number")]
    BadFold {
        path: String,
        line: u64,
        column: String,
        value: String,
    },
}

/// A cross-validation scheme as written in `vintner.toml` (`[cv] scheme`) or on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemeSpec {
    /// `grouped`, `kfold` or `holdout[:fraction]` (grouped holdout, default fraction 0.2).
    Scheme(CvScheme),
    /// `column:<name>`: fold numbers in a data column (set `DatasetOptions::folds_column`, then
    /// use `CvScheme::Given` with no assignments so the dataset's column is used).
    Column(String),
    /// `file:<path>`: fold numbers in a folds file (see [`read_folds_file`]).
    File(std::path::PathBuf),
}

/// Parses `grouped`, `kfold`, `holdout`, `holdout:0.25`, `column:<name>` or `file:<path>`.
pub fn parse_scheme(text: &str) -> Result<SchemeSpec, SplitError> {
    let t = text.trim();
    let unknown = || SplitError::UnknownScheme(text.to_string());
    Ok(match t.split_once(':') {
        None => match t {
            "grouped" => SchemeSpec::Scheme(CvScheme::Grouped),
            "kfold" => SchemeSpec::Scheme(CvScheme::KFold),
            "holdout" => SchemeSpec::Scheme(CvScheme::Holdout {
                test_fraction: 0.2,
                grouped: true,
            }),
            _ => return Err(unknown()),
        },
        Some(("holdout", f)) => {
            let test_fraction = f.parse::<f64>().map_err(|_| unknown())?;
            if !(test_fraction > 0.0 && test_fraction < 1.0) {
                return Err(SplitError::BadFraction(test_fraction));
            }
            SchemeSpec::Scheme(CvScheme::Holdout {
                test_fraction,
                grouped: true,
            })
        }
        Some(("column", c)) if !c.is_empty() => SchemeSpec::Column(c.to_string()),
        Some(("file", p)) if !p.is_empty() => SchemeSpec::File(p.into()),
        _ => return Err(unknown()),
    })
}

/// Group id per row: rows with bit-identical features share an id (ids in order of first
/// appearance). `-0.0` and `0.0` are the same value.
pub fn group_ids(x: &Matrix) -> Vec<usize> {
    let mut ids: HashMap<Vec<u64>, usize> = HashMap::new();
    (0..x.rows())
        .map(|i| {
            let key: Vec<u64> = x
                .row(i)
                .iter()
                .map(|v| if *v == 0.0 { 0 } else { v.to_bits() })
                .collect();
            let next = ids.len();
            *ids.entry(key).or_insert(next)
        })
        .collect()
}

/// Splits `n_items` shuffled items into `k` near-equal consecutive chunks, as scikit-learn's
/// `KFold` does (the first `n % k` folds get one more item). Returns the fold of each item.
fn shuffled_chunks(n_items: usize, k: usize, rng: &mut Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n_items).collect();
    rng.shuffle(&mut order);
    let mut fold_of = vec![0; n_items];
    let mut start = 0;
    for f in 0..k {
        let size = n_items / k + usize::from(f < n_items % k);
        for &item in &order[start..start + size] {
            fold_of[item] = f;
        }
        start += size;
    }
    fold_of
}

/// Fold number per row for every repeat (`repeats` vectors of `x.rows()` numbers in `0..k`).
pub fn assign(
    x: &Matrix,
    scheme: &CvScheme,
    k: usize,
    repeats: usize,
    seed: u64,
) -> Result<Vec<Vec<usize>>, SplitError> {
    let n = x.rows();
    match scheme {
        CvScheme::Given { assignments } => {
            for a in assignments {
                if a.len() != n {
                    return Err(SplitError::LengthMismatch {
                        expected: n,
                        found: a.len(),
                    });
                }
            }
            Ok(assignments.clone())
        }
        CvScheme::KFold | CvScheme::Grouped => {
            if k < 2 {
                return Err(SplitError::TooFewFolds(k));
            }
            let groups = if *scheme == CvScheme::Grouped {
                group_ids(x)
            } else {
                (0..n).collect()
            };
            let n_groups = groups.iter().max().map_or(0, |m| m + 1);
            if n_groups < k {
                return Err(SplitError::TooFewGroups {
                    folds: k,
                    groups: n_groups,
                });
            }
            Ok((0..repeats.max(1))
                .map(|r| {
                    let mut rng = Rng::new(derive_seed(seed, r as u64));
                    let fold_of_group = shuffled_chunks(n_groups, k, &mut rng);
                    groups.iter().map(|&g| fold_of_group[g]).collect()
                })
                .collect())
        }
        CvScheme::Holdout {
            test_fraction,
            grouped,
        } => {
            if !(*test_fraction > 0.0 && *test_fraction < 1.0) {
                return Err(SplitError::BadFraction(*test_fraction));
            }
            let groups = if *grouped {
                group_ids(x)
            } else {
                (0..n).collect()
            };
            let n_groups = groups.iter().max().map_or(0, |m| m + 1);
            let mut size = vec![0usize; n_groups];
            for &g in &groups {
                size[g] += 1;
            }
            let mut order: Vec<usize> = (0..n_groups).collect();
            Rng::new(derive_seed(seed, 0)).shuffle(&mut order);
            // fold 1 = test, fold 0 = train
            let mut fold_of_group = vec![0; n_groups];
            let target = (test_fraction * n as f64).round() as usize;
            let mut taken = 0;
            for g in order {
                if taken >= target.max(1) {
                    break;
                }
                fold_of_group[g] = 1;
                taken += size[g];
            }
            Ok(vec![groups.iter().map(|&g| fold_of_group[g]).collect()])
        }
    }
}

/// The train/test splits of fold assignments. For a holdout, only fold 1 (test) is evaluated.
pub fn folds_from_assignments(
    assignments: &[Vec<usize>],
    holdout: bool,
) -> Result<Vec<Fold>, SplitError> {
    if assignments.iter().all(Vec::is_empty) {
        return Err(SplitError::NoFolds);
    }
    let mut folds = Vec::new();
    for (repeat, a) in assignments.iter().enumerate() {
        let k = a.iter().max().map_or(0, |m| m + 1);
        let range = if holdout { 1..2 } else { 0..k };
        for index in range {
            let test: Vec<usize> = (0..a.len()).filter(|&i| a[i] == index).collect();
            if test.is_empty() {
                return Err(SplitError::EmptyFold {
                    repeat,
                    fold: index,
                });
            }
            let train = (0..a.len()).filter(|&i| a[i] != index).collect();
            folds.push(Fold {
                repeat,
                index,
                train,
                test,
            });
        }
    }
    Ok(folds)
}

/// Reads a folds file: CSV with a header, one column per repeat, one row per dataset row,
/// values are fold numbers `0..k-1`.
pub fn read_folds_file(path: &Path) -> Result<Vec<Vec<usize>>, SplitError> {
    let shown = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|source| SplitError::Read {
            path: shown.clone(),
            source,
        })?;
    let names: Vec<String> = reader
        .headers()
        .map_err(|source| SplitError::Read {
            path: shown.clone(),
            source,
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let mut out = vec![Vec::new(); names.len()];
    for record in reader.records() {
        let record = record.map_err(|source| SplitError::Read {
            path: shown.clone(),
            source,
        })?;
        let line = record.position().map_or(0, |p| p.line());
        for (j, value) in record.iter().enumerate() {
            let fold = value.parse::<usize>().map_err(|_| SplitError::BadFold {
                path: shown.clone(),
                line,
                column: names.get(j).cloned().unwrap_or_default(),
                value: value.to_string(),
            })?;
            out[j].push(fold);
        }
    }
    Ok(out)
}

/// Writes fold assignments in the format [`read_folds_file`] reads (columns `repeat_0`, …).
pub fn write_folds_file(path: &Path, assignments: &[Vec<usize>]) -> Result<(), SplitError> {
    let shown = path.display().to_string();
    let err = |source| SplitError::Write {
        path: shown.clone(),
        source,
    };
    let mut w = csv::Writer::from_path(path).map_err(err)?;
    let header: Vec<String> = (0..assignments.len())
        .map(|r| format!("repeat_{r}"))
        .collect();
    w.write_record(&header).map_err(err)?;
    let n = assignments.first().map_or(0, Vec::len);
    for i in 0..n {
        let row: Vec<String> = assignments.iter().map(|a| a[i].to_string()).collect();
        w.write_record(&row).map_err(err)?;
    }
    w.flush().map_err(|e| err(e.into()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix_with_duplicates() -> Matrix {
        // 40 rows, rows i and i+20 identical
        let rows: Vec<Vec<f64>> = (0..40).map(|i| vec![(i % 20) as f64, 1.0]).collect();
        Matrix::from_rows(&rows).unwrap()
    }

    #[test]
    fn grouped_folds_keep_duplicates_together_and_are_seeded() {
        let x = matrix_with_duplicates();
        let a = assign(&x, &CvScheme::Grouped, 5, 2, 42).unwrap();
        for rep in &a {
            for i in 0..20 {
                assert_eq!(rep[i], rep[i + 20]);
            }
            for f in 0..5 {
                assert_eq!(rep.iter().filter(|&&v| v == f).count(), 8);
            }
        }
        assert_ne!(a[0], a[1]);
        assert_eq!(a, assign(&x, &CvScheme::Grouped, 5, 2, 42).unwrap());
        let folds = folds_from_assignments(&a, false).unwrap();
        assert_eq!(folds.len(), 10);
        assert_eq!(folds[0].train.len() + folds[0].test.len(), 40);
    }

    #[test]
    fn holdout_and_folds_file_round_trip() {
        let x = matrix_with_duplicates();
        let scheme = CvScheme::Holdout {
            test_fraction: 0.25,
            grouped: true,
        };
        let a = assign(&x, &scheme, 0, 1, 1).unwrap();
        let folds = folds_from_assignments(&a, true).unwrap();
        assert_eq!(folds.len(), 1);
        assert_eq!(folds[0].test.len(), 10);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("folds.csv");
        let k = assign(&x, &CvScheme::KFold, 3, 2, 5).unwrap();
        write_folds_file(&p, &k).unwrap();
        assert_eq!(read_folds_file(&p).unwrap(), k);
    }

    #[test]
    fn scheme_texts() {
        assert_eq!(
            parse_scheme("grouped").unwrap(),
            SchemeSpec::Scheme(CvScheme::Grouped)
        );
        assert_eq!(
            parse_scheme("holdout:0.25").unwrap(),
            SchemeSpec::Scheme(CvScheme::Holdout {
                test_fraction: 0.25,
                grouped: true
            })
        );
        assert_eq!(
            parse_scheme("column:fold").unwrap(),
            SchemeSpec::Column("fold".into())
        );
        assert_eq!(
            parse_scheme("file:f.csv").unwrap(),
            SchemeSpec::File("f.csv".into())
        );
        assert!(matches!(
            parse_scheme("random"),
            Err(SplitError::UnknownScheme(_))
        ));
        assert!(matches!(
            parse_scheme("holdout:2"),
            Err(SplitError::BadFraction(_))
        ));
    }

    #[test]
    fn too_few_groups() {
        let x = Matrix::from_rows(&[vec![1.0], vec![1.0], vec![2.0]]).unwrap();
        assert!(matches!(
            assign(&x, &CvScheme::Grouped, 3, 1, 0),
            Err(SplitError::TooFewGroups { groups: 2, .. })
        ));
    }
}
