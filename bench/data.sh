#!/usr/bin/env bash
# Data-layer benchmark: vintner and the real DVC side by side on the same machine in one run.
# Scenarios (DVC research §9): 20,000 files of 4 KiB in 100 folders, and one 1 GiB file.
# Prints median wall times and ratios (DVC / vintner); peak RSS with /usr/bin/time if present.
# Nothing is deleted while measuring (old runs are moved aside and removed at the end): on ext4,
# creating files within minutes of deleting thousands is several times slower (the allocator
# skips recently freed inodes), which would charge both tools for the harness's clean-up.
# S3 rows: a moto server behind bench/latency_proxy.py, once with 30 ms added to every request
# (like a real S3 region) and once with none; push, `status -c` and a fresh clone's pull of
# BENCH_S3_FILES (default 20,000) files of 4 KiB, one run each (DVC with dvc-s3), with the
# requests each made, counted by the proxy.
# Usage: bash bench/data.sh [runs]     (needs hyperfine: apt-get install hyperfine)
#        BENCH_ONLY=s3 bash bench/data.sh   (only the S3 rows)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
command -v hyperfine >/dev/null || { echo "bench/data.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
peers=$(bash "$here/tests/peers/install.sh" "dvc moto")
dvc="$peers/dvc/bin/dvc"
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
vintner="$here/target/release/vintner"
work=$(mktemp -d "${TMPDIR:-/tmp}/vintner-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export DVC_NO_ANALYTICS=1 DVC_SITE_CACHE_DIR="$work/site-cache"
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

echo "making the data sets in $work" >&2
python3 - "$work/src20k" "$([ "${BENCH_ONLY:-}" = s3 ] && echo - || echo "$work/big.bin")" <<'PY'
import os, sys
root, big = sys.argv[1], sys.argv[2]
for d in range(100):
    os.makedirs(f"{root}/d{d:03}", exist_ok=True)
    for f in range(200):
        with open(f"{root}/d{d:03}/f{f:03}.bin", "wb") as fh:
            fh.write(os.urandom(4096))
if big != "-":
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

if [ "${BENCH_ONLY:-}" != s3 ]; then
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

fi

# ---- S3 rows ---------------------------------------------------------------------------------
s3_files=${BENCH_S3_FILES:-20000}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "nothing on port $1" >&2; exit 1; }
s3_pids=()
trap 'for p in "${s3_pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
moto_port=$(free_port)
"$peers/moto/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
s3_pids+=($!)
wait_port "$moto_port"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
mkdir -p "$work/s3src"
python3 - "$work/src20k" "$work/s3src" "$s3_files" <<'PY'
import os, shutil, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(os.path.join(d, f) for d in os.listdir(src) for f in os.listdir(os.path.join(src, d)))[:n]
for f in files:
    os.makedirs(os.path.join(dst, os.path.dirname(f)), exist_ok=True)
    shutil.copy(os.path.join(src, f), os.path.join(dst, f))
PY
# timed NAME PROXY_PORT COMMAND: one run; appends `name seconds requests` to s3.txt.
timed() {
    local name=$1 port=$2; shift 2
    curl -s "http://127.0.0.1:$port/__proxy/counts" >/dev/null
    local t0 t1
    t0=$(date +%s.%N)
    bash -c "$*" >/dev/null
    t1=$(date +%s.%N)
    local n
    n=$(curl -s "http://127.0.0.1:$port/__proxy/counts")
    echo "$name $(python3 -c "print(f'{$t1-$t0:.3f}')") $(python3 -c "import json,sys; c=json.loads(sys.argv[1]); print(c.pop('total'), ','.join(f'{k}:{v}' for k,v in sorted(c.items())))" "$n")" >>"$results/s3.txt"
    echo "  $name: $(tail -1 "$results/s3.txt")" >&2
}
for delay in 30 0; do
    port=$(free_port)
    python3 "$here/bench/latency_proxy.py" "$port" "$moto_port" "$delay" &
    s3_pids+=($!)
    wait_port "$port"
    for tool in dvc vintner; do
        bucket="b$delay-$tool"
        "$peers/moto/bin/python" -c "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:$moto_port').create_bucket(Bucket='$bucket')"
        dir="$work/s3-$delay-$tool"
        mkdir -p "$dir"; git -C "$dir" init -q
        (cd "$dir" && "$dvc" init -q && "$dvc" remote add -q -d s3 "s3://$bucket/store" \
            && "$dvc" remote modify -q s3 endpointurl "http://127.0.0.1:$port")
        cp -r "$work/s3src" "$dir/data"
        if [ "$tool" = dvc ]; then run="$dvc"; q=-q; else run="$vintner"; q=; fi
        (cd "$dir" && $run add -q data >/dev/null && git add -A && git commit -qm data)
        echo "S3, $delay ms per request, $s3_files files, $tool:" >&2
        timed "push-$delay-$tool" "$port" "cd $dir && $run push -q"
        timed "status-c-$delay-$tool" "$port" "cd $dir && $run status -c"
        git clone -q "$dir" "$dir-clone"
        timed "pull-$delay-$tool" "$port" "cd $dir-clone && $run pull -q"
    done
done
python3 - "$results/s3.txt" "$s3_files" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, secs, n, kinds = (line.split() + [""])[:4]
    op, delay, tool = name.rsplit("-", 2)
    rows.setdefault((op, delay), {})[tool] = (float(secs), int(n), kinds)
print(f"\nS3 (moto behind a proxy), {sys.argv[2]} files of 4 KiB, one run each")
print(f"{'operation':<10} {'latency':>8} {'dvc s':>8} {'vintner s':>10} {'dvc/vintner':>12} {'dvc reqs':>9} {'vintner reqs':>13}")
for (op, delay), r in rows.items():
    d, v = r["dvc"], r["vintner"]
    print(f"{op:<10} {delay + ' ms':>8} {d[0]:>8.2f} {v[0]:>10.2f} {d[0] / v[0]:>11.1f}x {d[1]:>9} {v[1]:>13}")
for (op, delay), r in rows.items():
    print(f"  {op} {delay} ms requests by method: dvc {r['dvc'][2]}; vintner {r['vintner'][2]}")
PY

if [ "${BENCH_ONLY:-}" != s3 ] && [ -x /usr/bin/time ]; then
    fresh "$work/m"
    echo "peak RSS (KiB):" >&2
    (cd "$work/m" && /usr/bin/time -f "  vintner add 20k: %M" "$vintner" -q add data)
    fresh "$work/m2"
    (cd "$work/m2" && /usr/bin/time -f "  dvc add 20k:     %M" "$dvc" add -q data)
fi
