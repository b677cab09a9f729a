//! A small multilayer perceptron (ReLU hidden layers, linear output, MSE) trained with Adam on
//! standardized inputs and target, with early stopping on a validation share of the training
//! rows. Backpropagation is written by hand and checked against finite differences in the tests;
//! layer names and shapes follow PyTorch (`l1.weight` is `[hidden, inputs]`).

use super::dataset::Matrix;
use super::rng::Rng;
use crate::progress::Progress;

/// Settings of an MLP.
#[derive(Debug, Clone, PartialEq)]
pub struct MlpParams {
    pub hidden: Vec<usize>,
    pub learning_rate: f64,
    pub batch_size: usize,
    pub max_epochs: usize,
    pub patience: usize,
    pub validation_fraction: f64,
    pub weight_decay: f64,
}

/// One fully connected layer, `out = weight · in + bias`, `weight` row-major `[n_out, n_in]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    pub n_in: usize,
    pub n_out: usize,
    pub weight: Vec<f64>,
    pub bias: Vec<f64>,
}

/// Mean and standard deviation used to standardize a column.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scale {
    pub mean: f64,
    pub std: f64,
}

/// A fitted MLP with its standardization statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Mlp {
    pub layers: Vec<Layer>,
    pub x_scale: Vec<Scale>,
    pub y_scale: Scale,
}

/// Per-epoch history: (epoch, train loss), (epoch, validation loss), in standardized units.
pub type MlpHistory = (Vec<(u64, f64)>, Vec<(u64, f64)>);

fn scale_of(values: impl Iterator<Item = f64> + Clone) -> Scale {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let std = var.sqrt();
    Scale {
        mean,
        std: if std > 1e-12 { std } else { 1.0 },
    }
}

impl Mlp {
    /// A freshly initialised network (PyTorch's default `Linear` init: U(±1/√fan_in)).
    pub fn init(n_in: usize, hidden: &[usize], rng: &mut Rng) -> Vec<Layer> {
        let mut sizes = vec![n_in];
        sizes.extend_from_slice(hidden);
        sizes.push(1);
        sizes
            .windows(2)
            .map(|w| {
                let bound = 1.0 / (w[0] as f64).sqrt();
                let mut u = || (2.0 * rng.uniform() - 1.0) * bound;
                Layer {
                    n_in: w[0],
                    n_out: w[1],
                    weight: (0..w[0] * w[1]).map(|_| u()).collect(),
                    bias: (0..w[1]).map(|_| u()).collect(),
                }
            })
            .collect()
    }

    pub fn fit(
        x: &Matrix,
        y: &[f64],
        params: &MlpParams,
        seed: u64,
        progress: &dyn Progress,
    ) -> (Mlp, MlpHistory) {
        let n = x.rows();
        let d = x.cols();
        let x_scale: Vec<Scale> = (0..d)
            .map(|j| scale_of((0..n).map(|i| x.get(i, j))))
            .collect();
        let y_scale = scale_of(y.iter().copied());
        let xs: Vec<f64> = (0..n)
            .flat_map(|i| (0..d).map(move |j| (i, j)))
            .map(|(i, j)| (x.get(i, j) - x_scale[j].mean) / x_scale[j].std)
            .collect();
        let ys: Vec<f64> = y.iter().map(|v| (v - y_scale.mean) / y_scale.std).collect();
        let mut rng = Rng::new(seed);
        let mut layers = Mlp::init(d, &params.hidden, &mut rng);
        let mut order: Vec<usize> = (0..n).collect();
        rng.shuffle(&mut order);
        let n_val = if n >= 10 {
            ((params.validation_fraction * n as f64) as usize).clamp(1, n - 1)
        } else {
            0
        };
        let (val, train) = order.split_at(n_val);
        let mut train = train.to_vec();
        let mut adam = Adam::new(&layers);
        let mut grads = zero_like(&layers);
        let mut best = (f64::INFINITY, layers.clone());
        let mut bad = 0;
        let mut history: MlpHistory = (Vec::new(), Vec::new());
        progress.begin("epochs", Some(params.max_epochs as u64));
        for epoch in 1..=params.max_epochs {
            rng.shuffle(&mut train);
            let mut total = 0.0;
            for batch in train.chunks(params.batch_size.max(1)) {
                let loss = loss_and_grad(&layers, &xs, &ys, d, batch, &mut grads);
                total += loss * batch.len() as f64;
                adam.step(
                    &mut layers,
                    &grads,
                    params.learning_rate,
                    params.weight_decay,
                );
            }
            history
                .0
                .push((epoch as u64, total / train.len().max(1) as f64));
            progress.advance(1);
            if n_val == 0 {
                best.1 = layers.clone();
                continue;
            }
            let vl = loss_only(&layers, &xs, &ys, d, val);
            history.1.push((epoch as u64, vl));
            if vl < best.0 - 1e-6 {
                best = (vl, layers.clone());
                bad = 0;
            } else {
                bad += 1;
                if bad >= params.patience {
                    break;
                }
            }
        }
        progress.end();
        (
            Mlp {
                layers: best.1,
                x_scale,
                y_scale,
            },
            history,
        )
    }

