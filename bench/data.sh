#!/usr/bin/env bash
# Data-layer benchmark: vintner and the real DVC side by side on the same machine in one run.
# Scenarios (DVC research §9): 20,000 files of 4 KiB in 100 folders, and one 1 GiB file.
# Prints median wall times and ratios (DVC / vintner); peak RSS with /usr/bin/time if present.
# Nothing is deleted while measuring (old runs are moved aside and removed at the end): on ext4,
# creating files within minutes of deleting thousands is several times slower (the allocator
# skips recently freed inodes), which would charge both tools for the harness's clean-up.
#
# Network-remote rows: push and a fresh clone's pull of BENCH_REMOTE_FILES (default 20,000)
# files of 4 KiB, one run each, DVC (with its dvc-s3/-azure/-webdav/-ssh plugin, default
# settings) and vintner against the same server, with `status -c` too on S3. Each HTTP remote
# sits behind bench/latency_proxy.py (kept-alive upstream connections, never the limit), once
# with 30 ms added to every request (like a real cloud region) and once with none, and the
# requests each tool made are counted there and printed beside the times:
#   s3      s3s-fs (a Rust S3 server, built once by tests/peers/install.sh), or moto with
#           BENCH_S3_SERVER=moto (one Python process: about 300 requests/s, which then limits
#           both tools);
#   azure   Azurite;  webdav  wsgidav;
#   gcs     gcp-storage-emulator (through the launcher in tests/it/remotes.rs); DVC's gcsfs
#           with its gRPC bucket-layout probe off, as the tests run it (the emulator speaks
#           no gRPC; real GCS answers "flat bucket" and gcsfs then takes the same path);
#   ssh     a throw-away sshd on a free port (no proxy: no added latency, no request counts).
# Usage: bash bench/data.sh [runs]     (needs hyperfine: apt-get install hyperfine)
#        BENCH_ONLY=local|s3|azure|webdav|gcs|ssh (or a comma-separated list) picks rows;
#        BENCH_REMOTE_FILES=2000 shrinks the remote rows' tree; BENCH_LATENCY="30" picks the
#        added delays (ms); BENCH_DVC_JOBS=64 runs DVC with `--jobs 64` (default: its own).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
command -v hyperfine >/dev/null || { echo "bench/data.sh needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
only=${BENCH_ONLY:-}
# Whether rows of kind $1 are selected.
want() { [ -z "$only" ] || [[ ",${only// /,}," == *",$1,"* ]]; }
for kind in ${only//,/ }; do
    case $kind in local | s3 | azure | webdav | gcs | ssh) ;;
        *) echo "BENCH_ONLY: unknown row kind \`$kind\`; use local, s3, azure, webdav, gcs or ssh" >&2; exit 2 ;;
    esac
done
s3_server=${BENCH_S3_SERVER:-s3s}
case $s3_server in s3s | moto) ;; *) echo "BENCH_S3_SERVER must be s3s or moto" >&2; exit 2 ;; esac
need="dvc"
if want s3; then need+=" $s3_server"; fi
if want azure; then need+=" azurite"; fi
if want webdav; then need+=" webdav"; fi
if want gcs; then need+=" gcs"; fi
peers=$(bash "$here/tests/peers/install.sh" "$need")
dvc="$peers/dvc/bin/dvc"
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
vintner="$here/target/release/vintner"
work=$(mktemp -d "${TMPDIR:-/tmp}/vintner-bench.XXXXXX")
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
export DVC_NO_ANALYTICS=1 DVC_SITE_CACHE_DIR="$work/site-cache" GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid

echo "making the data sets in $work" >&2
python3 - "$work/src20k" "$(want local && echo "$work/big.bin" || echo -)" <<'PY'
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

if want local; then
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

