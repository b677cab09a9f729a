#!/usr/bin/env bash
# Tracking benchmark, side by side with MLflow's Python client (mlflow==3.17.2) on this machine:
#   1. log 10,000 metric points: vintner → embedded mlflow.db; vintner → a real `mlflow server`;
#      Python `log_batch` → the same server; Python `log_metric` loop → the same server
#      (LOOP_POINTS points, default 1000, extrapolated to 10,000 and labelled as such);
#   2. list 500 runs: `vintner runs list` vs `MlflowClient.search_runs`, on the same mlflow.db and
#      through the same server.
# Both sides are timed the same way: REPEATS rounds (default 3), vintner and Python alternating in
# each round, and the median of each side is reported. Only the log_metric loop is measured once
# (it is the slow one) and it is the only extrapolated figure; the output marks it with `*`.
# Goals (issue 4): < 0.2 s embedded and < 1 s to the server for 10k points; search >= 10x faster.
# Usage: bash bench/track.sh   (installs/reuses the MLflow peer; LOOP_POINTS=…, RUNS=… to change sizes)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
peers=$(bash "$here/tests/peers/install.sh" mlflow)
py="$peers/mlflow/bin/python"
mlflow="$peers/mlflow/bin/mlflow"
loop_points=${LOOP_POINTS:-1000}
runs=${RUNS:-500}
repeats=${REPEATS:-3}
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
unset MLFLOW_TRACKING_URI

echo "building (release)…" >&2
(cd "$here" && cargo build --release --quiet --bin vintner --example track_bench)
target=${CARGO_TARGET_DIR:-$here/target}
vintner="$target/release/vintner"
bench="$target/release/examples/track_bench"

work=$(mktemp -d "${TMPDIR:-/tmp}/vintner-bench.XXXXXX")
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill -TERM -- "-$server_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