    pub fn predict(&self, x: &Matrix) -> Vec<f64> {
        let mut buf = Vec::new();
        (0..x.rows())
            .map(|i| {
                let input: Vec<f64> = x
                    .row(i)
                    .iter()
                    .zip(&self.x_scale)
                    .map(|(v, s)| (v - s.mean) / s.std)
                    .collect();
                let out = forward(&self.layers, &input, &mut buf);
                out * self.y_scale.std + self.y_scale.mean
            })
            .collect()
    }
}

/// Forward pass of one standardized row; `acts` receives every layer's output (after ReLU for
/// hidden layers). Returns the network output.
fn forward(layers: &[Layer], input: &[f64], acts: &mut Vec<Vec<f64>>) -> f64 {
    acts.resize(layers.len(), Vec::new());
    for (l, layer) in layers.iter().enumerate() {
        let (done, rest) = acts.split_at_mut(l);
        let a_in: &[f64] = if l == 0 { input } else { &done[l - 1] };
        let out = &mut rest[0];
        out.clear();
        for o in 0..layer.n_out {
            let w = &layer.weight[o * layer.n_in..(o + 1) * layer.n_in];
            let mut z = layer.bias[o];
            for (wi, ai) in w.iter().zip(a_in) {
                z += wi * ai;
            }
            out.push(if l + 1 < layers.len() { z.max(0.0) } else { z });
        }
    }
    acts[layers.len() - 1][0]
}

fn zero_like(layers: &[Layer]) -> Vec<Layer> {
    layers
        .iter()
        .map(|l| Layer {
            n_in: l.n_in,
            n_out: l.n_out,
            weight: vec![0.0; l.weight.len()],
            bias: vec![0.0; l.bias.len()],
        })
        .collect()
}

fn loss_only(layers: &[Layer], xs: &[f64], ys: &[f64], d: usize, rows: &[usize]) -> f64 {
    let mut acts = Vec::new();
    rows.iter()
        .map(|&r| {
            let e = forward(layers, &xs[r * d..(r + 1) * d], &mut acts) - ys[r];
            e * e
        })
        .sum::<f64>()
        / rows.len().max(1) as f64
}

/// Mean squared error over `rows` and its gradient with respect to every weight and bias
/// (written into `grads`).
pub fn loss_and_grad(
    layers: &[Layer],
    xs: &[f64],
    ys: &[f64],
    d: usize,
    rows: &[usize],
    grads: &mut [Layer],
) -> f64 {
    for g in grads.iter_mut() {
        g.weight.iter_mut().for_each(|v| *v = 0.0);
        g.bias.iter_mut().for_each(|v| *v = 0.0);
    }
    let m = rows.len().max(1) as f64;
    let mut acts = Vec::new();
    let mut delta: Vec<f64> = Vec::new();
    let mut prev: Vec<f64> = Vec::new();
    let mut loss = 0.0;
    for &r in rows {
        let input = &xs[r * d..(r + 1) * d];
        let out = forward(layers, input, &mut acts);
        let e = out - ys[r];
        loss += e * e;
        delta.clear();
        delta.push(2.0 * e / m);
        for l in (0..layers.len()).rev() {
            let layer = &layers[l];
            let a_in: &[f64] = if l == 0 { input } else { &acts[l - 1] };
            let g = &mut grads[l];
            for (o, &dz) in delta.iter().enumerate().take(layer.n_out) {
                if dz == 0.0 {
                    continue;
                }
                g.bias[o] += dz;
                let gw = &mut g.weight[o * layer.n_in..(o + 1) * layer.n_in];
                for (gi, ai) in gw.iter_mut().zip(a_in) {
                    *gi += dz * ai;
                }
            }
            if l > 0 {
                prev.clear();
                prev.resize(layer.n_in, 0.0);
                for (o, &dz) in delta.iter().enumerate().take(layer.n_out) {
                    if dz == 0.0 {
                        continue;
                    }
                    let w = &layer.weight[o * layer.n_in..(o + 1) * layer.n_in];
                    for (pi, wi) in prev.iter_mut().zip(w) {
                        *pi += dz * wi;
                    }
                }
                // ReLU derivative of the previous layer's output
                for (pi, ai) in prev.iter_mut().zip(&acts[l - 1]) {
                    if *ai <= 0.0 {
                        *pi = 0.0;
                    }
                }
                std::mem::swap(&mut delta, &mut prev);
            }
        }
    }
    loss / m
}

