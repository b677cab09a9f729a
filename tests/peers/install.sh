#!/usr/bin/env bash
# Installs the real peers the compatibility tests run against (DVC, MLflow, moto, and the storage
# emulators: wsgidav for WebDAV, gcp-storage-emulator for GCS, Azurite for Azure; and, for the
# benchmarks only and not by default, `s3s`, a fast S3 server), one folder each, and the browser
# driver (`playwright-core` from npm, pinned in tests/browser/package.json, used with the system
# Chromium), outside the clone so repeated runs reuse them. A Python peer is a venv from
# `<name>.txt`; an npm peer (a `<name>.txt` of `package@version` lines, `npm` needed) is a
# `node_modules` folder; a Rust peer (`<name>.txt` holds `cargo install` arguments, `cargo`
# needed) is a `bin` folder built with `cargo install --locked`. Each is rebuilt only when its
# pinned file changed. Prints the folder that holds them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${VINTNER_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vintner/peers}
mkdir -p "$root"
python=${PYTHON:-python3}

# Peers installed from npm or crates.io rather than PyPI.
npm_peers=" azurite "
cargo_peers=" s3s "

install_one() {
    local name=$1 req="$here/$1.txt" venv="$root/$1"
    local stamp="$venv/.vintner-requirements"
    if [ -f "$stamp" ] && cmp -s "$req" "$stamp" \
        && { [ -x "$venv/bin/python" ] || [ -d "$venv/node_modules" ] \
            || [[ $cargo_peers == *" $name "* && -d "$venv/bin" ]]; }; then
        echo "peer $name: reusing $venv" >&2
        return
    fi
    echo "peer $name: installing into $venv" >&2
    rm -rf "$venv"
    if [[ $npm_peers == *" $name "* ]]; then
        mkdir -p "$venv"
        # shellcheck disable=SC2046 # one package@version per word
        npm install --prefix "$venv" --no-audit --no-fund --loglevel=error \
            $(grep -v '^#' "$req") >&2
        cp "$req" "$stamp"
        return
    fi
    if [[ $cargo_peers == *" $name "* ]]; then
        # shellcheck disable=SC2046 # `package@version` and its options, one per word
        cargo install --quiet --locked --root "$venv" $(grep -v '^#' "$req") >&2
        cp "$req" "$stamp"
        return
    fi
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
    cp "$req" "$stamp"
}

install_browser() {
    local dir="$root/browser" req="$here/../browser/package.json"
    local stamp="$dir/.vintner-requirements"
    if [ -d "$dir/node_modules/playwright-core" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
        echo "peer browser: reusing $dir" >&2
        return
    fi
    echo "peer browser: installing playwright-core into $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    cp "$req" "$dir/package.json"
    # playwright-core downloads no browser: the tests drive the system Chromium.
    (cd "$dir" && npm install --no-audit --no-fund --omit=dev --loglevel=error >&2)
    cp "$req" "$stamp"
}

for peer in ${1:-dvc mlflow moto webdav gcs azurite browser}; do
    if [ "$peer" = browser ]; then
        install_browser
    else
        install_one "$peer"
    fi
done
echo "$root"
