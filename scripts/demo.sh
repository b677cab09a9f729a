#!/usr/bin/env bash
# The main job on embedded defaults: builds vintner, then in a fresh project folder runs the
# workflow on the UCI Wine Quality data with a local data remote and the embedded mlflow.db.
# Usage: bash scripts/demo.sh [project folder]   (default: a new temporary folder)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
vintner="$here/target/release/vintner"
proj=${1:-$(mktemp -d "${TMPDIR:-/tmp}/vintner-demo.XXXXXX")}
mkdir -p "$proj"
cd "$proj"
say() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; }
run() { say "vintner $*"; "$vintner" "$@"; }

export GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-vintner-demo} GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-demo@example.invalid}
export GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-$GIT_AUTHOR_NAME} GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-$GIT_AUTHOR_EMAIL}

run init --remote "$proj.remote"
mkdir -p data
cp "$here/data/winequality-red.csv" "$here/data/winequality-white.csv" "$here/data/README.md" data/
run remote list
run add data/winequality-red.csv data/winequality-white.csv
say "git add data/*.dvc data/.gitignore && git commit -m 'wine data'"
git add -A && git commit --quiet -m "Wine Quality data, versioned"
run push
run status -c
say "vintner train"
run_id=$("$vintner" train | awk '/^run_id/ {print $2}')
printf 'run_id %s\n' "$run_id"
say "git add models/*.dvc models/.gitignore && git commit -m 'model'"
git add -A && git commit --quiet -m "Model trained by vintner"
run register
run runs list
run models list
run infer --output predictions.csv
head -4 predictions.csv >&2
run infer --input data/winequality-red.csv --output predictions-red.csv
run reproduce "$run_id"

printf '\nDemo project: %s (data remote: %s.remote, tracking store: %s/mlflow.db)\n' "$proj" "$proj" "$proj" >&2
printf 'Open it with MLflow: mlflow ui --backend-store-uri sqlite:///%s/mlflow.db\n' "$proj" >&2
