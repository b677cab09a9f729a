#!/usr/bin/env bash
# Serving benchmark: `vintner serve` against `mlflow models serve` (--env-manager local) of a
# scikit-learn ExtraTrees of the same size (500 trees, max_features 0.5, white wine), side by
# side on 127.0.0.1 in one run. Measures cold start to the first `/ping` 200, then req/s and
# p50/p99 latency with wrk (4 connections, bounded runs) for 1-row and 100-row
# `dataframe_split` requests. Prints the figures and the ratios.
# Usage: bash bench/serve.sh [seconds per load run, default 10]
#        (installs Debian's wrk if it is missing)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-10}
if ! command -v wrk >/dev/null; then
    echo "installing wrk (apt-get install wrk)" >&2
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
fi
peers=$(bash "$here/tests/peers/install.sh" mlflow)
export PY="$peers/mlflow/bin/python" MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
vintner="$here/target/release/vintner"
work=$(mktemp -d "${TMPDIR:-/tmp}/vintner-serve.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Cold start of the server command "$@" ({port} stands for a free port): one untimed start, then
# $1 timed ones, each from the process start to the first `/ping` 200 (polled every 2 ms), then
# stopped. Prints "median min max" in milliseconds.
cold() {
    local runs=$1; shift
    python3 - "$runs" "$work/cold.log" "$@" <<'PY'
import http.client, os, signal, socket, statistics, subprocess, sys, time
runs, log, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def start_once():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    argv = [a.replace("{port}", str(port)) for a in cmd]
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=open(log, "ab"),
                         start_new_session=True)
    try:
        while True:
            if p.poll() is not None:
                sys.exit(f"{argv[0]} exited with {p.returncode} before answering /ping (see {log})")
            if time.perf_counter() - t0 > 600:
                sys.exit(f"{argv[0]} did not answer /ping in 600 s (see {log})")
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
                c.request("GET", "/ping")
                r = c.getresponse(); r.read(); c.close()
                if r.status == 200:
                    return (time.perf_counter() - t0) * 1000
            except OSError:
                pass
            time.sleep(0.002)
    finally:
        os.killpg(p.pid, signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL); p.wait()
start_once()
times = [start_once() for _ in range(runs)]
print(f"{statistics.median(times):.0f} {min(times):.0f} {max(times):.0f}")
PY
}

# The project: white wine versioned, ExtraTrees(500, max_features 0.5) trained and registered.
cd "$work" && mkdir proj && cd proj
"$vintner" -q init --remote "$work/remote"
mkdir data && cp "$here/data/winequality-white.csv" data/
sed -i 's/winequality-red/winequality-white/' vintner.toml
"$vintner" -q add data/winequality-white.csv && "$vintner" -q push
git add -A && git commit -qm data
"$vintner" -q train -P n_estimators=500 -P max_features=0.5 >/dev/null
"$vintner" -q register --threshold 10 >/dev/null

# The same model in scikit-learn, saved as an MLflow model; and the request bodies.
"$PY" - "$here/data/winequality-white.csv" "$work/sk-model" "$work" <<'PY'
import json, sys
import pandas as pd, mlflow
from sklearn.ensemble import ExtraTreesRegressor
df = pd.read_csv(sys.argv[1], sep=";")
X = df.drop(columns=["quality"]).astype("float64")
m = ExtraTreesRegressor(n_estimators=500, max_features=0.5, n_jobs=1, random_state=0).fit(X, df["quality"])
mlflow.sklearn.save_model(m, sys.argv[2], input_example=X.head(3),
                          skops_trusted_types=["sklearn.tree._tree.Tree"])
for n in (1, 100):
    body = {"dataframe_split": {"columns": list(X.columns), "data": X.head(n).values.tolist()}}
    open(f"{sys.argv[3]}/rows{n}.json", "w").write(json.dumps(body))
PY
cat >"$work/post.lua" <<'LUA'
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
LUA

# Cold starts, each server on its own.
out=$(cold "${COLD_RUNS:-7}" "$vintner" -q serve --port '{port}' --poll-interval 0)
read -r vcold vcold_min vcold_max <<<"$out"
out=$(PATH="$peers/mlflow/bin:$PATH" cold "${COLD_RUNS:-3}" \
    "$peers/mlflow/bin/mlflow" models serve -m "$work/sk-model" --env-manager local -h 127.0.0.1 -p '{port}')
read -r mcold mcold_min mcold_max <<<"$out"

# The servers under load.
wait_ping() {
    local port=$1
    for _ in $(seq 1 6000); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/ping" && return
        sleep 0.1
    done
    echo "server on port $port did not answer /ping" >&2; exit 1
}
vport=$(free_port)
setsid "$vintner" -q serve --port "$vport" --poll-interval 0 >"$work/vintner.log" 2>&1 &
pids+=($!)
wait_ping "$vport"
mport=$(free_port)
PATH="$peers/mlflow/bin:$PATH" setsid "$peers/mlflow/bin/mlflow" models serve -m "$work/sk-model" \
    --env-manager local -h 127.0.0.1 -p "$mport" >"$work/mlflow.log" 2>&1 &
pids+=($!)
wait_ping "$mport"

# Both must answer the bodies with 200 before they are timed.
for n in 1 100; do
    for port in "$vport" "$mport"; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
            --data-binary "@$work/rows$n.json" "http://127.0.0.1:$port/invocations")
        [ "$code" = 200 ] || { echo "port $port answered $code for rows$n.json" >&2; exit 1; }
    done
done

# One bounded wrk run: prints "req/s p50_ms p99_ms".
load() {
    local port=$1 n=$2 out
    out=$(BODY="$work/rows$n.json" wrk -t1 -c4 -d"${secs}s" --latency -s "$work/post.lua" \
        "http://127.0.0.1:$port/invocations")
    if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers under load on port $port" >&2; echo "$out" >&2; exit 1; fi
    python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ms(label):
    m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
print(f"{rps:.1f} {ms(50):.3f} {ms(99):.3f}")
PY
}

printf '\n%-34s %12s %12s %10s\n' "" "vintner" "mlflow" "ratio"
printf '%-34s %10s ms %10s ms %9.0fx\n' "cold start to /ping 200, median" "$vcold" "$mcold" "$(python3 -c "print($mcold/max($vcold,1))")"
printf '%-34s %12s %12s\n' "  (min-max, ms)" "$vcold_min-$vcold_max" "$mcold_min-$mcold_max"
for n in 1 100; do
    read -r vr v50 v99 < <(load "$vport" "$n")
    read -r mr m50 m99 < <(load "$mport" "$n")
    python3 - "$n" "$vr" "$v50" "$v99" "$mr" "$m50" "$m99" <<'PY'
import sys
n, vr, v50, v99, mr, m50, m99 = sys.argv[1], *map(float, sys.argv[2:])
print(f"{n + ' row(s): req/s':34} {vr:12.1f} {mr:12.1f} {vr / mr:9.1f}x")
print(f"{n + ' row(s): p50 latency':34} {v50:9.3f} ms {m50:9.3f} ms {m50 / v50:9.1f}x")
print(f"{n + ' row(s): p99 latency':34} {v99:9.3f} ms {m99:9.3f} ms {m99 / v99:9.1f}x")
PY
done
