#!/usr/bin/env bash
# Data-layer benchmark: vintner and the real DVC side by side on the same machine in one run.
# Scenarios (DVC research §9): 20,000 files of 4 KiB in 100 folders, and one 1 GiB file.
# Prints median wall times and ratios (DVC / vintner); peak RSS with /usr/bin/time if present.
# Nothing is deleted while measuring (old runs are moved aside and removed at the end): on ext4,
# creating files within minutes of deleting thousands is several times slower (the allocator
# skips recently freed inodes), which would charge both tools for the harness's clean-up.
# Usage: bash bench/data.sh [runs]     (needs hyperfine: apt-get install hyperfine)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
command -v hyperfine >/dev/null || { echo "bench/data.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
peers=$(bash "$here/tests/peers/install.sh" dvc)
dvc="$peers/dvc/bin/dvc"
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
vintner="$here/target/release/vintner"
work=$(mktemp -d "${TMPDIR:-/tmp}/vintner-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export DVC_NO_ANALYTICS=1 DVC_SITE_CACHE_DIR="$work/site-cache"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

echo "making the data sets in $work" >&2
python3 - "$work/src20k" "$work/big.bin" <<'PY'
import os, sys
root, big = sys.argv[1], sys.argv[2]
for d in range(100):
    os.makedirs(f"{root}/d{d:03}", exist_ok=True)
    for f in range(200):
        with open(f"{root}/d{d:03}/f{f:03}.bin", "wb") as fh:
            fh.write(os.urandom(4096))
with open(big, "wb") as fh:
    for _ in range(1024):
        fh.write(os.urandom(1 << 20))
PY

# Moves paths aside (into $work/trash) instead of deleting them.
aside() {
    local p
    for p in "$@"; do
        if [ -e "$p" ]; then mv "$p" "$(mktemp -d "$work/trash/XXXXXX")/"; fi
    done
}
# A fresh repository with the 20k-file folder as `data/`, for tool $1.
fresh() {
    local dir=$1
    aside "$dir" "$dir.remote"
    mkdir -p "$dir"
    git -C "$dir" init -q
    (cd "$dir" && "$dvc" init -q && "$dvc" remote add -q -d store "$dir.remote")
    cp -r "$work/src20k" "$dir/data"
}
mkdir -p "$work/trash"
export -f fresh aside
export work dvc vintner

results="$work/results"
mkdir -p "$results"
bench() { # name, then hyperfine arguments
    local name=$1; shift
    hyperfine --shell=bash --runs "$runs" --export-json "$results/$name.json" "$@" >&2
}

bench add-20k \
    --prepare 'fresh $work/r' --prepare 'fresh $work/r' -n dvc "cd $work/r && $dvc add -q data" \
    -n vintner "cd $work/r && $vintner -q add data"
# Warm status: the repo is added once by each tool; status runs against an unchanged workspace.
fresh "$work/sd"; (cd "$work/sd" && "$dvc" add -q data && "$dvc" status >/dev/null)
fresh "$work/sv"; (cd "$work/sv" && "$vintner" -q add data && "$vintner" status >/dev/null)
bench status-20k -n dvc "cd $work/sd && $dvc status" -n vintner "cd $work/sv && $vintner status"
# One --prepare per command, in command order: each empties only its own remote.
bench push-20k \
    --prepare "aside $work/sd.remote" --prepare "aside $work/sv.remote" \
    -n dvc "cd $work/sd && $dvc push -q" -n vintner "cd $work/sv && $vintner -q push"
(cd "$work/sd" && git add -A && git commit -qm d); (cd "$work/sv" && git add -A && git commit -qm v)
bench pull-20k \
    --prepare "aside $work/cd && git clone -q $work/sd $work/cd" \
    --prepare "aside $work/cv && git clone -q $work/sv $work/cv" \
    -n dvc "cd $work/cd && $dvc pull -q" -n vintner "cd $work/cv && $vintner -q pull"
prep_big="rm -rf $work/b && mkdir -p $work/b && git -C $work/b init -q && cd $work/b && $dvc init -q && cp $work/big.bin big.bin"
bench add-1g --prepare "$prep_big" --prepare "$prep_big" --prepare "$prep_big" \
    -n md5sum "md5sum $work/big.bin" -n dvc "cd $work/b && $dvc add -q big.bin" -n vintner "cd $work/b && $vintner -q add big.bin"

python3 - "$results" <<'PY'
import json, os, sys
d = sys.argv[1]
print(f"{'operation':<12} {'dvc s':>8} {'vintner s':>10} {'dvc/vintner':>12}")
for name in ["add-20k", "status-20k", "push-20k", "pull-20k", "add-1g"]:
    r = {x["command"]: x["median"] for x in json.load(open(os.path.join(d, name + ".json")))["results"]}
    line = f"{name:<12} {r['dvc']:>8.3f} {r['vintner']:>10.3f} {r['dvc']/r['vintner']:>11.1f}x"
    if "md5sum" in r:
        line += f"   vintner/md5sum {r['vintner']/r['md5sum']:.2f}"
    print(line)
PY

if [ -x /usr/bin/time ]; then
    fresh "$work/m"
    echo "peak RSS (KiB):" >&2
    (cd "$work/m" && /usr/bin/time -f "  vintner add 20k: %M" "$vintner" -q add data)
    fresh "$work/m2"
    (cd "$work/m2" && /usr/bin/time -f "  dvc add 20k:     %M" "$dvc" add -q data)
fi
