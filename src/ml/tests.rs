//! Cross-module tests of the `ml` layer: bundle round trips for every family, determinism,
//! a fixed-seed cross-validation whose RMSE must land in a stated band, and parity with
//! scikit-learn's ElasticNet. Uses a synthetic wine-like dataset so no data files are needed.

use std::collections::BTreeMap;

use super::bundle::{self, BundleError, BundleMeta};
use super::dataset::{ColumnRole, ColumnSchema, ColumnType, Matrix, Schema, SourceFile};
use super::eval::{CvOptions, cross_validate};
use super::model::{Fitted, Model, ModelSpec};
use super::rng::Rng;
use super::split::CvScheme;
use super::{Dataset, linear};
use crate::progress::Silent;

/// 600 rows, 5 features, an integer grade 3..=8 from a noisy nonlinear score; every 10th row is
/// duplicated (as in the wine data).
fn synthetic() -> Dataset {
    let mut rng = Rng::new(2024);
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut y: Vec<f64> = Vec::new();
    for i in 0..600 {
        if i % 10 == 9 {
            let (r, t) = (rows[i - 1].clone(), y[i - 1]);
            rows.push(r);
            y.push(t);
            continue;
        }
        let x: Vec<f64> = (0..5)
            .map(|_| (rng.normal() * 100.0).round() / 100.0)
            .collect();
        let score = 5.6 + 0.7 * x[0] - 0.5 * x[1]
            + 0.4 * x[2] * x[3]
            + 0.3 * x[4].abs()
            + 0.5 * rng.normal();
        rows.push(x);
        y.push(score.round().clamp(3.0, 8.0));
    }
    let names: Vec<String> = (0..5).map(|j| format!("x{j}")).collect();
    let x = Matrix::from_rows(&rows).unwrap();
    let mut columns: Vec<ColumnSchema> = names
        .iter()
        .enumerate()
        .map(|(j, n)| ColumnSchema {
            name: n.clone(),
            role: ColumnRole::Feature,
            kind: ColumnType::Double,
            min: (0..600).map(|i| x.get(i, j)).fold(f64::INFINITY, f64::min),
            max: (0..600)
                .map(|i| x.get(i, j))
                .fold(f64::NEG_INFINITY, f64::max),
            mean: (0..600).map(|i| x.get(i, j)).sum::<f64>() / 600.0,
            imputed: 0,
        })
        .collect();
    columns.push(ColumnSchema {
        name: "quality".into(),
        role: ColumnRole::Target,
        kind: ColumnType::Integer,
        min: 3.0,
        max: 8.0,
        mean: y.iter().sum::<f64>() / 600.0,
        imputed: 0,
    });
    Dataset {
        feature_names: names,
        target_name: "quality".into(),
        x,
        y,
        folds: None,
        schema: Schema {
            rows: 600,
            columns,
            files: vec![SourceFile {
                path: "synthetic.csv".into(),
                md5: "0123456789abcdef0123456789abcdef".into(),
                rows: 600,
                separator: ";".into(),
            }],
        },
    }
}

fn spec(family: &str, params: &[(&str, &str)]) -> ModelSpec {
    let p: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ModelSpec::parse(family, &p).unwrap()
}

fn small_specs() -> Vec<ModelSpec> {
    vec![
        spec("extra-trees", &[("n_estimators", "20")]),
        spec(
            "random-forest",
            &[("n_estimators", "10"), ("min_samples_leaf", "2")],
        ),
        spec("gbm", &[("n_estimators", "30"), ("num_leaves", "8")]),
        spec("mlp", &[("hidden", "8,4"), ("max_epochs", "15")]),
        spec("elastic-net", &[("alpha", "0.05")]),
        spec(
            "blend",
            &[
                ("members", "extra-trees,mlp"),
                ("weights", "2,1"),
                ("extra-trees.n_estimators", "5"),
                ("mlp.max_epochs", "3"),
            ],
        ),
    ]
}

fn meta(data: &Dataset) -> BundleMeta {
    BundleMeta {
        schema: data.schema.clone(),
        data_md5: data.schema.data_md5(),
        input_example: (0..3).map(|i| data.x.row(i).to_vec()).collect(),
        run_id: Some("abc123".into()),
        utc_time_created: "2026-11-28 12:00:00.000000".into(),
    }
}

