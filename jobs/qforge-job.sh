#!/bin/bash
# Runs one QForge job file under srun or mpirun, inside a Slurm job or on its own, and handles preemption:
# SIGUSR1/SIGTERM reach the ranks (from Slurm directly, or forwarded by this script), the engine
# writes <output>.checkpoint at its next safe point and exits 75; under Slurm this script then
# requeues the job (a preemption is requeued by Slurm itself), and the requeued run (same job id,
# same output name) continues from the checkpoint. The catalog records the attempt `cancelled`.
#
#   jobs/qforge-job.sh JOB.toml [OUTPUT] [-- extra qforge run options]
#   RANKS=4 jobs/qforge-job.sh configs/md-argon-nvt.toml results/argon.h5md
#
# Environment: QFORGE_BIN (else qforge on PATH, else .build/release/qforge), RANKS (default
# $SLURM_NTASKS, else 1), QFORGE_REQUEUE=0 to exit 75 instead of requeueing,
# QFORGE_LAUNCHER=srun|mpirun to choose the launcher (default: srun inside a Slurm job when
# Slurm has the PMI plugin qforge's MPI speaks: pmix for Open MPI, pmi2 for MPICH and Intel MPI,
# QFORGE_SRUN_MPI=TYPE to name another; scripts/mpirun otherwise, QFORGE_MPIEXEC choosing its binary).
# The sbatch scripts in jobs/ call it from the submit directory (the repository root).
set -uo pipefail

JOB=${1:?usage: jobs/qforge-job.sh JOB.toml [OUTPUT] [-- qforge run options]}
shift
OUTPUT=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then OUTPUT=$1; shift; fi
[ "${1:-}" = "--" ] && shift

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${QFORGE_BIN:-}" ]; then QFORGE=$QFORGE_BIN
elif command -v qforge >/dev/null 2>&1; then QFORGE=$(command -v qforge)
else QFORGE=$ROOT/.build/release/qforge
fi
[ -x "$QFORGE" ] || { echo "qforge-job: no qforge binary at '$QFORGE' (build it: swift build -c release, or set QFORGE_BIN)" >&2; exit 2; }

RANKS=${RANKS:-${SLURM_NTASKS:-1}}
args=(run "$JOB" --quiet)
[ -n "$OUTPUT" ] && args+=(-o "$OUTPUT")
args+=("$@")

# The PMI plugin srun needs for the MPI this qforge was built with (its --version names it).
case "$("$QFORGE" --version 2>/dev/null)" in
    *"MPI: Open MPI"*) srun_mpi=pmix ;;
    *"MPI: MPICH"*|*"MPI: Intel(R) MPI"*) srun_mpi=pmi2 ;;
    *) srun_mpi="" ;;
esac
srun_mpi=${QFORGE_SRUN_MPI:-$srun_mpi}
LAUNCHER=${QFORGE_LAUNCHER:-}
if [ -z "$LAUNCHER" ]; then
    LAUNCHER=mpirun
    if [ -n "${SLURM_JOB_ID:-}" ] && [ -n "$srun_mpi" ] && command -v srun >/dev/null 2>&1 \
        && srun --mpi=list 2>&1 | grep -qw -- "$srun_mpi"; then
        LAUNCHER=srun
    fi
fi
case "$LAUNCHER" in
    srun) [ -n "$srun_mpi" ] || { echo "qforge-job: QFORGE_LAUNCHER=srun but the MPI of $QFORGE is unknown: set QFORGE_SRUN_MPI (srun --mpi=list)" >&2; exit 2; }
          launch=(srun --mpi="$srun_mpi" --ntasks="$RANKS") ;;
    mpirun|mpiexec) launch=("$ROOT/scripts/mpirun" -np "$RANKS") ;;
    *) echo "qforge-job: QFORGE_LAUNCHER must be srun or mpirun, not '$LAUNCHER'" >&2; exit 2 ;;
esac

echo "qforge-job: $(date -u +%FT%TZ) ${SLURM_JOB_ID:+slurm job $SLURM_JOB_ID${SLURM_ARRAY_TASK_ID:+ task $SLURM_ARRAY_TASK_ID} }attempt $(( ${SLURM_RESTART_COUNT:-0} + 1 )): $RANKS rank(s) by ${launch[*]}, qforge ${args[*]}"

# Slurm's scancel, a preemption (PreemptMode=REQUEUE) and the end of the time limit send SIGTERM
# to every process of the job at once: the ranks note it and write their checkpoint. srun and
# MPICH's mpiexec pass SIGTERM on and wait, but Open MPI's mpirun answers it by killing the ranks
# 1 s later. Give them QFORGE_KILL_GRACE seconds (default 30: mpirun passes SIGTERM on after
# that, SIGKILL after twice that; Slurm's KillWait or GraceTime ends the job in any case).
export OMPI_MCA_odls_base_sigkill_timeout=${OMPI_MCA_odls_base_sigkill_timeout:-${QFORGE_KILL_GRACE:-30}}

# The launcher in the background so that this shell can receive a signal sent to it alone
# (scancel --batch, kill) and pass it on as SIGUSR1, which srun, mpirun and mpiexec forward to the ranks.
"${launch[@]}" "$QFORGE" "${args[@]}" &
pid=$!
received=""
forward() { received=$1; echo "qforge-job: received $1, asking qforge to checkpoint"; kill -USR1 "$pid" 2>/dev/null; }
trap 'forward USR1' USR1
trap 'forward TERM' TERM
# `wait` returns early when a trapped signal arrives; wait again until the launcher has really ended.
while :; do
    wait "$pid"; status=$?
    kill -0 "$pid" 2>/dev/null || break
done
trap - USR1 TERM
# MPICH 4.0's mpiexec may report 0 after forwarding a signal although the ranks exited 75: a
# checkpoint without a final result says how the run really ended.
if [ "$status" -eq 0 ] && [ -n "$OUTPUT" ] && [ -e "$OUTPUT.checkpoint" ] && [ ! -e "$OUTPUT" ]; then status=75; fi

if [ "$status" -eq 75 ]; then
    if [ "$received" = TERM ]; then
        # scancel, preemption or the time limit: Slurm requeues a preempted job itself, and a
        # cancelled one must stay cancelled (its checkpoint waits for the next sbatch).
        echo "qforge-job: checkpoint written; not requeued (SIGTERM: scancel, preemption or time limit)"
    elif [ -n "${SLURM_JOB_ID:-}" ] && [ "${QFORGE_REQUEUE:-1}" != 0 ]; then
        echo "qforge-job: checkpoint written; requeueing job $SLURM_JOB_ID"
        # The requeued job keeps its id, so it finds the same output name and the checkpoint.
        scontrol requeue "$SLURM_JOB_ID"
    fi
    exit 75
fi
exit "$status"
