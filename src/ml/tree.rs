//! Regression trees: one compact node layout shared by the forests and gradient boosting, and the
//! builder for extremely randomized (ExtraTrees) and best-split (random forest) trees, following
//! scikit-learn's splitters. Depends on `rng` only.

use serde::{Deserialize, Serialize};

use super::rng::Rng;

/// Features (below `1e-7` apart) are treated as equal, as scikit-learn's `FEATURE_THRESHOLD`.
const FEATURE_THRESHOLD: f64 = 1e-7;

/// One node of a [`Tree`]: 16 bytes, so a prediction touches one cache line per level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node {
    /// Threshold of an inner node, prediction of a leaf.
    pub value: f64,
    /// Feature index of an inner node, `-1` for a leaf.
    pub feature: i32,
    /// Right child of an inner node (the left child is the next node).
    pub right: u32,
}

/// A fitted regression tree in pre-order: the left child of node `i` is `i + 1`, the right child
/// is `nodes[i].right`; a leaf has `feature == -1` and its prediction in `value`, an inner node
/// its threshold in `value` (a row goes left when `row[feature] <= value`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
}

impl Tree {
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Appends a node (`feature == -1` for a leaf) and returns its index.
    pub fn push(&mut self, feature: i32, value: f64) -> usize {
        self.nodes.push(Node {
            value,
            feature,
            right: 0,
        });
        self.nodes.len() - 1
    }

    pub fn predict_row(&self, row: &[f64]) -> f64 {
        let mut i = 0;
        loop {
            let node = self.nodes[i];
            if node.feature < 0 {
                return node.value;
            }
            i = if row[node.feature as usize] <= node.value {
                i + 1
            } else {
                node.right as usize
            };
        }
    }

    /// Adds this tree's prediction for rows `start..start + acc.len()` of `x` to `acc`. Sixteen
    /// rows walk down at once, so that their independent node loads overlap instead of waiting
    /// on each other; a row that reaches its leaf hands its lane to the next row. The tree must
    /// be valid.
    pub fn predict_add(&self, x: &super::dataset::Matrix, start: usize, acc: &mut [f64]) {
        const LANES: usize = 16;
        let nodes = &self.nodes[..];
        let m = acc.len();
        let mut row = [0usize; LANES];
        let mut pos = [0u32; LANES];
        let mut live = [false; LANES];
        let mut n_live = LANES.min(m);
        for k in 0..n_live {
            row[k] = k;
            live[k] = true;
        }
        let mut next = n_live;
        while n_live > 0 {
            for k in 0..LANES {
                if !live[k] {
                    continue;
                }
                let node = nodes[pos[k] as usize];
                if node.feature < 0 {
                    acc[row[k]] += node.value;
                    if next < m {
                        row[k] = next;
                        pos[k] = 0;
                        next += 1;
                    } else {
                        live[k] = false;
                        n_live -= 1;
                    }
                    continue;
                }
                let v = x.get(start + row[k], node.feature as usize);
                pos[k] = if v <= node.value {
                    pos[k] + 1
                } else {
                    node.right
                };
            }
        }
    }

    /// Checks that the nodes describe a valid tree over `n_features` inputs, so that a corrupt
    /// bundle gives an error instead of a panic or an endless loop.
    pub fn validate(&self, n_features: usize) -> Result<(), String> {
        let n = self.nodes.len();
        if n == 0 {
            return Err("a tree has no nodes".into());
        }
        // One pass without branches first (leaves and inner nodes alternate unpredictably, and
        // loading a large forest checks millions of nodes); the node at fault is looked for only
        // when there is one.
        let valid = self.nodes.iter().enumerate().fold(true, |ok, (i, node)| {
            let (f, r) = (node.feature, node.right as usize);
            let inner = ((f as u32 as usize) < n_features) & (i + 1 < n) & (r > i + 1) & (r < n);
            ok & ((f == -1) | inner)
        });
        if valid {
            return Ok(());
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let f = node.feature;
            if f >= 0 {
                let r = node.right as usize;
                if f as usize >= n_features || i + 1 >= n || r <= i + 1 || r >= n {
                    return Err(format!("node {i} of a tree points outside the tree"));
                }
            } else if f != -1 {
                return Err(format!("node {i} of a tree has feature {f}"));
            }
        }
        Ok(())
    }
}

