#!/usr/bin/env bash
# Runs page benchmark, `vintner ui` beside `mlflow ui` (mlflow==3.17.2) on the same mlflow.db with
# RUNS runs (default 10,000, made by vintner's tracker through examples/track_bench), on this
# machine:
#   1. time to first byte (curl): vintner's runs page `/experiments/<id>` (100 runs, server-side
#      HTML); MLflow's page shell `/` and the `runs/search` request its runs page sends (the
#      first 100 runs, as JSON), since MLflow's page is drawn in the browser from that answer;
#   2. time to a fully rendered page in headless Chromium (Debian's, driven by playwright-core as
#      in the browser tests): from navigation until the newest run's name is on screen in the
#      runs table, a fresh browser profile each time (nothing cached).
# Each figure is the median of REPEATS rounds (default 5), the two servers alternating in each
# round, after one warm-up request each; the ratio is MLflow's median over vintner's.
# Goal (issue 16): the runs page of 10,000 runs answers in < 100 ms from the embedded store.
# Usage: bash bench/ui.sh   (installs/reuses the MLflow peer and the browser driver)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
peers=$(bash "$here/tests/peers/install.sh" "mlflow browser")
mlflow="$peers/mlflow/bin/mlflow"
playwright="$peers/browser/node_modules/playwright-core"
chromium=${CHROMIUM:-/usr/bin/chromium}
runs=${RUNS:-10000}
repeats=${REPEATS:-5}
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true
unset MLFLOW_TRACKING_URI
[ -x "$chromium" ] || { echo "error: no $chromium; install Debian's chromium (apt-get install -y chromium)" >&2; exit 1; }

echo "building (release)…" >&2
(cd "$here" && cargo build --release --quiet --bin vintner --example track_bench)
target=${CARGO_TARGET_DIR:-$here/target}
vintner="$target/release/vintner"
bench="$target/release/examples/track_bench"

work=$(mktemp -d "${TMPDIR:-/tmp}/vintner-bench-ui.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

median() { python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.4f}')" "$@"; }
ratio() { python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'{a/b:.1f}x' if b > 0 else 'n/a')" "$1" "$2"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() {
    for _ in $(seq 1 1200); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.5
    done
    echo "error: nothing answered $1" >&2
    cat "$work"/*.log >&2
    exit 1
}
# Seconds to the first byte of a GET (or of a POST with a JSON body).
ttfb() {
    if [ $# -gt 1 ]; then
        curl -fs -o /dev/null -w '%{time_starttransfer}' -H 'Content-Type: application/json' -d "$2" "$1"
    else
        curl -fs -o /dev/null -w '%{time_starttransfer}' "$1"
    fi
}

# ---- the store ---------------------------------------------------------------------------------
echo "making mlflow.db with $runs runs…" >&2
made=$("$bench" --uri "sqlite:///$work/mlflow.db" --experiment ui-bench --runs "$runs")
exp=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])['experiment_id'])" "$made")
newest="run-$((runs - 1))"

# ---- the two servers, on the same file ---------------------------------------------------------
vport=$(free_port)
setsid "$vintner" ui --tracking-uri "sqlite:///$work/mlflow.db" --port "$vport" >"$work/vintner.log" 2>&1 &
pids+=($!)
mport=$(free_port)
setsid "$mlflow" ui --backend-store-uri "sqlite:///$work/mlflow.db" --host 127.0.0.1 --port "$mport" \
    >"$work/mlflow.log" 2>&1 &
pids+=($!)
v="http://127.0.0.1:$vport"
m="http://127.0.0.1:$mport"
echo "waiting for both servers…" >&2
wait_http "$v/"
wait_http "$m/health"

vpage="$v/experiments/$exp"
# MLflow 3.17 opens an experiment on its GenAI overview; its runs table is this page.
mrunspage="$m/#/experiments/$exp/runs?workflowType=machine_learning"
search="$m/ajax-api/2.0/mlflow/runs/search"
body="{\"experiment_ids\":[\"$exp\"],\"max_results\":100,\"order_by\":[\"attributes.start_time DESC\"],\"run_view_type\":\"ACTIVE_ONLY\"}"
# Warm-up: first requests pay lazy imports and cold caches on both sides.
ttfb "$vpage" >/dev/null; ttfb "$m/" >/dev/null; ttfb "$search" "$body" >/dev/null

cat >"$work/render.js" <<'EOF'
// Loads one page in a fresh headless Chromium and prints the seconds from navigation until
// `text` is on screen.
const [playwright, chromium, profile, url, text] = process.argv.slice(2);
(async () => {
  const { chromium: browser } = require(playwright);
  const ctx = await browser.launchPersistentContext(profile, {
    executablePath: chromium, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1400, height: 900 },
  });
  try {
    const page = await ctx.newPage();
    const t0 = process.hrtime.bigint();
    await page.goto(url, { waitUntil: "commit", timeout: 120000 });
    await page.getByText(text, { exact: true }).first().waitFor({ state: "visible", timeout: 120000 });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(s.toFixed(4));
  } finally {
    await ctx.close();
  }
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + "\n"); process.exit(1); });
EOF
render() { node "$work/render.js" "$playwright" "$chromium" "$(mktemp -d "$work/profile.XXXXXX")" "$1" "$newest"; }
# One warm-up render each (the browser's own first start).
render "$vpage" >/dev/null; render "$mrunspage" >/dev/null

v_ttfb=(); m_shell=(); m_search=(); v_render=(); m_render=()
for i in $(seq 1 "$repeats"); do
    echo "round $i/$repeats…" >&2
    v_ttfb+=("$(ttfb "$vpage")")
    m_shell+=("$(ttfb "$m/")")
    m_search+=("$(ttfb "$search" "$body")")
    v_render+=("$(render "$vpage")")
    m_render+=("$(render "$mrunspage")")
done
vt=$(median "${v_ttfb[@]}"); ms=$(median "${m_shell[@]}"); mq=$(median "${m_search[@]}")
vr=$(median "${v_render[@]}"); mr=$(median "${m_render[@]}")

cat <<EOF

runs page of $runs runs (mlflow.db, same file), medians of $repeats rounds
                                      vintner ui    mlflow ui   ratio
time to first byte (s)                $(printf '%10s' "$vt")   $(printf '%10s' "$mq")   $(ratio "$mq" "$vt")   (mlflow: runs/search, 100 runs; its page shell: ${ms} s)
fully rendered, newest run shown (s)  $(printf '%10s' "$vr")   $(printf '%10s' "$mr")   $(ratio "$mr" "$vr")
EOF