#[test]
fn bundle_round_trip_predicts_identically_for_every_family() {
    let data = synthetic();
    for s in small_specs() {
        let model = s.fit_dataset(&data, 7, &Silent).unwrap();
        let dir = tempfile::tempdir().unwrap();
        bundle::save(dir.path(), &model, &meta(&data)).unwrap();
        let (loaded, loaded_meta) = bundle::load(dir.path()).unwrap();
        let a = model.predict(&data.x).unwrap();
        let b = loaded.predict(&data.x).unwrap();
        assert_eq!(a, b, "{} predictions differ after the round trip", s.family);
        if let Fitted::Forest(forest) = &model.fitted {
            assert_eq!(
                loaded.fitted, model.fitted,
                "{} differs after loading",
                s.family
            );
            assert!(forest.f32_inputs);
        }
        assert_eq!(loaded.spec, model.spec);
        assert_eq!(loaded_meta, meta(&data));
        let mlmodel = std::fs::read_to_string(dir.path().join("MLmodel")).unwrap();
        assert!(
            mlmodel.contains("vintner:") && mlmodel.contains("format_version: 2"),
            "{mlmodel}"
        );
        assert!(
            mlmodel.contains(r#"inputs: '[{"type": "double", "name": "x0", "required": true}"#),
            "{mlmodel}"
        );
        let example: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("input_example.json")).unwrap())
                .unwrap();
        assert_eq!(example["columns"][0], "x0");
        assert_eq!(example["data"].as_array().unwrap().len(), 3);
    }
}

/// `fit_predict` gives the model of `fit` and the predictions of `predict`, for every family
/// (forests predict while their trees are built).
#[test]
fn fit_predict_is_fit_then_predict() {
    let data = synthetic();
    let test = data
        .x
        .select_rows(&(0..data.len()).step_by(3).collect::<Vec<_>>());
    for s in small_specs() {
        let fitted = s
            .fit(&data.x, &data.y, &data.feature_names, 11, &Silent)
            .unwrap();
        let (model, predictions) = s
            .fit_predict(&data.x, &data.y, &data.feature_names, 11, &Silent, &test)
            .unwrap();
        assert_eq!(model, fitted, "{}", s.family);
        assert_eq!(predictions, fitted.predict(&test).unwrap(), "{}", s.family);
    }
}

#[test]
fn mlp_weights_use_pytorch_names_and_shapes() {
    let data = synthetic();
    let model = spec("mlp", &[("hidden", "64,64"), ("max_epochs", "2")])
        .fit_dataset(&data, 1, &Silent)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    bundle::save(dir.path(), &model, &meta(&data)).unwrap();
    let bytes = std::fs::read(dir.path().join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert_eq!(
        names,
        [
            "l1.bias",
            "l1.weight",
            "l2.bias",
            "l2.weight",
            "l3.bias",
            "l3.weight"
        ]
    );
    assert_eq!(st.tensor("l1.weight").unwrap().shape(), [64, 5]);
    assert_eq!(st.tensor("l3.weight").unwrap().shape(), [1, 64]);
}

/// A forest saved in format 1 (before `f32_inputs`) loads as splitting on `f64` inputs.
#[test]
fn format_1_forests_split_on_f64_inputs() {
    let data = synthetic();
    let model = spec("extra-trees", &[("n_estimators", "5")])
        .fit_dataset(&data, 0, &Silent)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    bundle::save(dir.path(), &model, &meta(&data)).unwrap();
    for file in [bundle::MLMODEL_FILE, bundle::MODEL_FILE] {
        let path = dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let old = text
            .replace("format_version: 2", "format_version: 1")
            .replace("\"format_version\": 2", "\"format_version\": 1")
            .replace(",\n    \"f32_inputs\": true", "");
        assert_ne!(old, text, "{file} should change");
        std::fs::write(&path, old).unwrap();
    }
    let (loaded, _) = bundle::load(dir.path()).unwrap();
    let Fitted::Forest(forest) = &loaded.fitted else {
        panic!("a forest")
    };
    assert!(!forest.f32_inputs);
}

#[test]
fn newer_or_foreign_bundles_are_refused_clearly() {
    let data = synthetic();
    let model = spec("elastic-net", &[])
        .fit_dataset(&data, 0, &Silent)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    bundle::save(dir.path(), &model, &meta(&data)).unwrap();
    let path = dir.path().join("MLmodel");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("format_version: 2", "format_version: 9"),
    )
    .unwrap();
    let err = bundle::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            BundleError::Newer {
                found: 9,
                supported: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("newer than this vintner reads"));
    std::fs::write(&path, text.replace("  vintner:", "  sklearn:")).unwrap();
    assert!(matches!(
        bundle::load(dir.path()).unwrap_err(),
        BundleError::NotVintner { .. }
    ));
    std::fs::write(&path, &text).unwrap();
    std::fs::write(dir.path().join("model.safetensors"), b"garbage").unwrap();
    assert!(matches!(
        bundle::load(dir.path()).unwrap_err(),
        BundleError::Invalid { .. }
    ));
}