/// How many features a split considers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum MaxFeatures {
    All,
    Fraction(f64),
    Count(usize),
    Sqrt,
    Log2,
}

impl MaxFeatures {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "all" | "1.0" | "None" => Some(Self::All),
            "sqrt" => Some(Self::Sqrt),
            "log2" => Some(Self::Log2),
            t if t.contains('.') => t
                .parse::<f64>()
                .ok()
                .filter(|v| *v > 0.0 && *v <= 1.0)
                .map(Self::Fraction),
            t => t.parse::<usize>().ok().filter(|v| *v > 0).map(Self::Count),
        }
    }

    pub fn resolve(self, n_features: usize) -> usize {
        let k = match self {
            Self::All => n_features,
            Self::Fraction(f) => (f * n_features as f64) as usize,
            Self::Count(c) => c,
            Self::Sqrt => (n_features as f64).sqrt() as usize,
            Self::Log2 => (n_features as f64).log2() as usize,
        };
        k.clamp(1, n_features.max(1))
    }

    pub fn to_param(self) -> String {
        match self {
            Self::All => "1.0".into(),
            Self::Fraction(f) => format!("{f:?}"),
            Self::Count(c) => c.to_string(),
            Self::Sqrt => "sqrt".into(),
            Self::Log2 => "log2".into(),
        }
    }
}

/// Settings of one tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TreeParams {
    /// Thresholds drawn uniformly between the node's min and max (ExtraTrees) instead of the best
    /// threshold (CART / random forest).
    pub random_splits: bool,
    /// Features considered per split (resolved against the number of features).
    pub max_features: usize,
    pub min_samples_leaf: usize,
    pub min_samples_split: usize,
    pub max_depth: usize,
}

struct Task {
    start: usize,
    end: usize,
    depth: usize,
    /// The node whose `right` must point to this one.
    patch_parent: Option<usize>,
}

impl Task {
    /// The root task over `n` rows.
    fn root(n: usize) -> Task {
        Task {
            start: 0,
            end: n,
            depth: 0,
            patch_parent: None,
        }
    }

    /// The two children of `node`, split at `mid`, in the order to push them (the left child is
    /// popped first, so it follows its parent in pre-order).
    fn children(&self, mid: usize, node: usize) -> [Task; 2] {
        [
            Task {
                start: mid,
                end: self.end,
                depth: self.depth + 1,
                patch_parent: Some(node),
            },
            Task {
                start: self.start,
                end: mid,
                depth: self.depth + 1,
                patch_parent: None,
            },
        ]
    }
}

/// Which features a split looks at, as scikit-learn draws them: in random order without
/// replacement, skipping constant ones, until `max_features` non-constant ones were seen. Every
/// builder draws through this, so the packed and the gathering ExtraTrees builders consume the
/// same random numbers and grow the same trees.
struct FeatureDraw {
    drawn: usize,
    visited: usize,
    max_features: usize,
}

impl FeatureDraw {
    fn new(max_features: usize) -> Self {
        Self {
            drawn: 0,
            visited: 0,
            max_features,
        }
    }

    /// The next feature to look at, or `None` when enough were seen. `features` is a
    /// permutation that the draws keep shuffling from node to node.
    fn next(&mut self, features: &mut [usize], rng: &mut Rng) -> Option<usize> {
        let d = features.len();
        if self.visited >= self.max_features || self.drawn >= d {
            return None;
        }
        let j = self.drawn + rng.below(d - self.drawn);
        features.swap(self.drawn, j);
        self.drawn += 1;
        Some(features[self.drawn - 1])
    }

    /// Whether the last feature, ranging over `lo..=hi` in the node, counts as one looked at
    /// (a constant one does not).
    fn varies(&mut self, lo: f64, hi: f64) -> bool {
        let constant = hi <= lo + FEATURE_THRESHOLD;
        let varies = !constant;
        self.visited += usize::from(varies);
        varies
    }
}

