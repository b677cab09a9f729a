#!/usr/bin/env bash
# Model quality and training cost: vintner against scikit-learn's ExtraTreesRegressor with the SAME
# hyperparameters (n_estimators and max_features are taken from VINTNER_PARAMS; default
# ExtraTreesRegressor(500, max_features=0.5, n_jobs=1) against vintner extra-trees 500/0.5) and
# LightGBM, on the SAME grouped folds (identical feature rows share a fold; unique groups shuffled
# by scikit-learn's KFold(5, shuffle=True, random_state=r)). The Python side writes the folds
# files, vintner reads them with `--cv file:<folds.csv>`; then both are printed fold by fold, with
# the winner of each fold.
#
#   bench/models.sh                      # data from ./data, 1 repeat (5 folds per dataset)
#   DATA_DIR=path/to/csvs REPEATS=3 bench/models.sh
#   VINTNER_MODEL=extra-trees VINTNER_PARAMS="n_estimators=500 max_features=0.5" bench/models.sh
#
# Environment: DATA_DIR (winequality-red.csv and winequality-white.csv), REPEATS, OUT (results
# folder), VINTNER (binary; built with cargo if unset), PEERS_VENV (Python venv for the peers,
# created from bench/requirements-models.txt if missing). Every Python library runs
# single-threaded; vintner uses all cores. "cpu s/fold" is CPU time of all threads while fitting.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
DATA_DIR="${DATA_DIR:-$root/data}"
REPEATS="${REPEATS:-1}"
OUT="${OUT:-$root/bench/out/models}"
PEERS_VENV="${PEERS_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/vintner/peers/bench}"
VINTNER_MODEL="${VINTNER_MODEL:-extra-trees}"
VINTNER_PARAMS="${VINTNER_PARAMS:-n_estimators=500 max_features=0.5}"

for f in winequality-red.csv winequality-white.csv; do
    [[ -f "$DATA_DIR/$f" ]] || { echo "error: $DATA_DIR/$f not found (set DATA_DIR)" >&2; exit 1; }
done

if [[ ! -x "$PEERS_VENV/bin/python" ]]; then
    echo "creating the peers venv in $PEERS_VENV" >&2
    python3 -m venv "$PEERS_VENV"
    "$PEERS_VENV/bin/pip" install --quiet -r "$here/requirements-models.txt"
fi
if [[ -z "${VINTNER:-}" ]]; then
    (cd "$root" && cargo build --release --quiet --bin vintner)
    VINTNER="$root/target/release/vintner"
fi

# Like for like: scikit-learn's ExtraTrees gets vintner's n_estimators and max_features.
n_estimators=500
max_features=0.5
for p in $VINTNER_PARAMS; do
    case "$p" in
        n_estimators=*) n_estimators="${p#*=}" ;;
        max_features=*) max_features="${p#*=}" ;;
    esac
done

mkdir -p "$OUT"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)" >&2
"$PEERS_VENV/bin/python" "$here/models.py" peers --data-dir "$DATA_DIR" --out-dir "$OUT" \
    --repeats "$REPEATS" --n-estimators "$n_estimators" --max-features "$max_features"

params=()
for p in $VINTNER_PARAMS; do params+=(-P "$p"); done
declare -A files=(
    [red]="$DATA_DIR/winequality-red.csv"
    [white]="$DATA_DIR/winequality-white.csv"
    [combined]="$DATA_DIR/winequality-red.csv $DATA_DIR/winequality-white.csv"
)
for ds in red white combined; do
    # shellcheck disable=SC2086 # the file list is meant to split
    "$VINTNER" evaluate ${files[$ds]} --model "$VINTNER_MODEL" "${params[@]}" \
        --cv "file:$OUT/$ds-folds.csv" --json > "$OUT/$ds-vintner.json"
    echo "[$ds] vintner $VINTNER_MODEL done" >&2
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a)" >&2
"$PEERS_VENV/bin/python" "$here/models.py" report --out-dir "$OUT"