now() { echo "$EPOCHREALTIME"; }
elapsed() { python3 -c "print(f'{$2 - $1:.4f}')"; }
median() { python3 -c "import statistics,sys; print(statistics.median(map(float, sys.argv[1:])))" "$@"; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

# ---- 1a. vintner → embedded store ------------------------------------------------------------
logs=(); procs=()
for i in $(seq 1 "$repeats"); do
    t0=$(now); out=$("$bench" --uri "sqlite:///$work/embedded.db" --experiment "emb-$i" --points 10000); t1=$(now)
    logs+=("$(field "$out" log_s)"); procs+=("$(elapsed "$t0" "$t1")")
done
emb_log=$(median "${logs[@]}"); emb_proc=$(median "${procs[@]}")

# ---- the server ------------------------------------------------------------------------------
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
setsid "$mlflow" server --host 127.0.0.1 --port "$port" --backend-store-uri "sqlite:///$work/server.db" \
    --artifacts-destination "$work/mlartifacts" --workers 1 >"$work/server.log" 2>&1 &
server_pid=$!
url="http://127.0.0.1:$port"
echo "waiting for mlflow server on $url…" >&2
for _ in $(seq 1 600); do
    curl -fs "$url/health" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fs "$url/health" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

# ---- 1b/1c/1d. vintner and Python → server -------------------------------------------------------
# The server's first requests are several times slower (lazy imports): warm it up first.
"$bench" --uri "$url" --experiment warmup --points 10000 >/dev/null
cat >"$work/py_log.py" <<'EOF'
import json, sys, time
from mlflow import MlflowClient
from mlflow.entities import Metric
url, loop_points = sys.argv[1], int(sys.argv[2])
c = MlflowClient(tracking_uri=url)
exp = c.get_experiment_by_name("py-bench") or c.get_experiment(c.create_experiment("py-bench"))
now = int(time.time() * 1000)
r = c.create_run(exp.experiment_id)
t = time.perf_counter()
c.log_batch(r.info.run_id, metrics=[Metric("loss", 1.0 / (i + 1), now + i, i) for i in range(10000)])
batch = time.perf_counter() - t
r2 = c.create_run(exp.experiment_id)
t = time.perf_counter()
for i in range(loop_points):
    c.log_metric(r2.info.run_id, "loss", 1.0 / (i + 1), timestamp=now + i, step=i)
loop = time.perf_counter() - t
print(json.dumps({"batch_s": batch, "loop_s": loop}))
EOF
# Rounds alternate the two sides (the server's speed drifts on a shared machine); the
# log_metric loop runs in the first round only.
logs=(); procs=(); batches=()
for i in $(seq 1 "$repeats"); do
    t0=$(now); out=$("$bench" --uri "$url" --experiment "rest-$i" --points 10000); t1=$(now)
    logs+=("$(field "$out" log_s)"); procs+=("$(elapsed "$t0" "$t1")")
    points=0
    if [ "$i" = 1 ]; then points=$loop_points; fi
    out=$("$py" "$work/py_log.py" "$url" "$points" 2>/dev/null | tail -1)
    batches+=("$(field "$out" batch_s)")
    if [ "$i" = 1 ]; then py_loop=$(field "$out" loop_s); fi
done
rest_log=$(median "${logs[@]}"); rest_proc=$(median "${procs[@]}"); py_batch=$(median "${batches[@]}")
py_loop_10k=$(python3 -c "print($py_loop * 10000 / $loop_points)")

# ---- 2. runs list over 500 runs ----------------------------------------------------------------
"$bench" --uri "sqlite:///$work/runs.db" --experiment runs-bench --runs "$runs" >/dev/null
echo "populating $runs runs on the server…" >&2
"$bench" --uri "$url" --experiment runs-bench --runs "$runs" >/dev/null
cat >"$work/py_search.py" <<'EOF'
import json, sys, time
t0 = time.perf_counter()
from mlflow import MlflowClient
c = MlflowClient(tracking_uri=sys.argv[1])
exp = c.get_experiment_by_name("runs-bench")
t = time.perf_counter()
runs = c.search_runs([exp.experiment_id], max_results=1000)
search = time.perf_counter() - t
print(json.dumps({"search_s": search, "n": len(runs)}))
EOF
search_pair() {  # uri → medians "vintner_process_s python_call_s python_process_s vintner_call_s"
    local uri=$1 vs=() ps=() pps=() vis=()
    for _ in $(seq 1 "$repeats"); do
        t0=$(now); "$vintner" runs list --tracking-uri "$uri" -e runs-bench --max-results 1000 --json >"$work/list.json"; t1=$(now)
        v=$(elapsed "$t0" "$t1")
        vi=$(field "$("$bench" --uri "$uri" --experiment runs-bench --search)" search_s)
        n=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"]))' "$work/list.json")
        [ "$n" = "$runs" ] || { echo "vintner listed $n runs, expected $runs" >&2; exit 1; }
        t0=$(now); out=$("$py" "$work/py_search.py" "$uri" 2>/dev/null | tail -1); t1=$(now)
        p=$(field "$out" search_s); pp=$(elapsed "$t0" "$t1")
        vs+=("$v"); ps+=("$p"); pps+=("$pp"); vis+=("$vi")
    done
    echo "$(median "${vs[@]}") $(median "${ps[@]}") $(median "${pps[@]}") $(median "${vis[@]}")"
}
read -r sv sp spp svi <<<"$(search_pair "sqlite:///$work/runs.db")"
read -r hv hp hpp hvi <<<"$(search_pair "$url")"

python3 - "$emb_log" "$emb_proc" "$rest_log" "$rest_proc" "$py_batch" "$py_loop" "$loop_points" "$py_loop_10k" \
    "$sv" "$sp" "$spp" "$hv" "$hp" "$hpp" "$svi" "$hvi" "$runs" "$repeats" <<'EOF'
import sys
(emb_log, emb_proc, rest_log, rest_proc, py_batch, py_loop, loop_n, py_loop_10k,
 sv, sp, spp, hv, hp, hpp, svi, hvi) = map(float, sys.argv[1:17]); runs = int(sys.argv[17])
repeats = int(sys.argv[18])
row = lambda a, b, c="": print(f"{a:<62} {b:>10} {c}")
print(f"Tracking benchmark (seconds; lower is better; medians of {repeats} rounds, both sides "
      "timed the same way; * = extrapolated, not measured)")
row("10,000 metric points", "time (s)", "ratio vs vintner")
row("  vintner -> embedded mlflow.db (log_batch, in process)", f"{emb_log:.3f}", "goal < 0.2 s")
row("  vintner -> embedded mlflow.db (whole process)", f"{emb_proc:.3f}")
row("  vintner -> mlflow server (log_batch, 10 requests)", f"{rest_log:.3f}", "goal < 1 s")
row("  vintner -> mlflow server (whole process)", f"{rest_proc:.3f}")
row("  Python MlflowClient.log_batch -> same server", f"{py_batch:.3f}", f"{py_batch / rest_log:.1f}x slower than vintner REST")
row(f"  Python log_metric loop -> same server ({int(loop_n)} pts, measured once)", f"{py_loop:.3f}")
row(f"* ... extrapolated to 10,000 points from {int(loop_n)}", f"{py_loop_10k:.1f}",
    f"{py_loop_10k / rest_log:.0f}x slower than vintner REST (extrapolated)")
print()
row(f"list {runs} runs (median of {repeats})", "time (s)", "ratio")
row("  sqlite: vintner search_runs call (in process)", f"{svi:.4f}")
row("  sqlite: Python MlflowClient.search_runs call (in process)", f"{sp:.4f}", f"{sp / svi:.0f}x slower than vintner's call")
row("  sqlite: vintner runs list --json (whole process)", f"{sv:.4f}")
row("  sqlite: Python script with search_runs (whole process)", f"{spp:.3f}", f"{spp / sv:.0f}x slower than vintner's process")
row("  server: vintner search_runs call (in process)", f"{hvi:.4f}")
row("  server: Python MlflowClient.search_runs call (in process)", f"{hp:.4f}", f"{hp / hvi:.1f}x vintner's call")
row("  server: vintner runs list --json (whole process)", f"{hv:.4f}")
row("  server: Python script with search_runs (whole process)", f"{hpp:.3f}", f"{hpp / hv:.1f}x vintner's process")
EOF
