#!/bin/bash
# Launch any QForge job file with mpirun outside a batch system (same preemption handling as
# under Slurm: Ctrl-\ or `kill -USR1` checkpoints; run it again to continue):
#   jobs/mpirun-md.sh 4 configs/md-argon-nvt.toml
set -euo pipefail
cd "$(dirname "$0")/.."
RANKS=${1:-2} exec jobs/qforge-job.sh "${2:-configs/md-argon-nvt.toml}" "${@:3}"
