#!/usr/bin/env bash
# Pipeline benchmark: the no-op `repro` (nothing changed) of a 10-stage `dvc.yaml` whose
# outputs hold 20,000 files in all (2,000 small files per stage, each stage reading the
# previous stage's folder), vintner and the real DVC side by side on the same repository.
# The pipeline is run once by DVC; each tool then runs `repro` once to warm its hash cache
# (hyperfine --warmup), and the measured runs change nothing. Prints the medians and the ratio.
# Usage: bash bench/repro.sh [runs] [vintner binary]   (needs hyperfine; builds --release
# unless a binary is given)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
command -v hyperfine >/dev/null || { echo "bench/repro.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
peers=$(bash "$here/tests/peers/install.sh" dvc)
dvc="$peers/dvc/bin/dvc"
if [ -n "${2:-}" ]; then
    vintner=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
else
    cargo build --release --quiet --manifest-path "$here/Cargo.toml"
    vintner="$here/target/release/vintner"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/vintner-bench-repro.XXXXXX")
trap 'rm -rf "$work"' EXIT
export DVC_NO_ANALYTICS=1 DVC_SITE_CACHE_DIR="$work/site-cache"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

repo="$work/repo"
mkdir -p "$repo"
cd "$repo"
git init -q
"$dvc" init -q
echo seed > seed.txt
printf 'files: 2000\n' > params.yaml
{
    echo "stages:"
    prev=seed.txt
    for i in $(seq 0 9); do
        cat <<YAML
  s$i:
    cmd: mkdir -p out$i && for f in \$(seq 1 \${files}); do echo $i-\$f > out$i/f\$f.txt; done && ls $prev > /dev/null
    deps:
      - $prev
    params:
      - files
    outs:
      - out$i
YAML
        prev=out$i
    done
} > dvc.yaml
echo "running the pipeline once with dvc in $repo" >&2
"$dvc" repro -q
git add -A && git commit -qm pipeline
files=$(find . -path ./.dvc -prune -o -path ./.git -prune -o -type f -name 'f*.txt' -print | wc -l)
echo "$files output files" >&2

hyperfine --shell=bash --warmup 1 --runs "$runs" --export-json "$work/repro.json" \
    -n dvc "cd $repo && $dvc repro" -n vintner "cd $repo && $vintner repro" >&2
# Nothing may have changed: the lock is DVC's, untouched.
git -C "$repo" diff --exit-code --quiet -- dvc.lock || { echo "dvc.lock changed during the no-op runs" >&2; exit 1; }

python3 - "$work/repro.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"{'operation':<16} {'dvc s':>8} {'vintner s':>10} {'dvc/vintner':>12}")
print(f"{'repro-noop-20k':<16} {r['dvc']:>8.3f} {r['vintner']:>10.3f} {r['dvc']/r['vintner']:>11.1f}x")
PY