# ---- Network-remote rows ---------------------------------------------------------------------
remote_files=${BENCH_REMOTE_FILES:-${BENCH_S3_FILES:-20000}}
latencies=${BENCH_LATENCY:-30 0}
dvc_jobs=${BENCH_DVC_JOBS:+--jobs $BENCH_DVC_JOBS}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "nothing on port $1 (see the logs in $work/logs)" >&2; exit 1; }
# Starts a server in the background (its output in $work/logs/NAME.log); NAME, then the command.
start() {
    local name=$1; shift
    "$@" >"$work/logs/$name.log" 2>&1 &
    pids+=($!)
    server_pids+=($!)
}
# Each kind has start_KIND (sets $upstream), bucket_KIND NAME (makes an empty remote) and
# remote_KIND NAME PORT (run in a repository: adds remote `r` at that port with DVC's commands).
start_s3() {
    upstream=$(free_port)
    if [ "$s3_server" = moto ]; then
        start moto "$peers/moto/bin/moto_server" -H 127.0.0.1 -p "$upstream"
    else
        mkdir -p "$work/s3s"
        start s3s "$peers/s3s/bin/s3s-fs" --host 127.0.0.1 --port "$upstream" \
            --access-key "$AWS_ACCESS_KEY_ID" --secret-key "$AWS_SECRET_ACCESS_KEY" "$work/s3s"
    fi
}
bucket_s3() {
    if [ "$s3_server" = moto ]; then
        "$peers/moto/bin/python" -c "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:$upstream').create_bucket(Bucket='$1')"
    else
        mkdir "$work/s3s/$1" # s3s-fs serves each folder of its root as a bucket
    fi
}
remote_s3() {
    "$dvc" remote add -q -d r "s3://$1/store" && "$dvc" remote modify -q r endpointurl "http://127.0.0.1:$2"
}
# Azurite's well-known development account key.
azure_key="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
azure_conn() { echo "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$azure_key;BlobEndpoint=http://127.0.0.1:$1/devstoreaccount1;"; }
start_azure() {
    upstream=$(free_port)
    mkdir -p "$work/azurite"
    start azurite "$peers/azurite/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 \
        --blobPort "$upstream" --location "$work/azurite" --skipApiVersionCheck --disableTelemetry
}
bucket_azure() {
    "$peers/dvc/bin/python" -c "from azure.storage.blob import BlobServiceClient as C; C.from_connection_string('$(azure_conn "$upstream")').create_container('$1')"
}
remote_azure() {
    "$dvc" remote add -q -d r "azure://$1/store" && "$dvc" remote modify -q --local r connection_string "$(azure_conn "$2")"
}
start_webdav() {
    upstream=$(free_port)
    mkdir -p "$work/dav/root"
    cat >"$work/dav/wsgidav.yaml" <<EOF
host: 127.0.0.1
port: $upstream
server: cheroot
provider_mapping:
  "/": $work/dav/root
http_authenticator:
  accept_basic: true
  accept_digest: false
  default_to_digest: false
simple_dc:
  user_mapping:
    "*":
      "bench":
        password: "bench-dav-pw"
verbose: 1
EOF
    start wsgidav "$peers/webdav/bin/wsgidav" --config "$work/dav/wsgidav.yaml"
}
bucket_webdav() { mkdir -p "$work/dav/root/$1/store"; } # DVC's client needs the folder to exist
remote_webdav() {
    "$dvc" remote add -q -d r "webdav://127.0.0.1:$2/$1/store" && "$dvc" remote modify -q r user bench \
        && "$dvc" remote modify -q --local r password bench-dav-pw
}
start_gcs() {
    upstream=$(free_port)
    # The tests' launcher: the emulator plus what real GCS's XML API has and it lacks.
    python3 - "$here/tests/it/remotes.rs" >"$work/gcs-launch.py" <<'PY'
import re, sys
print(re.search(r'const GCS_LAUNCHER: &str = r#"(.*?)"#;', open(sys.argv[1]).read(), re.S).group(1))
PY
    start gcs "$peers/gcs/bin/python" "$work/gcs-launch.py" start --host 127.0.0.1 --port "$upstream" --in-memory
}
bucket_gcs() {
    curl -sf -X POST -H 'Content-Type: application/json' -d "{\"name\": \"$1\"}" \
        "http://127.0.0.1:$upstream/storage/v1/b" >/dev/null
}
remote_gcs() {
    "$dvc" remote add -q -d r "gs://$1/store" && "$dvc" remote modify -q r endpointurl "http://127.0.0.1:$2" \
        && "$dvc" remote modify -q r allow_anonymous_login true
}
start_ssh() {
    local d="$work/sshd"
    [ -x /usr/sbin/sshd ] || { echo "the SSH rows need OpenSSH's server: apt-get install -y openssh-server" >&2; exit 1; }
    [ -d /run/sshd ] || { echo "sshd needs /run/sshd: mkdir -p /run/sshd" >&2; exit 1; }
    mkdir -p "$d" "$work/ssh-home/.ssh"
    ssh-keygen -q -t ed25519 -N "" -C vintner-bench -f "$d/host_key"
    ssh-keygen -q -t ed25519 -N "" -C vintner-bench -f "$d/client_key"
    cp "$d/client_key.pub" "$d/authorized_keys"
    upstream=$(free_port)
    cat >"$d/sshd_config" <<EOF
Port $upstream
ListenAddress 127.0.0.1
HostKey $d/host_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
Subsystem sftp internal-sftp
MaxSessions 64
MaxStartups 100
EOF
    start sshd /usr/sbin/sshd -D -e -f "$d/sshd_config"
    # Both tools trust the throw-away host key and log in with the throw-away client key, found
    # where they look by default.
    echo "[127.0.0.1]:$upstream $(cat "$d/host_key.pub")" >"$work/ssh-home/.ssh/known_hosts"
    cp "$d/client_key" "$work/ssh-home/.ssh/id_ed25519"
    export HOME="$work/ssh-home"
}
bucket_ssh() { mkdir -p "$work/ssh-store/$1"; }
remote_ssh() {
    "$dvc" remote add -q -d r "ssh://127.0.0.1:$2$work/ssh-store/$1" && "$dvc" remote modify -q r user "$(id -un)"
}

