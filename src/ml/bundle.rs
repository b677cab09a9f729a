//! The model bundle: a folder in MLflow's model layout (`MLmodel` YAML with a `vintner` flavor and
//! a signature, `input_example.json`) holding the weights in `model.safetensors` (PyTorch layer
//! names for the MLP), the model structure and preprocessing statistics in `model.json`, and the
//! training data's schema and md5 in `schema.json`. See `docs/model-bundle.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use safetensors::Dtype;
use serde::{Deserialize, Serialize};

use super::dataset::Schema;
use super::forest::Forest;
use super::gbm::Gbm;
use super::linear::Linear;
use super::mlp::{Layer, Mlp, Scale};
use super::model::{Fitted, Model, ModelError, ModelSpec};
use super::tree::{Node, Tree};

/// The bundle format this version writes and the newest it reads. Version 2: forests record
/// `f32_inputs` (version 1 forests split on `f64` inputs).
pub const FORMAT_VERSION: u32 = 2;
/// Files inside a bundle.
pub const MLMODEL_FILE: &str = "MLmodel";
pub const MODEL_FILE: &str = "model.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const SCHEMA_FILE: &str = "schema.json";
pub const INPUT_EXAMPLE_FILE: &str = "input_example.json";

/// What a bundle records besides the model.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleMeta {
    /// Schema of the training data.
    pub schema: Schema,
    /// md5 of the training data (as versioned by the data layer).
    pub data_md5: String,
    /// A few input rows for `input_example.json` (in feature order).
    pub input_example: Vec<Vec<f64>>,
    /// The tracking run that produced the model, if any.
    pub run_id: Option<String>,
    /// `YYYY-MM-DD HH:MM:SS.ffffff` UTC; filled in by [`save`] when empty.
    pub utc_time_created: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("Failed to {action} `{path}`")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid {what}: {detail}")]
    Invalid {
        path: String,
        what: &'static str,
        detail: String,
    },
    #[error("`{path}` has no `vintner` flavor (flavors: {flavors})")]
    NotVintner { path: String, flavors: String },
    #[error(
        "`{path}` is bundle format version {found}, newer than this vintner reads ({supported})"
    )]
    Newer {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("The bundle at `{path}` describes a model vintner cannot rebuild")]
    Model {
        path: String,
        #[source]
        source: ModelError,
    },
}