/// Adam as in PyTorch (`betas = (0.9, 0.999)`, `eps = 1e-8`, L2 `weight_decay` added to the
/// gradient).
struct Adam {
    m: Vec<Layer>,
    v: Vec<Layer>,
    t: i32,
}

impl Adam {
    fn new(layers: &[Layer]) -> Self {
        Self {
            m: zero_like(layers),
            v: zero_like(layers),
            t: 0,
        }
    }

    fn step(&mut self, layers: &mut [Layer], grads: &[Layer], lr: f64, weight_decay: f64) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        self.t += 1;
        let c1 = 1.0 - B1.powi(self.t);
        let c2 = 1.0 - B2.powi(self.t);
        for l in 0..layers.len() {
            let (m, v) = (&mut self.m[l], &mut self.v[l]);
            let p = &mut layers[l];
            let g = &grads[l];
            adam_update(
                &mut p.weight,
                &g.weight,
                &mut m.weight,
                &mut v.weight,
                lr,
                weight_decay,
                c1,
                c2,
            );
            adam_update(
                &mut p.bias,
                &g.bias,
                &mut m.bias,
                &mut v.bias,
                lr,
                weight_decay,
                c1,
                c2,
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn adam_update(
    p: &mut [f64],
    g: &[f64],
    m: &mut [f64],
    v: &mut [f64],
    lr: f64,
    weight_decay: f64,
    c1: f64,
    c2: f64,
) {
    const B1: f64 = 0.9;
    const B2: f64 = 0.999;
    for k in 0..p.len() {
        let gk = g[k] + weight_decay * p[k];
        m[k] = B1 * m[k] + (1.0 - B1) * gk;
        v[k] = B2 * v[k] + (1.0 - B2) * gk * gk;
        p[k] -= lr * (m[k] / c1) / ((v[k] / c2).sqrt() + 1e-8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    #[test]
    fn gradient_matches_finite_differences() {
        let mut rng = Rng::new(11);
        let d = 4;
        let mut layers = Mlp::init(d, &[6, 5], &mut rng);
        let n = 9;
        let xs: Vec<f64> = (0..n * d).map(|_| rng.normal()).collect();
        let ys: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let rows: Vec<usize> = (0..n).collect();
        let mut grads = zero_like(&layers);
        loss_and_grad(&layers, &xs, &ys, d, &rows, &mut grads);
        let h = 1e-6;
        let mut worst: f64 = 0.0;
        for l in 0..layers.len() {
            for which in 0..2 {
                let len = if which == 0 {
                    layers[l].weight.len()
                } else {
                    layers[l].bias.len()
                };
                for k in 0..len {
                    fn get(ls: &mut [Layer], l: usize, which: usize, k: usize) -> &mut f64 {
                        if which == 0 {
                            &mut ls[l].weight[k]
                        } else {
                            &mut ls[l].bias[k]
                        }
                    }
                    let orig = *get(&mut layers, l, which, k);
                    *get(&mut layers, l, which, k) = orig + h;
                    let up = loss_only(&layers, &xs, &ys, d, &rows);
                    *get(&mut layers, l, which, k) = orig - h;
                    let down = loss_only(&layers, &xs, &ys, d, &rows);
                    *get(&mut layers, l, which, k) = orig;
                    let numeric = (up - down) / (2.0 * h);
                    let analytic = if which == 0 {
                        grads[l].weight[k]
                    } else {
                        grads[l].bias[k]
                    };
                    let err = (numeric - analytic).abs() / (1e-6 + numeric.abs() + analytic.abs());
                    worst = worst.max(err);
                }
            }
        }
        assert!(worst < 1e-5, "worst relative gradient error {worst}");
    }

    #[test]
    fn learns_a_smooth_function_deterministically() {
        let mut rng = Rng::new(5);
        let rows: Vec<Vec<f64>> = (0..400).map(|_| vec![rng.normal(), rng.normal()]).collect();
        let y: Vec<f64> = rows.iter().map(|r| r[0] * r[1] + 0.5 * r[0]).collect();
        let x = Matrix::from_rows(&rows).unwrap();
        let params = MlpParams {
            hidden: vec![16, 16],
            learning_rate: 0.01,
            batch_size: 32,
            max_epochs: 60,
            patience: 10,
            validation_fraction: 0.1,
            weight_decay: 0.0,
        };
        let (m, (train, _)) = Mlp::fit(&x, &y, &params, 3, &Silent);
        assert!(train.last().unwrap().1 < 0.2 * train[0].1);
        let (m2, _) = Mlp::fit(&x, &y, &params, 3, &Silent);
        assert_eq!(m.predict(&x), m2.predict(&x));
    }
}
