#!/bin/bash
# Launch a QForge job file with mpirun outside a batch system:
#   jobs/mpirun-statevector.sh 4 configs/qft12.toml     # 4 ranks
set -euo pipefail
cd "$(dirname "$0")/.."
RANKS=${1:-2} exec jobs/qforge-job.sh "${2:-configs/ghz.toml}" "${@:3}"
