#!/usr/bin/env bash
# Workflow benchmark: `vintner train` (grouped 5-fold CV + final fit + version/push + log) on white
# wine, and `vintner infer` on 10,000 rows, side by side with the equivalent Python path
# (dvc pull, scikit-learn ExtraTrees with the same hyperparameters, mlflow logging, dvc add/push;
# bench/workflow_peer.py) in one run. Prints medians and ratios.
# Usage: bash bench/workflow.sh [runs]     (needs hyperfine: apt-get install hyperfine)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
command -v hyperfine >/dev/null || { echo "bench/workflow.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
peers=$(bash "$here/tests/peers/install.sh" "dvc mlflow")
export DVC="$peers/dvc/bin/dvc" PY="$peers/mlflow/bin/python" DVC_NO_ANALYTICS=1 MLFLOW_DISABLE_TELEMETRY=true
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
vintner="$here/target/release/vintner"
work=$(mktemp -d "${TMPDIR:-/tmp}/vintner-wf.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
export DVC_SITE_CACHE_DIR="$work/site-cache"

cd "$work"
mkdir proj && cd proj
"$vintner" -q init --remote "$work/remote"
mkdir data && cp "$here/data/winequality-white.csv" data/
"$vintner" -q add data/winequality-white.csv && "$vintner" -q push
git add -A && git commit -qm data
# 10,000 rows to predict (the white data, tiled).
python3 - "$here/data/winequality-white.csv" "$work/rows10k.csv" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
rows = lines[1:]
with open(sys.argv[2], "w") as f:
    f.write(lines[0] + "\n")
    for i in range(10000):
        f.write(rows[i % len(rows)] + "\n")
PY
bench() { local name=$1; shift; hyperfine --shell=bash --runs "$runs" --export-json "$work/$name.json" "$@" >&2; }
bench train \
    -n python "cd $work/proj && \$PY $here/bench/workflow_peer.py train data/winequality-white.csv 500 0.5" \
    -n vintner "cd $work/proj && $vintner -q train -P n_estimators=500 -P max_features=0.5"
"$vintner" -q register --threshold 10
bench infer-10k \
    -n python "cd $work/proj && \$PY $here/bench/workflow_peer.py infer $work/rows10k.csv $work/py-pred.csv" \
    -n vintner "cd $work/proj && $vintner -q infer --input $work/rows10k.csv --output $work/v-pred.csv"
python3 - "$work" <<'PY'
import json, os, sys
d = sys.argv[1]
print(f"{'step':<10} {'python s':>9} {'vintner s':>10} {'python/vintner':>15}")
for name in ["train", "infer-10k"]:
    r = {x["command"]: x["median"] for x in json.load(open(os.path.join(d, name + ".json")))["results"]}
    print(f"{name:<10} {r['python']:>9.2f} {r['vintner']:>10.2f} {r['python']/r['vintner']:>14.1f}x")
PY
