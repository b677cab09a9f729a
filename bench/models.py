#!/usr/bin/env python3
"""Python peers for bench/models.sh: builds grouped folds (identical feature rows share a fold,
unique groups shuffled by scikit-learn's KFold(5, shuffle=True, random_state=r)), writes them as
folds files vintner reads, runs scikit-learn's ExtraTreesRegressor with the hyperparameters
vintner is given (n_estimators, max_features) and LightGBM on the same folds, and prints the
comparison with vintner's results, fold by fold.

  models.py peers  --data-dir DIR --out-dir OUT [--repeats 1] [--datasets red,white,combined]
                   [--n-estimators 500] [--max-features 0.5]
  models.py report --out-dir OUT

Every library runs single-threaded (N_THREADS=1); CPU seconds per fit come from process_time().
"""
import argparse
import json
import os
import sys
import time

N_THREADS = int(os.environ.get("N_THREADS", "1"))
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, str(N_THREADS))

import numpy as np
import pandas as pd

FILES = {"red": ["winequality-red.csv"], "white": ["winequality-white.csv"],
         "combined": ["winequality-red.csv", "winequality-white.csv"]}


def load(data_dir, name, target="quality"):
    """The same matrix vintner builds: file columns in header order minus the target, then one
    0/1 `source_<stem>` column per file when several files are given."""
    frames = []
    paths = FILES[name]
    for i, f in enumerate(paths):
        df = pd.read_csv(os.path.join(data_dir, f), sep=None, engine="python")
        if len(paths) > 1:
            for j, g in enumerate(paths):
                df["source_" + os.path.splitext(g)[0]] = 1.0 if i == j else 0.0
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    feats = [c for c in df.columns if c != target]
    return df[feats].to_numpy(dtype=np.float64), df[target].to_numpy(dtype=np.float64)


def grouped_folds(X, repeats, k=5):
    from sklearn.model_selection import KFold
    feat = pd.DataFrame(X)
    gid = feat.groupby(list(feat.columns), sort=False).ngroup().to_numpy()
    ug = np.unique(gid)
    out = []
    for r in range(repeats):
        a = np.zeros(len(gid), dtype=int)
        for f, (_, gte) in enumerate(KFold(n_splits=k, shuffle=True, random_state=r).split(ug)):
            a[np.isin(gid, ug[gte])] = f
        out.append(a)
    return out


def metrics(y, p):
    e = p - y
    ss_tot = float(((y - y.mean()) ** 2).sum())
    return dict(mae=float(np.abs(e).mean()), rmse=float(np.sqrt((e ** 2).mean())),
                r2=1.0 - float((e ** 2).sum()) / ss_tot,
                acc_round=float(np.mean(np.rint(p) == y)),
                acc_025=float(np.mean(np.abs(e) <= 0.25)),
                acc_05=float(np.mean(np.abs(e) <= 0.5)),
                acc_10=float(np.mean(np.abs(e) <= 1.0)))


REFERENCE = "sklearn-extratrees"


def peers(seed, n_estimators, max_features):
    from sklearn.ensemble import ExtraTreesRegressor
    m = {REFERENCE: lambda: ExtraTreesRegressor(
        n_estimators=n_estimators, max_features=max_features, n_jobs=N_THREADS,
        random_state=seed)}
    try:
        import lightgbm as lgb
        m["lightgbm-tuned"] = lambda: lgb.LGBMRegressor(
            n_estimators=1000, learning_rate=0.02, num_leaves=63, min_child_samples=5,
            subsample=0.8, subsample_freq=1, colsample_bytree=0.7, reg_lambda=1.0,
            n_jobs=N_THREADS, random_state=seed, verbose=-1)
    except ImportError:
        pass
    return m