/// An ExtraTrees threshold: uniform in `[lo, hi)`, and `lo` if rounding reached `hi`.
fn random_threshold(lo: f64, hi: f64, rng: &mut Rng) -> f64 {
    let thr = lo + rng.uniform() * (hi - lo);
    if thr >= hi { lo } else { thr }
}

/// The training rows laid out for the ExtraTrees builder: each row's features as `f32` lanes,
/// then its `f64` target in the last two lanes, `width` lanes in all (a multiple of eight, at most
/// [`MAX_PACKED_WIDTH`]). A node then reads its own rows in sequential passes that cover every
/// feature at once and compile to vector instructions, instead of gathering one feature at a time
/// through sample ids. The features must be `f32` values (the precision forests split on, as
/// scikit-learn's trees), so widening a lane to `f64` gives the column's value exactly.
#[derive(Debug, Clone)]
pub struct PackedRows {
    width: usize,
    features: usize,
    data: Vec<f32>,
}

/// Widest packed row: 30 features and the target.
pub const MAX_PACKED_WIDTH: usize = 32;

impl PackedRows {
    /// Packs column-major `columns` and target `y`; `None` when there are too many features or
    /// a value is not an `f32` (the builder then gathers by sample id), or the columns do not
    /// fit the targets.
    pub fn new(columns: &[Vec<f64>], y: &[f64]) -> Option<Self> {
        let features = columns.len();
        let width = (features + 2).div_ceil(8) * 8;
        if width > MAX_PACKED_WIDTH
            || columns
                .iter()
                .any(|c| c.len() != y.len() || c.iter().any(|&v| f64::from(v as f32) != v))
        {
            return None;
        }
        let mut data = vec![0.0f32; width * y.len()];
        for (i, row) in data.chunks_exact_mut(width).enumerate() {
            for (f, col) in columns.iter().enumerate() {
                row[f] = col[i] as f32;
            }
            let bytes = y[i].to_ne_bytes();
            let (low, high) = bytes.split_at(4);
            row[width - 2] = f32::from_ne_bytes(low.try_into().expect("four bytes"));
            row[width - 1] = f32::from_ne_bytes(high.try_into().expect("four bytes"));
        }
        Some(Self {
            width,
            features,
            data,
        })
    }

    fn rows(&self) -> usize {
        self.data.len() / self.width
    }
}

/// The target of a packed row, from its last two lanes.
#[inline(always)]
fn target<const W: usize>(r: &[f32; W]) -> f64 {
    const { assert!(W >= 2) };
    // SAFETY: lanes `W - 2` and `W - 1` are inside the row and hold the target's bytes
    // (`PackedRows::new`); the read is unaligned.
    unsafe { r.as_ptr().add(W - 2).cast::<f64>().read_unaligned() }
}

/// Builds one tree over column-major `columns` and target `y` from the rows in `samples`
/// (which may repeat rows, for bootstrap samples). ExtraTrees read `packed` (the same rows,
/// packed) when it is given; the result is the same tree either way, up to the rounding of
/// sums of non-integer targets.
pub fn build_tree(
    columns: &[Vec<f64>],
    y: &[f64],
    packed: Option<&PackedRows>,
    samples: Vec<u32>,
    params: &TreeParams,
    rng: &mut Rng,
) -> Tree {
    if let Some(p) = packed.filter(|_| params.random_splits) {
        assert!(
            p.features == columns.len() && p.rows() == y.len(),
            "packed rows must be the columns' rows"
        );
        // Row width and the lanes the passes look at: the features, rounded up to whole
        // vectors of four `f64` (lanes past the features are never chosen).
        return match (p.width, p.features) {
            (8, _) => grow_packed::<8, 8>(p, &samples, params, rng),
            (16, ..=12) => grow_packed::<16, 12>(p, &samples, params, rng),
            (16, _) => grow_packed::<16, 16>(p, &samples, params, rng),
            (24, _) => grow_packed::<24, 24>(p, &samples, params, rng),
            (32, _) => grow_packed::<32, 32>(p, &samples, params, rng),
            (w, _) => unreachable!("packed width {w}"),
        };
    }
    grow_gathered(columns, y, samples, params, rng)
}