mkdir -p "$work/logs" "$work/remote-src"
python3 - "$work/src20k" "$work/remote-src" "$remote_files" <<'PY'
import os, shutil, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(os.path.join(d, f) for d in os.listdir(src) for f in os.listdir(os.path.join(src, d)))[:n]
for f in files:
    os.makedirs(os.path.join(dst, os.path.dirname(f)), exist_ok=True)
    shutil.copy(os.path.join(src, f), os.path.join(dst, f))
PY
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
# timed KIND OP DELAY TOOL PROXY_PORT COMMAND: one run, appended as a line of remotes.txt
# (`-` for the requests where no proxy counts them, FAILED if the command failed).
timed() {
    local kind=$1 op=$2 delay=$3 tool=$4 port=$5; shift 5
    [ "$port" = - ] || curl -s "http://127.0.0.1:$port/__proxy/counts" >/dev/null
    local t0 t1 secs n=- kinds=-
    t0=$(date +%s.%N)
    if bash -c "$*" >"$work/logs/last.out" 2>&1; then
        t1=$(date +%s.%N)
        secs=$(python3 -c "print(f'{$t1-$t0:.3f}')")
    else
        secs=FAILED
        echo "  $kind $op $tool failed: $*" >&2
        tail -5 "$work/logs/last.out" >&2
    fi
    if [ "$port" != - ]; then
        read -r n kinds < <(curl -s "http://127.0.0.1:$port/__proxy/counts" | python3 -c "import json,sys; c=json.load(sys.stdin); print(c.pop('total'), ','.join(f'{k}:{v}' for k,v in sorted(c.items())) or '-')")
    fi
    echo "$kind $op $delay $tool $secs $n $kinds" >>"$results/remotes.txt"
    echo "  $kind $op, ${delay} ms added, $tool: $secs s, $n requests ($kinds)" >&2
}
real_home=$HOME
for kind in s3 azure webdav gcs ssh; do
    want "$kind" || continue
    server_pids=()
    "start_$kind"
    wait_port "$upstream"
    tools="dvc vintner"
    delays=$latencies
    [ "$kind" = ssh ] && delays=- # not HTTP: no proxy, so no added latency and no counts
    for delay in $delays; do
        if [ "$delay" = - ]; then
            port=$upstream counter=-
        else
            port=$(free_port)
            # (S3S_ROOT, UPSTREAM_CONNECTIONS: see bench/latency_proxy.py. The GCS emulator
            # serves one connection at a time and queues 5.)
            S3S_ROOT=$([ "$kind$s3_server" != s3s3s ] || echo "$work/s3s") \
                UPSTREAM_CONNECTIONS=$([ "$kind" != gcs ] || echo 2) \
                start "proxy-$kind-$delay" python3 "$here/bench/latency_proxy.py" "$port" "$upstream" "$delay"
            wait_port "$port"
            counter=$port
        fi
        for tool in $tools; do
            name="b${delay/-/x}$tool" # no `-`: object_store escapes it, and the GCS emulator then fails
            "bucket_$kind" "$name"
            dir="$work/$kind-$delay-$tool"
            mkdir -p "$dir"
            git -C "$dir" init -q
            (cd "$dir" && "$dvc" init -q && "remote_$kind" "$name" "$port")
            cp -r "$work/remote-src" "$dir/data"
            if [ "$tool" = dvc ]; then run="$dvc"; jobs=$dvc_jobs; else run="$vintner"; jobs=; fi
            (cd "$dir" && $run add -q data >/dev/null && git add -A && git commit -qm data)
            echo "$kind, ${delay} ms per request, $remote_files files, $tool:" >&2
            timed "$kind" push "$delay" "$tool" "$counter" "cd $dir && $run push -q $jobs"
            if [ "$kind" = s3 ]; then
                timed "$kind" status-c "$delay" "$tool" "$counter" "cd $dir && $run status -c $jobs"
            fi
            git clone -q "$dir" "$dir-clone"
            [ ! -f "$dir/.dvc/config.local" ] || cp "$dir/.dvc/config.local" "$dir-clone/.dvc/"
            timed "$kind" pull "$delay" "$tool" "$counter" "cd $dir-clone && $run pull -q $jobs"
            diff -rq "$work/remote-src" "$dir-clone/data" >/dev/null \
                || echo "  $kind $tool: the pulled tree differs from the pushed one" >&2
        done
    done
    # Done with this kind: its servers and proxies stop, so they use no CPU for the next one.
    for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    export HOME=$real_home