def cmd_peers(args):
    os.makedirs(args.out_dir, exist_ok=True)
    import sklearn
    env = dict(python=sys.version.split()[0], sklearn=sklearn.__version__,
               numpy=np.__version__, pandas=pd.__version__, n_threads=N_THREADS)
    try:
        import lightgbm
        env["lightgbm"] = lightgbm.__version__
    except ImportError:
        pass
    env["extratrees"] = dict(n_estimators=args.n_estimators, max_features=args.max_features)
    results = dict(env=env, datasets={})
    for ds in args.datasets.split(","):
        X, y = load(args.data_dir, ds)
        folds = grouped_folds(X, args.repeats)
        pd.DataFrame({f"repeat_{r}": a for r, a in enumerate(folds)}).to_csv(
            os.path.join(args.out_dir, f"{ds}-folds.csv"), index=False)
        results["datasets"][ds] = {}
        for name, make in peers(0, args.n_estimators, args.max_features).items():
            rows = []
            for r, a in enumerate(folds):
                for k in range(a.max() + 1):
                    te, tr = np.where(a == k)[0], np.where(a != k)[0]
                    model = make()
                    c0, t0 = time.process_time(), time.perf_counter()
                    model.fit(X[tr], y[tr])
                    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
                    row = metrics(y[te], model.predict(X[te]))
                    row.update(repeat=r, fold=k, n_test=len(te), fit_cpu_seconds=cpu,
                               fit_seconds=wall)
                    rows.append(row)
                    print(f"[{ds}] {name} fold {r}/{k} rmse {row['rmse']:.4f} cpu {cpu:.2f}s",
                          file=sys.stderr, flush=True)
            results["datasets"][ds][name] = rows
    with open(os.path.join(args.out_dir, "peers.json"), "w") as f:
        json.dump(results, f, indent=1)


def cmd_report(args):
    with open(os.path.join(args.out_dir, "peers.json")) as f:
        peers_ = json.load(f)
    print("environment:", json.dumps(peers_["env"]))
    et = peers_["env"].get("extratrees", {})
    for ds, models in peers_["datasets"].items():
        path = os.path.join(args.out_dir, f"{ds}-vintner.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            v = json.load(f)
        table = dict(models)
        mine = "vintner " + v["family"]
        table[mine] = v["folds"]
        ref = [r["rmse"] for r in models[REFERENCE]]
        print(f"\n== {ds}: grouped 5-fold, identical folds; RMSE per fold ==")
        print(f"vintner {v['family']} {json.dumps(v['params'], sort_keys=True)}; "
              f"{REFERENCE} {json.dumps(et, sort_keys=True)}")
        n = len(ref)
        head = f"{'model':28s}" + "".join(f"{'f%d' % i:>8s}" for i in range(n))
        head += f"{'mean':>8s}{'MAE':>7s}{'R2':>7s}{'acc%':>6s}{'cpu s/fold':>11s}{'won':>5s}"
        print(head)
        get = lambda r, k: r[k] if k in r else r["metrics"][k]
        for name, rows in table.items():
            rm = [get(r, "rmse") for r in rows]
            cpu = np.mean([r.get("fit_cpu_seconds") or np.nan for r in rows])
            won = sum(a < b for a, b in zip(rm, ref))
            print(f"{name:28s}" + "".join(f"{x:8.4f}" for x in rm) +
                  f"{np.mean(rm):8.4f}{np.mean([get(r, 'mae') for r in rows]):7.3f}"
                  f"{np.mean([get(r, 'r2') for r in rows]):7.3f}"
                  f"{100 * np.mean([get(r, 'acc_round') for r in rows]):6.1f}"
                  f"{cpu:11.2f}{won:5d}")
        mine_rm = [get(r, "rmse") for r in v["folds"]]
        diff = [a - b for a, b in zip(mine_rm, ref)]
        print(f"{'vintner - sklearn':28s}" + "".join(f"{d:+8.4f}" for d in diff) +
              f"{np.mean(mine_rm) - np.mean(ref):+8.4f}")
        wins = ["vintner" if d < 0 else "sklearn" if d > 0 else "tie" for d in diff]
        print("per-fold winner (lower RMSE): " +
              ", ".join(f"f{i} {w}" for i, w in enumerate(wins)) +
              f"  ->  vintner {wins.count('vintner')}/{n}, sklearn {wins.count('sklearn')}/{n}")
        print(f"(won = folds with a lower RMSE than {REFERENCE}; cpu = fit CPU seconds, "
              "all threads)")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("peers")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--datasets", default="red,white,combined")
    p.add_argument("--n-estimators", type=int, default=500)
    p.add_argument("--max-features", type=float, default=0.5)
    p.add_argument("--folds-only", action="store_true")
    r = sub.add_parser("report")
    r.add_argument("--out-dir", required=True)
    args = ap.parse_args()
    if args.cmd == "peers":
        if args.folds_only:
            os.makedirs(args.out_dir, exist_ok=True)
            for ds in args.datasets.split(","):
                X, _ = load(args.data_dir, ds)
                folds = grouped_folds(X, args.repeats)
                pd.DataFrame({f"repeat_{r}": a for r, a in enumerate(folds)}).to_csv(
                    os.path.join(args.out_dir, f"{ds}-folds.csv"), index=False)
            return
        cmd_peers(args)
    else:
        cmd_report(args)


if __name__ == "__main__":
    main()
