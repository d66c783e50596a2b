#!/usr/bin/env bash
# Runs the whole suite: unit and integration tests, the real Chroma server, the API,
# the browser test, and the evaluation gates (retrieval and answers).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE
export HTX_ARTIFACTS="${HTX_ARTIFACTS:-$PWD/artifacts}"
mkdir -p "$HTX_ARTIFACTS"
bash scripts/postgres.sh  # PostgreSQL server binaries for the feedback-database tests (quick when present)
.venv/bin/python -m pytest -q "$@"
