#!/usr/bin/env bash
# Installs the real peers the compatibility tests run against (DVC, MLflow, moto), one venv each,
# outside the clone so repeated runs reuse them. A venv is rebuilt only when its pinned
# requirements file changed. Prints the folder that holds the venvs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${VINTNER_PEERS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vintner/peers}
mkdir -p "$root"
python=${PYTHON:-python3}

install_one() {
    local name=$1 req="$here/$1.txt" venv="$root/$1"
    local stamp="$venv/.vintner-requirements"
    if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && cmp -s "$req" "$stamp"; then
        echo "peer $name: reusing $venv" >&2
        return
    fi
    echo "peer $name: installing into $venv" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" >&2
    cp "$req" "$stamp"
}

for peer in ${1:-dvc mlflow moto}; do
    install_one "$peer"
done
echo "$root"