done
if [ -f "$results/remotes.txt" ]; then
    python3 - "$results/remotes.txt" "$remote_files" "$s3_server" <<'PY'
import sys
servers = {"s3": sys.argv[3], "azure": "azurite", "webdav": "wsgidav", "gcs": "gcp-storage-emulator", "ssh": "sshd"}
rows = {}
for line in open(sys.argv[1]):
    kind, op, delay, tool, secs, n, kinds = line.split()
    rows.setdefault((kind, op, delay), {})[tool] = (secs, n, kinds)
print(f"\nNetwork remotes, {sys.argv[2]} files of 4 KiB, one run each; latency = added per request")
print(f"{'remote':<22} {'operation':<9} {'latency':>7} {'dvc s':>8} {'vintner s':>10} {'dvc/vintner':>12} {'dvc reqs':>9} {'vintner reqs':>13}")
def num(x):
    try:
        return float(x)
    except ValueError:
        return None
for (kind, op, delay), r in rows.items():
    d, v = r.get("dvc", ("-", "-", "-")), r["vintner"]
    ds, vs = num(d[0]), num(v[0])
    ratio = f"{ds / vs:.1f}x" if ds and vs else "-"
    lat = "-" if delay == "-" else delay + " ms"
    print(f"{kind + ' (' + servers[kind] + ')':<22} {op:<9} {lat:>7} {d[0]:>8} {v[0]:>10} {ratio:>12} {d[1]:>9} {v[1]:>13}")
for (kind, op, delay), r in rows.items():
    if delay != "-":
        kinds = "; ".join(f"{t} {x[2]}" for t, x in r.items())
        print(f"  {kind} {op} {delay} ms requests by method: {kinds}")
PY
fi

if want local && [ -x /usr/bin/time ]; then
    fresh "$work/m"
    echo "peak RSS (KiB):" >&2
    (cd "$work/m" && /usr/bin/time -f "  vintner add 20k: %M" "$vintner" -q add data)
    fresh "$work/m2"
    (cd "$work/m2" && /usr/bin/time -f "  dvc add 20k:     %M" "$dvc" add -q data)
fi
