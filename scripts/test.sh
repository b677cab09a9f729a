#!/usr/bin/env bash
# Runs every test: unit tests, and the integration tests that drive the real `vintner` and the
# real peers (DVC, MLflow, a local S3 server). Installs the peers first if they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export VINTNER_PEERS_DIR="${VINTNER_PEERS_DIR:-$(bash tests/peers/install.sh)}"
cargo test --locked --all-targets -- --test-threads="${VINTNER_TEST_THREADS:-2}"