#[test]
fn same_seed_same_predictions_other_seed_other_predictions() {
    let data = synthetic();
    // unseen rows (full-depth trees reproduce their training rows whatever the seed)
    let probe = Matrix::new(
        data.len(),
        5,
        data.x
            .as_slice()
            .iter()
            .enumerate()
            .map(|(k, v)| v + 0.037 * ((k % 7) as f64 - 3.0))
            .collect(),
    )
    .unwrap();
    for s in small_specs()
        .into_iter()
        .filter(|s| s.family.name() != "elastic-net")
    {
        let a = s
            .fit_dataset(&data, 3, &Silent)
            .unwrap()
            .predict(&probe)
            .unwrap();
        let b = s
            .fit_dataset(&data, 3, &Silent)
            .unwrap()
            .predict(&probe)
            .unwrap();
        let c = s
            .fit_dataset(&data, 4, &Silent)
            .unwrap()
            .predict(&probe)
            .unwrap();
        assert!(a == b, "{}: same seed, different predictions", s.family);
        assert!(a != c, "{}: other seed, same predictions", s.family);
    }
}

#[test]
fn fixed_seed_grouped_cv_lands_in_band() {
    let data = synthetic();
    let options = CvOptions {
        scheme: CvScheme::Grouped,
        folds: 5,
        repeats: 1,
        seed: 0,
    };
    let et = cross_validate(
        &spec("extra-trees", &[("n_estimators", "100")]),
        &data,
        &options,
        &Silent,
    )
    .unwrap();
    let enet = cross_validate(
        &spec("elastic-net", &[("alpha", "0.01")]),
        &data,
        &options,
        &Silent,
    )
    .unwrap();
    // Measured when written: extra-trees 0.6698, elastic-net 0.7001; the band allows ±0.03.
    assert!(
        (0.64..0.70).contains(&et.mean.rmse),
        "extra-trees rmse {}",
        et.mean.rmse
    );
    assert!(
        (0.67..0.73).contains(&enet.mean.rmse),
        "elastic-net rmse {}",
        enet.mean.rmse
    );
    assert_eq!(et.folds.len(), 5);
    assert_eq!(et.fold_table().rows.len(), 7);
    let json = serde_json::to_value(&et).unwrap();
    assert_eq!(json["folds"].as_array().unwrap().len(), 5);
    assert!(json["mean"]["rmse"].as_f64().is_some());
    // same seed, same report
    let again = cross_validate(
        &spec("extra-trees", &[("n_estimators", "100")]),
        &data,
        &options,
        &Silent,
    )
    .unwrap();
    assert_eq!(
        et.folds.iter().map(|f| f.metrics).collect::<Vec<_>>(),
        again.folds.iter().map(|f| f.metrics).collect::<Vec<_>>()
    );
}

#[test]
fn elastic_net_matches_scikit_learn() {
    // sklearn 1.9.1: ElasticNet(alpha, l1_ratio, tol=1e-14, max_iter=1e6).fit(X, y)
    let rows = vec![
        vec![7.4, 0.70, 9.4],
        vec![7.8, 0.88, 9.8],
        vec![7.8, 0.76, 9.8],
        vec![11.2, 0.28, 9.8],
        vec![7.4, 0.66, 9.4],
        vec![7.9, 0.60, 9.4],
        vec![7.3, 0.65, 10.0],
        vec![7.8, 0.58, 9.5],
        vec![7.5, 0.50, 10.5],
        vec![6.7, 0.58, 9.2],
    ];
    let y = [5.0, 5.0, 5.0, 6.0, 5.0, 5.0, 7.0, 7.0, 5.0, 5.0];
    let x = Matrix::from_rows(&rows).unwrap();
    let p = |alpha, l1_ratio| linear::LinearParams {
        alpha,
        l1_ratio,
        standardize: false,
        max_iter: 1_000_000,
        tol: 1e-14,
    };
    let m = linear::Linear::fit(&x, &y, &p(0.05, 0.3));
    let expected = [
        0.12148190892462431,
        -0.10148094117670872,
        0.09205337323818727,
    ];
    for (a, b) in m.coef.iter().zip(expected) {
        assert!((a - b).abs() < 1e-8, "{:?}", m.coef);
    }
    assert!((m.intercept - 3.7144626073166904).abs() < 1e-7);
    let m = linear::Linear::fit(&x, &y, &p(0.5, 0.5));
    assert_eq!(m.coef, [0.0, 0.0, 0.0]);
    assert!((m.intercept - 5.5).abs() < 1e-12);
}

#[test]
fn predicting_with_wrong_columns_is_an_error_and_clip_applies() {
    let data = synthetic();
    let model: Model = spec("gbm", &[("n_estimators", "5")])
        .fit_dataset(&data, 0, &Silent)
        .unwrap();
    assert!(model.predict_rows(&[vec![1.0, 2.0]]).is_err());
    assert_eq!(model.clip, Some((3.0, 8.0)));
    let far = model.predict_rows(&[vec![1e9; 5], vec![-1e9; 5]]).unwrap();
    assert!(far.iter().all(|v| (3.0..=8.0).contains(v)));
    assert!(matches!(model.fitted, Fitted::Gbm(_)));
    let _: BTreeMap<String, Vec<(u64, f64)>> = model.history.clone();
    assert_eq!(model.history["train_rmse"].len(), 5);
}