impl BundleError {
    pub fn hint(&self) -> Option<String> {
        match self {
            Self::Newer { .. } => Some("upgrade vintner to read this model".into()),
            Self::NotVintner { .. } => Some(
                "only models trained by vintner can be loaded; retrain with `vintner train`".into(),
            ),
            Self::Invalid { .. } => Some("the bundle is damaged; pull it again or retrain".into()),
            _ => None,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct VintnerFlavor {
    family: String,
    format_version: u32,
    model: String,
    weights: String,
    schema: String,
    vintner_version: String,
    params: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct InputExampleInfo {
    artifact_path: String,
    pandas_orient: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Signature {
    inputs: String,
    outputs: String,
    params: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MlModelFile {
    flavors: BTreeMap<String, serde_norway::Value>,
    metadata: BTreeMap<String, String>,
    model_size_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    run_id: Option<String>,
    saved_input_example_info: InputExampleInfo,
    signature: Signature,
    utc_time_created: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct ModelDoc {
    format_version: u32,
    family: String,
    params: BTreeMap<String, String>,
    feature_names: Vec<String>,
    clip: Option<(f64, f64)>,
    parts: Parts,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
enum Parts {
    /// Arrays `{prefix}trees.{feature,value,right,offsets}`.
    Forest {
        prefix: String,
        n_trees: usize,
        /// Whether the trees split on inputs rounded to `f32` (absent in older bundles).
        #[serde(default)]
        f32_inputs: bool,
    },
    /// Arrays `{prefix}trees.*` and `{prefix}init`.
    Gbm {
        prefix: String,
        n_trees: usize,
    },
    /// Arrays `{prefix}l{i}.weight` `[out, in]` and `{prefix}l{i}.bias` `[out]`.
    Mlp {
        prefix: String,
        layers: Vec<(usize, usize)>,
        x_scale: Vec<Scale>,
        y_scale: Scale,
    },
    /// Arrays `{prefix}coef` `[features]` and `{prefix}intercept` `[1]`.
    Linear {
        prefix: String,
    },
    Blend {
        members: Vec<Member>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct Member {
    weight: f64,
    model: ModelDoc,
}

struct Tensors {
    items: Vec<(String, Dtype, Vec<usize>, Vec<u8>)>,
}

impl Tensors {
    fn f64s(&mut self, name: String, shape: Vec<usize>, data: &[f64]) {
        let mut bytes = Vec::with_capacity(8 * data.len());
        for v in data {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.items.push((name, Dtype::F64, shape, bytes));
    }
    fn i64s(&mut self, name: String, data: &[i64]) {
        let mut bytes = Vec::with_capacity(8 * data.len());
        for v in data {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        self.items.push((name, Dtype::I64, vec![data.len()], bytes));
    }
    fn trees(&mut self, prefix: &str, trees: &[Tree]) {
        let n: usize = trees.iter().map(Tree::len).sum();
        let mut offsets = Vec::with_capacity(trees.len() + 1);
        offsets.push(0i64);
        let mut feature = Vec::with_capacity(4 * n);
        let mut value = Vec::with_capacity(8 * n);
        let mut right = Vec::with_capacity(4 * n);
        let mut count = 0;
        for t in trees {
            for node in &t.nodes {
                feature.extend_from_slice(&node.feature.to_le_bytes());
                value.extend_from_slice(&node.value.to_le_bytes());
                right.extend_from_slice(&(node.right as i32).to_le_bytes());
            }
            count += t.len();
            offsets.push(count as i64);
        }
        let name = |what: &str| format!("{prefix}trees.{what}");
        self.items
            .push((name("feature"), Dtype::I32, vec![n], feature));
        self.items.push((name("value"), Dtype::F64, vec![n], value));
        self.items.push((name("right"), Dtype::I32, vec![n], right));
        self.i64s(name("offsets"), &offsets);
    }
}

fn model_doc(model: &Model, prefix: &str, out: &mut Tensors) -> ModelDoc {
    let parts = match &model.fitted {
        Fitted::Forest(f) => {
            out.trees(prefix, &f.trees);
            Parts::Forest {
                prefix: prefix.into(),
                n_trees: f.trees.len(),
                f32_inputs: f.f32_inputs,
            }
        }
        Fitted::Gbm(g) => {
            out.trees(prefix, &g.trees);
            out.f64s(format!("{prefix}init"), vec![1], &[g.init]);
            Parts::Gbm {
                prefix: prefix.into(),
                n_trees: g.trees.len(),
            }
        }
        Fitted::Mlp(m) => {
            for (i, l) in m.layers.iter().enumerate() {
                out.f64s(
                    format!("{prefix}l{}.weight", i + 1),
                    vec![l.n_out, l.n_in],
                    &l.weight,
                );
                out.f64s(format!("{prefix}l{}.bias", i + 1), vec![l.n_out], &l.bias);
            }
            Parts::Mlp {
                prefix: prefix.into(),
                layers: m.layers.iter().map(|l| (l.n_in, l.n_out)).collect(),
                x_scale: m.x_scale.clone(),
                y_scale: m.y_scale,
            }
        }
        Fitted::Linear(l) => {
            out.f64s(format!("{prefix}coef"), vec![l.coef.len()], &l.coef);
            out.f64s(format!("{prefix}intercept"), vec![1], &[l.intercept]);
            Parts::Linear {
                prefix: prefix.into(),
            }
        }
        Fitted::Blend(members) => Parts::Blend {
            members: members
                .iter()
                .enumerate()
                .map(|(i, (w, m))| Member {
                    weight: *w,
                    model: model_doc(m, &format!("{prefix}m{i}."), out),
                })
                .collect(),
        },
    };
    ModelDoc {
        format_version: FORMAT_VERSION,
        family: model.family().name().into(),
        params: model.spec.params.clone(),
        feature_names: model.feature_names.clone(),
        clip: model.clip,
        parts,
    }
}

/// MLflow's signature column list: a JSON string as Python's `json.dumps` writes it.
fn signature_inputs(names: &[String]) -> String {
    let cols: Vec<String> = names
        .iter()
        .map(|n| {
            format!(
                "{{\"type\": \"double\", \"name\": {}, \"required\": true}}",
                serde_json::Value::String(n.clone())
            )
        })
        .collect();
    format!("[{}]", cols.join(", "))
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` in UTC for a Unix time.
pub fn utc_timestamp(since_epoch: std::time::Duration) -> String {
    chrono::DateTime::from_timestamp(since_epoch.as_secs() as i64, since_epoch.subsec_nanos())
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .unwrap_or_default()
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> BundleError {
    let path = path.display().to_string();
    move |source| BundleError::Io {
        action,
        path,
        source,
    }
}

fn invalid(path: &Path, what: &'static str, detail: impl ToString) -> BundleError {
    BundleError::Invalid {
        path: path.display().to_string(),
        what,
        detail: detail.to_string(),
    }
}

/// Writes `model` as a bundle into `dir` (created if missing; files inside are replaced).
/// Returns the paths written.
pub fn save(dir: &Path, model: &Model, meta: &BundleMeta) -> Result<Vec<PathBuf>, BundleError> {
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let mut tensors = Tensors { items: Vec::new() };
    let doc = model_doc(model, "", &mut tensors);
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .items
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
        })
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(dir, "set of weights", e))?;
    let st_meta = BTreeMap::from([
        ("format".to_string(), "pt".to_string()),
        (
            "vintner.family".to_string(),
            model.family().name().to_string(),
        ),
    ]);
    // Streamed to the file: the weights of a large forest are not copied once more in memory.
    let weights_path = dir.join(WEIGHTS_FILE);
    safetensors::serialize_to_file(views, Some(st_meta.into_iter().collect()), &weights_path)
        .map_err(|e| invalid(dir, "set of weights", e))?;
    let mut written = vec![weights_path.clone()];
    let mut put = |name: &str, bytes: &[u8]| -> Result<u64, BundleError> {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(io("write", &path))?;
        written.push(path);
        Ok(bytes.len() as u64)
    };
    let mut size = std::fs::metadata(&weights_path)
        .map_err(io("write", &weights_path))?
        .len();
    let model_json = serde_json::to_vec_pretty(&doc).map_err(|e| invalid(dir, "model", e))?;
    size += put(MODEL_FILE, &model_json)?;
    #[derive(Serialize)]
    struct SchemaDoc<'a> {
        format_version: u32,
        data_md5: &'a str,
        #[serde(flatten)]
        schema: &'a Schema,
    }
    let schema_json = serde_json::to_vec_pretty(&SchemaDoc {
        format_version: FORMAT_VERSION,
        data_md5: &meta.data_md5,
        schema: &meta.schema,
    })
    .map_err(|e| invalid(dir, "schema", e))?;
    size += put(SCHEMA_FILE, &schema_json)?;
    let example = serde_json::json!({
        "columns": model.feature_names,
        "data": meta.input_example,
    });
    size += put(INPUT_EXAMPLE_FILE, example.to_string().as_bytes())?;
    let flavor = VintnerFlavor {
        family: model.family().name().into(),
        format_version: FORMAT_VERSION,
        model: MODEL_FILE.into(),
        weights: WEIGHTS_FILE.into(),
        schema: SCHEMA_FILE.into(),
        vintner_version: env!("CARGO_PKG_VERSION").into(),
        params: model.spec.params.clone(),
    };
    let flavor = serde_norway::to_value(&flavor).map_err(|e| invalid(dir, "MLmodel", e))?;
    let created = if meta.utc_time_created.is_empty() {
        utc_timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default(),
        )
    } else {
        meta.utc_time_created.clone()
    };
    let mlmodel = MlModelFile {
        flavors: BTreeMap::from([("vintner".to_string(), flavor)]),
        metadata: BTreeMap::from([
            ("data_md5".to_string(), meta.data_md5.clone()),
            (
                "target".to_string(),
                meta.schema
                    .target()
                    .map_or(String::new(), |t| t.name.clone()),
            ),
            ("training_rows".to_string(), meta.schema.rows.to_string()),
        ]),
        model_size_bytes: size,
        run_id: meta.run_id.clone(),
        saved_input_example_info: InputExampleInfo {
            artifact_path: INPUT_EXAMPLE_FILE.into(),
            pandas_orient: "split".into(),
            kind: "dataframe".into(),
        },
        signature: Signature {
            inputs: signature_inputs(&model.feature_names),
            outputs: "[{\"type\": \"double\", \"required\": true}]".into(),
            params: None,
        },
        utc_time_created: created,
    };
    let yaml = serde_norway::to_string(&mlmodel).map_err(|e| invalid(dir, "MLmodel", e))?;
    put(MLMODEL_FILE, yaml.as_bytes())?;
    Ok(written)
}

/// The weights file, opened for positioned reads of one tensor at a time instead of read whole:
/// the arrays of a large forest (tens of MB) go from the page cache straight into its trees,
/// with no copy of the file in memory (half the memory a load touches, and the time that costs).
/// The header is parsed and checked by the `safetensors` crate, as a whole-file read would be.
struct Weights {
    file: std::fs::File,
    path: PathBuf,
    /// Where the tensors' data starts in the file (after the length and the header).
    data_start: u64,
    meta: safetensors::tensor::Metadata,
}

impl Weights {
    fn open(path: &Path) -> Result<Weights, BundleError> {
        use std::os::unix::fs::FileExt;
        let file = std::fs::File::open(path).map_err(io("read", path))?;
        let len = file.metadata().map_err(io("read", path))?.len();
        let bad = |detail: String| invalid(path, "safetensors file", detail);
        let mut n = [0u8; 8];
        file.read_exact_at(&mut n, 0)
            .map_err(|_| bad(format!("the file is {len} bytes, too short for a header")))?;
        let n = u64::from_le_bytes(n);
        if n > len.saturating_sub(8) {
            return Err(bad(format!(
                "the header says it is {n} bytes, longer than the file ({len} bytes)"
            )));
        }
        let mut header = vec![0u8; n as usize];
        file.read_exact_at(&mut header, 8)
            .map_err(io("read", path))?;
        let meta: safetensors::tensor::Metadata =
            serde_json::from_slice(&header).map_err(|e| bad(format!("invalid header: {e}")))?;
        let data_start = 8 + n;
        if data_start + meta.data_len() as u64 != len {
            return Err(bad(format!(
                "the header describes {} bytes of tensors, the file holds {}",
                meta.data_len(),
                len - data_start
            )));
        }
        Ok(Weights {
            file,
            path: path.to_path_buf(),
            data_start,
            meta,
        })
    }

    /// A tensor's shape and where its bytes are in the file (offset, length).
    fn locate(&self, name: &str, dtype: Dtype) -> Result<(Vec<usize>, u64, usize), BundleError> {
        let t = self.meta.info(name).ok_or_else(|| {
            invalid(
                &self.path,
                "set of weights",
                format!("tensor `{name}` is missing"),
            )
        })?;
        if t.dtype != dtype {
            return Err(invalid(
                &self.path,
                "set of weights",
                format!("tensor `{name}` is {:?}, expected {dtype:?}", t.dtype),
            ));
        }
        let (a, b) = t.data_offsets;
        Ok((t.shape.clone(), self.data_start + a as u64, b - a))
    }

    /// Fills `buf` from `offset` of the file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), BundleError> {
        use std::os::unix::fs::FileExt;
        self.file
            .read_exact_at(buf, offset)
            .map_err(io("read", &self.path))
    }

    /// A whole tensor's shape and bytes (for the small ones).
    fn tensor(&self, name: &str, dtype: Dtype) -> Result<(Vec<usize>, Vec<u8>), BundleError> {
        let (shape, offset, len) = self.locate(name, dtype)?;
        let mut bytes = vec![0u8; len];
        self.read_at(&mut bytes, offset)?;
        Ok((shape, bytes))
    }
}

fn read_f64(w: &Weights, name: &str, len: Option<usize>) -> Result<Vec<f64>, BundleError> {
    let (_, data) = w.tensor(name, Dtype::F64)?;
    let v: Vec<f64> = data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    if let Some(l) = len
        && v.len() != l
    {
        return Err(invalid(
            &w.path,
            "set of weights",
            format!("tensor `{name}` has {} values, expected {l}", v.len()),
        ));
    }
    Ok(v)
}

fn read_trees(
    w: &Weights,
    prefix: &str,
    n_trees: usize,
    n_features: usize,
) -> Result<Vec<Tree>, BundleError> {
    use rayon::prelude::*;
    let (_, feature, feature_len) = w.locate(&format!("{prefix}trees.feature"), Dtype::I32)?;
    let (_, value, value_len) = w.locate(&format!("{prefix}trees.value"), Dtype::F64)?;
    let (_, right, right_len) = w.locate(&format!("{prefix}trees.right"), Dtype::I32)?;
    let (_, off) = w.tensor(&format!("{prefix}trees.offsets"), Dtype::I64)?;
    let offsets: Vec<i64> = off
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect();
    let bad = |d: String| invalid(&w.path, "set of weights", d);
    let n_nodes = feature_len / 4;
    if right_len / 4 != n_nodes || value_len / 8 != n_nodes || offsets.len() != n_trees + 1 {
        return Err(bad(format!(
            "tree arrays of `{prefix}` do not match {n_trees} trees"
        )));
    }
    // Trees are read, rebuilt and checked in parallel, each through small buffers that stay in
    // the CPU's cache (one set per worker).
    offsets
        .par_windows(2)
        .map_init(
            || (Vec::new(), Vec::new(), Vec::new()),
            |(f, r, v): &mut (Vec<u8>, Vec<u8>, Vec<u8>), pair| {
                let (a, b) = (pair[0], pair[1]);
                if a < 0 || b < a || b as usize > n_nodes {
                    return Err(bad("tree offsets out of range".into()));
                }
                let (a, m) = (a as u64, (b - a) as usize);
                f.resize(4 * m, 0);
                r.resize(4 * m, 0);
                v.resize(8 * m, 0);
                w.read_at(f, feature + 4 * a)?;
                w.read_at(r, right + 4 * a)?;
                w.read_at(v, value + 8 * a)?;
                let tree = Tree {
                    nodes: f
                        .chunks_exact(4)
                        .zip(r.chunks_exact(4))
                        .zip(v.chunks_exact(8))
                        .map(|((f, r), v)| Node {
                            value: f64::from_le_bytes(v.try_into().expect("8 bytes")),
                            feature: i32::from_le_bytes(f.try_into().expect("4 bytes")),
                            right: i32::from_le_bytes(r.try_into().expect("4 bytes")).max(0) as u32,
                        })
                        .collect(),
                };
                tree.validate(n_features).map_err(bad)?;
                Ok(tree)
            },
        )
        .collect()
}

fn rebuild(doc: ModelDoc, w: &Weights) -> Result<Model, BundleError> {
    let path = w.path.as_path();
    if doc.format_version > FORMAT_VERSION {
        return Err(BundleError::Newer {
            path: path.display().to_string(),
            found: doc.format_version,
            supported: FORMAT_VERSION,
        });
    }
    let spec =
        ModelSpec::from_params(&doc.family, &doc.params).map_err(|source| BundleError::Model {
            path: path.display().to_string(),
            source,
        })?;
    let d = doc.feature_names.len();
    let fitted = match doc.parts {
        Parts::Forest {
            prefix,
            n_trees,
            f32_inputs,
        } => Fitted::Forest(Forest {
            n_features: d,
            trees: read_trees(w, &prefix, n_trees, d)?,
            f32_inputs,
        }),
        Parts::Gbm { prefix, n_trees } => Fitted::Gbm(Gbm {
            n_features: d,
            init: read_f64(w, &format!("{prefix}init"), Some(1))?[0],
            trees: read_trees(w, &prefix, n_trees, d)?,
        }),
        Parts::Mlp {
            prefix,
            layers,
            x_scale,
            y_scale,
        } => {
            let mut out = Vec::new();
            let mut expect_in = d;
            for (i, (n_in, n_out)) in layers.into_iter().enumerate() {
                if n_in != expect_in || x_scale.len() != d {
                    return Err(invalid(path, "model", "MLP layer sizes do not chain"));
                }
                expect_in = n_out;
                out.push(Layer {
                    n_in,
                    n_out,
                    weight: read_f64(w, &format!("{prefix}l{}.weight", i + 1), Some(n_in * n_out))?,
                    bias: read_f64(w, &format!("{prefix}l{}.bias", i + 1), Some(n_out))?,
                });
            }
            if expect_in != 1 || out.is_empty() {
                return Err(invalid(path, "model", "the MLP must end in one output"));
            }
            Fitted::Mlp(Mlp {
                layers: out,
                x_scale,
                y_scale,
            })
        }
        Parts::Linear { prefix } => Fitted::Linear(Linear {
            coef: read_f64(w, &format!("{prefix}coef"), Some(d))?,
            intercept: read_f64(w, &format!("{prefix}intercept"), Some(1))?[0],
            iterations: 0,
        }),
        Parts::Blend { members } => {
            let mut out = Vec::new();
            for m in members {
                out.push((m.weight, rebuild(m.model, w)?));
            }
            Fitted::Blend(out)
        }
    };
    Ok(Model {
        spec,
        feature_names: doc.feature_names,
        clip: doc.clip,
        fitted,
        history: BTreeMap::new(),
    })
}

/// Loads a bundle written by [`save`].
pub fn load(dir: &Path) -> Result<(Model, BundleMeta), BundleError> {
    let mlmodel_path = dir.join(MLMODEL_FILE);
    let text = std::fs::read_to_string(&mlmodel_path).map_err(io("read", &mlmodel_path))?;
    let mlmodel: MlModelFile =
        serde_norway::from_str(&text).map_err(|e| invalid(&mlmodel_path, "MLmodel file", e))?;
    let flavor_value = mlmodel
        .flavors
        .get("vintner")
        .ok_or_else(|| BundleError::NotVintner {
            path: mlmodel_path.display().to_string(),
            flavors: mlmodel
                .flavors
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    #[derive(Deserialize)]
    struct VersionOnly {
        format_version: u32,
    }
    let version: VersionOnly = serde_norway::from_value(flavor_value.clone())
        .map_err(|e| invalid(&mlmodel_path, "MLmodel file", e))?;
    if version.format_version > FORMAT_VERSION {
        return Err(BundleError::Newer {
            path: mlmodel_path.display().to_string(),
            found: version.format_version,
            supported: FORMAT_VERSION,
        });
    }
    let flavor: VintnerFlavor = serde_norway::from_value(flavor_value.clone())
        .map_err(|e| invalid(&mlmodel_path, "MLmodel file", e))?;
    let model_path = dir.join(&flavor.model);
    let doc: ModelDoc =
        serde_json::from_slice(&std::fs::read(&model_path).map_err(io("read", &model_path))?)
            .map_err(|e| invalid(&model_path, "model", e))?;
    let weights_path = dir.join(&flavor.weights);
    let model = rebuild(doc, &Weights::open(&weights_path)?)?;
    let schema_path = dir.join(&flavor.schema);
    #[derive(Deserialize)]
    struct SchemaDoc {
        data_md5: String,
        #[serde(flatten)]
        schema: Schema,
    }
    let schema: SchemaDoc =
        serde_json::from_slice(&std::fs::read(&schema_path).map_err(io("read", &schema_path))?)
            .map_err(|e| invalid(&schema_path, "schema", e))?;
    let example_path = dir.join(&mlmodel.saved_input_example_info.artifact_path);
    let input_example = match std::fs::read(&example_path) {
        Ok(bytes) => {
            #[derive(Deserialize)]
            struct Split {
                data: Vec<Vec<f64>>,
            }
            serde_json::from_slice::<Split>(&bytes)
                .map_err(|e| invalid(&example_path, "input example", e))?
                .data
        }
        Err(_) => Vec::new(),
    };
    Ok((
        model,
        BundleMeta {
            schema: schema.schema,
            data_md5: schema.data_md5,
            input_example,
            run_id: mlmodel.run_id,
            utc_time_created: mlmodel.utc_time_created,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        use std::time::Duration;
        assert_eq!(
            utc_timestamp(Duration::from_secs(0)),
            "1970-01-01 00:00:00.000000"
        );
        assert_eq!(
            utc_timestamp(Duration::from_micros(1_795_867_752_169_959)),
            "2026-11-28 12:09:12.169959"
        );
    }

    /// A small forest saved as a bundle, and its weights file.
    fn forest_bundle(dir: &Path) -> (Model, PathBuf) {
        let rows: Vec<Vec<f64>> = (0..60)
            .map(|i| vec![(i % 7) as f64, (i * 13 % 11) as f64 / 3.0])
            .collect();
        let y: Vec<f64> = rows.iter().map(|r| r[0] + 2.0 * r[1]).collect();
        let x = super::super::dataset::Matrix::from_rows(&rows).unwrap();
        let names = vec!["a".to_string(), "b".to_string()];
        let params = [("n_estimators".to_string(), "4".to_string())];
        let model = ModelSpec::parse("extra-trees", &params)
            .unwrap()
            .fit(&x, &y, &names, 3, &crate::progress::Silent)
            .unwrap();
        let meta = BundleMeta {
            schema: Schema {
                rows: 60,
                columns: Vec::new(),
                files: Vec::new(),
            },
            data_md5: "0123456789abcdef0123456789abcdef".into(),
            input_example: Vec::new(),
            run_id: None,
            utc_time_created: String::new(),
        };
        save(dir, &model, &meta).unwrap();
        (model, dir.join(WEIGHTS_FILE))
    }

    #[test]
    fn forest_weights_read_tensor_by_tensor_load_identically() {
        let dir = tempfile::tempdir().unwrap();
        let (model, _) = forest_bundle(dir.path());
        let (loaded, _) = load(dir.path()).unwrap();
        assert_eq!(loaded.fitted, model.fitted);
    }

    /// Truncated, overlong or inconsistent weights are an error naming the file, never a panic.
    #[test]
    fn damaged_forest_weights_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (_, weights) = forest_bundle(dir.path());
        let good = std::fs::read(&weights).unwrap();
        let n = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
        let header: serde_json::Value = serde_json::from_slice(&good[8..8 + n]).unwrap();
        let start = |name: &str| 8 + n + header[name]["data_offsets"][0].as_u64().unwrap() as usize;
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("truncated", good[..good.len() - 5].to_vec()),
            ("one byte too many", [&good[..], &[0]].concat()),
            ("no header", good[..4].to_vec()),
        ];
        let mut overlong = good.clone();
        overlong[..8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
        cases.push(("overlong header", overlong));
        let mut bad_right = good.clone();
        let r = start("trees.right");
        bad_right[r..r + 4].copy_from_slice(&1_000_000i32.to_le_bytes());
        bad_right[r + 4..r + 8].copy_from_slice(&1_000_000i32.to_le_bytes());
        let f = start("trees.feature");
        bad_right[f..f + 4].copy_from_slice(&0i32.to_le_bytes());
        cases.push(("a child outside its tree", bad_right));
        let mut bad_feature = good.clone();
        let last =
            8 + n + header["trees.feature"]["data_offsets"][1].as_u64().unwrap() as usize - 4;
        bad_feature[last..last + 4].copy_from_slice(&(-7i32).to_le_bytes());
        cases.push(("a leaf with feature -7", bad_feature));
        let mut bad_offsets = good.clone();
        let o = start("trees.offsets") + 8;
        bad_offsets[o..o + 8].copy_from_slice(&(-3i64).to_le_bytes());
        cases.push(("negative tree offset", bad_offsets));
        for (what, bytes) in cases {
            std::fs::write(&weights, &bytes).unwrap();
            let err = load(dir.path()).map(|_| ()).unwrap_err();
            if what == "a leaf with feature -7" {
                assert!(err.to_string().contains("has feature -7"), "{err}");
            }
            assert!(
                matches!(err, BundleError::Invalid { .. }),
                "{what}: {err:?}"
            );
            assert!(
                err.to_string().contains(&weights.display().to_string()),
                "{what}: {err}"
            );
        }
        std::fs::write(&weights, &good).unwrap();
        assert!(load(dir.path()).is_ok());
    }

    #[test]
    fn signature_json_matches_mlflow_style() {
        assert_eq!(
            signature_inputs(&["a".into(), "b \"q\"".into()]),
            r#"[{"type": "double", "name": "a", "required": true}, {"type": "double", "name": "b \"q\"", "required": true}]"#
        );
    }
}