/// ExtraTrees over packed rows, with the vector width the CPU offers: AVX2 when it is there at
/// run time (the binary itself targets baseline x86-64), else the baseline instructions. Both
/// compile the same code, and neither fuses multiply-adds, so the trees are bit-identical.
fn grow_packed<const W: usize, const F: usize>(
    packed: &PackedRows,
    samples: &[u32],
    params: &TreeParams,
    rng: &mut Rng,
) -> Tree {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been found to support AVX2.
        return unsafe { grow_packed_avx2::<W, F>(packed, samples, params, rng) };
    }
    grow_packed_with::<W, F>(packed, samples, params, rng)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn grow_packed_avx2<const W: usize, const F: usize>(
    packed: &PackedRows,
    samples: &[u32],
    params: &TreeParams,
    rng: &mut Rng,
) -> Tree {
    grow_packed_with::<W, F>(packed, samples, params, rng)
}

/// The ExtraTrees builder proper. The rows of a node are contiguous in one of two buffers; a
/// split copies them into the other buffer (left rows first), so the children's rows are
/// contiguous too. Per node: one pass for every feature's min and max (which also tells a pure
/// node), the same random draws as [`random_split`], one pass counting all candidate thresholds
/// at once, and the partition.
#[inline(always)]
fn grow_packed_with<const W: usize, const F: usize>(
    packed: &PackedRows,
    samples: &[u32],
    params: &TreeParams,
    rng: &mut Rng,
) -> Tree {
    let d = packed.features;
    let (all, _) = packed.data.as_chunks::<W>();
    let mut even: Vec<[f32; W]> = samples.iter().map(|&i| all[i as usize]).collect();
    let mut odd: Vec<[f32; W]> = vec![[0.0; W]; even.len()];
    let mut features: Vec<usize> = (0..d).collect();
    let mut candidates: Vec<(usize, f64)> = Vec::with_capacity(d);
    let mut tree = Tree::default();
    let mut stack = vec![Task::root(even.len())];
    while let Some(task) = stack.pop() {
        let node = tree.len();
        if let Some(p) = task.patch_parent {
            tree.nodes[p].right = node as u32;
        }
        let (src, dst) = if task.depth % 2 == 0 {
            (&even[task.start..task.end], &mut odd[task.start..task.end])
        } else {
            (&odd[task.start..task.end], &mut even[task.start..task.end])
        };
        let n = src.len();
        let mut split = None;
        if n >= params.min_samples_split
            && n >= 2 * params.min_samples_leaf
            && task.depth < params.max_depth
        {
            let (lo, hi, y_lo, y_hi, sum) = min_max::<W, F>(src);
            if !nearly_constant(src, y_lo, y_hi) {
                candidates.clear();
                let mut draw = FeatureDraw::new(params.max_features);
                while let Some(f) = draw.next(&mut features, rng) {
                    let (lo, hi) = (f64::from(lo[f]), f64::from(hi[f]));
                    if draw.varies(lo, hi) {
                        candidates.push((f, random_threshold(lo, hi, rng)));
                    }
                }
                if !candidates.is_empty() {
                    let mut thresholds = [f64::NEG_INFINITY; F];
                    for &(f, thr) in &candidates {
                        thresholds[f] = thr;
                    }
                    let (n_left, sum_left) = count_left_packed(src, &thresholds);
                    // Counts stay floats (exact below 2^53): the same values as the integer
                    // arithmetic of `random_split`, without a conversion per candidate.
                    let (nf, msl) = (n as f64, params.min_samples_leaf as f64);
                    let mut best_proxy = f64::NEG_INFINITY;
                    for &(f, thr) in &candidates {
                        let (nl, nr) = (n_left[f], nf - n_left[f]);
                        if nl < msl || nr < msl {
                            continue;
                        }
                        let (sl, sr) = (sum_left[f], sum - sum_left[f]);
                        let proxy = sl * sl / nl + sr * sr / nr;
                        if proxy > best_proxy {
                            best_proxy = proxy;
                            split = Some((f, thr, nl as usize));
                        }
                    }
                }
            }
        }
        let Some((f, thr, n_left)) = split else {
            let sum: f64 = src.iter().map(target).sum();
            tree.push(-1, sum / n as f64);
            continue;
        };
        // Left rows to the front, right rows after them (the count tells where they start), in
        // order and without a branch per row.
        let (mut lo, mut ro) = (0, n_left);
        for r in src {
            let left = f64::from(r[f]) <= thr;
            let at = if left { lo } else { ro };
            dst[at] = *r;
            lo += usize::from(left);
            ro += usize::from(!left);
        }
        debug_assert_eq!(lo, n_left);
        tree.push(f as i32, thr);
        let mid = task.start + lo;
        stack.extend(task.children(mid, node));
    }
    tree
}

