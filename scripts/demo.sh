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
run status
run status -c

printf '\nDemo project: %s (data remote: %s.remote)\n' "$proj" "$proj" >&2
