#!/bin/bash
# Launch a QForge job file with mpirun outside a batch system:
#   jobs/mpirun-statevector.sh 4 configs/qft12.toml     # 4 ranks
set -euo pipefail
RANKS=${1:-2}
JOB=${2:-configs/ghz.toml}
cd "$(dirname "$0")/.."
exec scripts/mpirun -np "$RANKS" .build/release/qforge run "$JOB"