/// The minimum and maximum of the first `F` lanes over `rows`, those of the targets, and the
/// targets' sum (in row order).
#[inline(always)]
fn min_max<const W: usize, const F: usize>(
    rows: &[[f32; W]],
) -> ([f32; F], [f32; F], f64, f64, f64) {
    let mut lo = [f32::INFINITY; F];
    let mut hi = [f32::NEG_INFINITY; F];
    let (mut y_lo, mut y_hi, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
    for r in rows {
        for j in 0..F {
            lo[j] = if r[j] < lo[j] { r[j] } else { lo[j] };
            hi[j] = if r[j] > hi[j] { r[j] } else { hi[j] };
        }
        let y = target(r);
        y_lo = if y < y_lo { y } else { y_lo };
        y_hi = if y > y_hi { y } else { y_hi };
        sum += y;
    }
    (lo, hi, y_lo, y_hi, sum)
}

/// Whether the targets vary so little that the node is a leaf: their squared deviations sum to
/// at most `EPSILON` per row, as in [`grow_gathered`]. That sum is at least half the squared
/// spread, so it is only computed when the spread is tiny.
#[inline(always)]
fn nearly_constant<const W: usize>(rows: &[[f32; W]], lo: f64, hi: f64) -> bool {
    let n = rows.len() as f64;
    let spread = hi - lo;
    if 0.25 * spread * spread > f64::EPSILON * n {
        return false;
    }
    let mean = rows.iter().map(target).sum::<f64>() / n;
    let sq: f64 = rows
        .iter()
        .map(|r| (target(r) - mean) * (target(r) - mean))
        .sum();
    sq <= f64::EPSILON * n
}

/// For each of the first `F` lanes, the rows with `value <= thresholds[lane]` and the sum of
/// their targets. The values are widened to `f64`, so the masks have the width of the sums; one
/// set of accumulators, so they stay in registers.
#[inline(always)]
fn count_left_packed<const W: usize, const F: usize>(
    rows: &[[f32; W]],
    thresholds: &[f64; F],
) -> ([f64; F], [f64; F]) {
    let mut count = [0.0f64; F];
    let mut sum_left = [0.0f64; F];
    for r in rows {
        let y = target(r);
        for j in 0..F {
            let left = f64::from(r[j]) <= thresholds[j];
            count[j] += if left { 1.0 } else { 0.0 };
            sum_left[j] += if left { y } else { 0.0 };
        }
    }
    (count, sum_left)
}

/// The builder that gathers each feature through sample ids: random forests (which sort), and
/// ExtraTrees over rows too wide to pack.
fn grow_gathered(
    columns: &[Vec<f64>],
    y: &[f64],
    mut samples: Vec<u32>,
    params: &TreeParams,
    rng: &mut Rng,
) -> Tree {
    let d = columns.len();
    // Checked once so that the hot loops can read columns unchecked.
    assert!(
        columns.iter().all(|c| c.len() == y.len())
            && samples.iter().all(|&i| (i as usize) < y.len()),
        "sample ids and columns must fit the targets"
    );
    let mut tree = Tree::default();
    let mut stack = vec![Task::root(samples.len())];
    let mut features: Vec<usize> = (0..d).collect();
    let mut vals: Vec<f64> = Vec::with_capacity(samples.len());
    let mut best_vals: Vec<f64> = Vec::with_capacity(samples.len());
    // The targets of `samples`, kept in the same order (partitioned along with them), so a
    // node reads its targets as one contiguous slice.
    let mut targets: Vec<f64> = samples.iter().map(|&i| y[i as usize]).collect();
    let mut pairs: Vec<(f64, f64)> = Vec::new();
    while let Some(task) = stack.pop() {
        let node = tree.len();
        if let Some(p) = task.patch_parent {
            tree.nodes[p].right = node as u32;
        }
        let idx = &mut samples[task.start..task.end];
        let ys = &mut targets[task.start..task.end];
        let n = idx.len();
        let sum: f64 = ys.iter().sum();
        let mean = sum / n as f64;
        let sq: f64 = ys.iter().map(|v| (v - mean) * (v - mean)).sum();
        let leaf = n < params.min_samples_split
            || n < 2 * params.min_samples_leaf
            || task.depth >= params.max_depth
            || sq <= f64::EPSILON * n as f64;
        let best = if leaf {
            None
        } else if params.random_splits {
            random_split(
                columns,
                idx,
                ys,
                sum,
                params,
                &mut features,
                &mut vals,
                &mut best_vals,
                rng,
            )
        } else {
            best_split(
                columns,
                idx,
                ys,
                sum,
                params,
                &mut features,
                &mut pairs,
                rng,
            )
        };
        match best {
            None => {
                tree.push(-1, mean);
            }
            Some((f, thr)) => {
                // partition: rows with x <= thr first (ExtraTrees kept the winner's values)
                let mut lo = 0;
                if params.random_splits {
                    // Branch-free (the branch would be mispredicted half the time), moving
                    // exactly what `if v <= thr { swap(lo, k); lo += 1 }` moves.
                    for (k, &v) in best_vals[..n].iter().enumerate() {
                        let left = v <= thr;
                        let (a, b) = (idx[lo], idx[k]);
                        idx[lo] = if left { b } else { a };
                        idx[k] = if left { a } else { b };
                        let (a, b) = (ys[lo], ys[k]);
                        ys[lo] = if left { b } else { a };
                        ys[k] = if left { a } else { b };
                        lo += usize::from(left);
                    }
                } else {
                    let col = &columns[f];
                    for k in 0..n {
                        if col[idx[k] as usize] <= thr {
                            idx.swap(lo, k);
                            ys.swap(lo, k);
                            lo += 1;
                        }
                    }
                }
                tree.push(f as i32, thr);
                let mid = task.start + lo;
                stack.extend(task.children(mid, node));
            }
        }
    }
    tree
}

/// ExtraTrees split: for up to `max_features` non-constant features (in random order), one
/// uniform threshold each; the best by variance reduction wins.
#[allow(clippy::too_many_arguments)]
fn random_split(
    columns: &[Vec<f64>],
    idx: &[u32],
    ys: &[f64],
    sum: f64,
    params: &TreeParams,
    features: &mut [usize],
    vals: &mut Vec<f64>,
    best_vals: &mut Vec<f64>,
    rng: &mut Rng,
) -> Option<(usize, f64)> {
    let n = idx.len();
    let mut best: Option<(usize, f64)> = None;
    let mut best_proxy = f64::NEG_INFINITY;
    let mut draw = FeatureDraw::new(params.max_features);
    while let Some(f) = draw.next(features, rng) {
        let (lo, hi) = gather_min_max(&columns[f], idx, vals);
        if !draw.varies(lo, hi) {
            continue;
        }
        let thr = random_threshold(lo, hi, rng);
        let (n_left, sum_left) = count_left(vals, ys, thr);
        let n_right = n - n_left;
        if n_left < params.min_samples_leaf || n_right < params.min_samples_leaf {
            continue;
        }
        let sum_right = sum - sum_left;
        let proxy = sum_left * sum_left / n_left as f64 + sum_right * sum_right / n_right as f64;
        if proxy > best_proxy {
            best_proxy = proxy;
            best = Some((f, thr));
            std::mem::swap(vals, best_vals);
        }
    }
    best
}

/// Copies the values of `idx` from `col` into `vals` and returns their minimum and maximum, in
/// one pass with four independent lanes so the loop is not latency-bound.
fn gather_min_max(col: &[f64], idx: &[u32], vals: &mut Vec<f64>) -> (f64, f64) {
    vals.resize(idx.len(), 0.0);
    let mut lo = [f64::INFINITY; 4];
    let mut hi = [f64::NEG_INFINITY; 4];
    let mut dst = vals.chunks_exact_mut(4);
    let mut src = idx.chunks_exact(4);
    for (d, s) in (&mut dst).zip(&mut src) {
        for k in 0..4 {
            // SAFETY: `build_tree` checked that every sample id is below every column's length,
            // and `idx` only ever holds those ids.
            let x = unsafe { *col.get_unchecked(s[k] as usize) };
            d[k] = x;
            lo[k] = if x < lo[k] { x } else { lo[k] };
            hi[k] = if x > hi[k] { x } else { hi[k] };
        }
    }
    for (d, &i) in dst.into_remainder().iter_mut().zip(src.remainder()) {
        let x = col[i as usize];
        *d = x;
        lo[0] = if x < lo[0] { x } else { lo[0] };
        hi[0] = if x > hi[0] { x } else { hi[0] };
    }
    (
        lo[0].min(lo[1]).min(lo[2].min(lo[3])),
        hi[0].max(hi[1]).max(hi[2].max(hi[3])),
    )
}

/// Rows with `value <= thr` and the sum of their targets (four lanes, fixed order).
fn count_left(vals: &[f64], ys: &[f64], thr: f64) -> (usize, f64) {
    let mut n = [0usize; 4];
    let mut s = [0.0f64; 4];
    let vc = vals.chunks_exact(4);
    let yc = ys.chunks_exact(4);
    let (vr, yr) = (vc.remainder(), yc.remainder());
    for (v, y) in vc.zip(yc) {
        for k in 0..4 {
            let mask = u64::from(v[k] <= thr).wrapping_neg();
            n[k] += (mask & 1) as usize;
            s[k] += f64::from_bits(y[k].to_bits() & mask);
        }
    }
    for (v, y) in vr.iter().zip(yr) {
        let left = *v <= thr;
        n[0] += usize::from(left);
        s[0] += if left { *y } else { 0.0 };
    }
    (n[0] + n[1] + n[2] + n[3], (s[0] + s[1]) + (s[2] + s[3]))
}

/// CART split: for up to `max_features` non-constant features, the best midpoint threshold.
#[allow(clippy::too_many_arguments)]
fn best_split(
    columns: &[Vec<f64>],
    idx: &[u32],
    ys: &[f64],
    sum: f64,
    params: &TreeParams,
    features: &mut [usize],
    pairs: &mut Vec<(f64, f64)>,
    rng: &mut Rng,
) -> Option<(usize, f64)> {
    let n = idx.len();
    let msl = params.min_samples_leaf;
    let mut best: Option<(usize, f64)> = None;
    let mut best_proxy = f64::NEG_INFINITY;
    let mut draw = FeatureDraw::new(params.max_features);
    while let Some(f) = draw.next(features, rng) {
        let col = &columns[f];
        pairs.clear();
        pairs.extend(idx.iter().zip(ys).map(|(&i, &yv)| (col[i as usize], yv)));
        pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        if !draw.varies(pairs[0].0, pairs[n - 1].0) {
            continue;
        }
        let mut sum_left = 0.0;
        for p in 0..n - 1 {
            sum_left += pairs[p].1;
            let n_left = p + 1;
            if pairs[p + 1].0 <= pairs[p].0 + FEATURE_THRESHOLD {
                continue;
            }
            if n_left < msl || n - n_left < msl {
                continue;
            }
            let n_right = n - n_left;
            let sum_right = sum - sum_left;
            let proxy =
                sum_left * sum_left / n_left as f64 + sum_right * sum_right / n_right as f64;
            if proxy > best_proxy {
                best_proxy = proxy;
                let mut thr = 0.5 * (pairs[p].0 + pairs[p + 1].0);
                if thr >= pairs[p + 1].0 {
                    thr = pairs[p].0;
                }
                best = Some((f, thr));
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_fits_a_step_and_validates() {
        let x: Vec<f64> = (0..100).map(|i| i as f64).collect();
        let y: Vec<f64> = x
            .iter()
            .map(|v| if *v < 50.0 { 1.0 } else { 3.0 })
            .collect();
        for random_splits in [true, false] {
            let params = TreeParams {
                random_splits,
                max_features: 1,
                min_samples_leaf: 1,
                min_samples_split: 2,
                max_depth: usize::MAX,
            };
            let t = build_tree(
                std::slice::from_ref(&x),
                &y,
                None,
                (0..100u32).collect(),
                &params,
                &mut Rng::new(3),
            );
            t.validate(1).unwrap();
            assert_eq!(t.predict_row(&[10.0]), 1.0);
            assert_eq!(t.predict_row(&[90.0]), 3.0);
            if !random_splits {
                assert_eq!(t.len(), 3);
                assert_eq!(t.nodes[0].value, 49.5);
            }
        }
        let mut bad = Tree::default();
        bad.push(0, 0.0);
        assert!(bad.validate(1).is_err());
    }

    /// The packed builder must grow exactly the trees of the gathering one (integer targets make
    /// every sum exact, so any difference is a real one): every packed width, bootstrap repeats,
    /// constant and tied features, leaf and depth limits.
    #[test]
    fn packed_and_gathered_builders_grow_the_same_trees() {
        let mut values = Rng::new(7);
        for d in [1usize, 3, 4, 6, 7, 8, 11, 12, 13, 15, 22, 30] {
            let n = 300;
            let mut columns: Vec<Vec<f64>> = (0..d)
                .map(|f| {
                    (0..n)
                        .map(|_| f64::from(((values.below(20 + 7 * f) as f64) * 0.37 - 2.0) as f32))
                        .collect()
                })
                .collect();
            if d > 2 {
                columns[1] = vec![4.5; n];
            }
            let y: Vec<f64> = (0..n)
                .map(|i| (columns[0][i] * 2.0).round() + values.below(3) as f64)
                .collect();
            let packed = PackedRows::new(&columns, &y).expect("at most 30 f32 features pack");
            for (max_features, min_samples_leaf, max_depth, bootstrap) in [
                (d, 1, usize::MAX, false),
                (d.div_ceil(2), 1, usize::MAX, true),
                (1, 3, usize::MAX, false),
                (d, 2, 4, true),
            ] {
                let params = TreeParams {
                    random_splits: true,
                    max_features,
                    min_samples_leaf,
                    min_samples_split: 2,
                    max_depth,
                };
                let mut draw = Rng::new(d as u64);
                let samples: Vec<u32> = if bootstrap {
                    (0..n).map(|_| draw.below(n) as u32).collect()
                } else {
                    (0..n as u32).collect()
                };
                let a = build_tree(
                    &columns,
                    &y,
                    None,
                    samples.clone(),
                    &params,
                    &mut Rng::new(5),
                );
                let b = build_tree(
                    &columns,
                    &y,
                    Some(&packed),
                    samples,
                    &params,
                    &mut Rng::new(5),
                );
                assert!(a.len() > 1, "d={d}: the tree should split");
                assert_eq!(a, b, "d={d} {params:?}");
            }
        }
        let wide: Vec<Vec<f64>> = vec![vec![0.0; 3]; 31];
        assert!(PackedRows::new(&wide, &[1.0, 2.0, 3.0]).is_none());
        let precise = vec![vec![0.1, 0.2, 0.3]];
        assert!(PackedRows::new(&precise, &[1.0, 2.0, 3.0]).is_none());
    }

    #[test]
    fn max_features_parse() {
        assert_eq!(MaxFeatures::parse("0.5").unwrap().resolve(11), 5);
        assert_eq!(MaxFeatures::parse("sqrt").unwrap().resolve(11), 3);
        assert_eq!(MaxFeatures::parse("4").unwrap().resolve(11), 4);
        assert_eq!(MaxFeatures::parse("1.0").unwrap().resolve(11), 11);
        assert!(MaxFeatures::parse("0").is_none());
        assert!(MaxFeatures::parse("1.5").is_none());
        assert!(MaxFeatures::parse("x").is_none());
    }
}
