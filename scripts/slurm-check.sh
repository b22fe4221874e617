#!/usr/bin/env bash
# The README's Slurm array recipe against a real Slurm: starts slurmctld and slurmd for this machine alone (Debian's
# slurm-wlm and munge; root), submits `sbatch --array=0-2` of `suite run smoke` (each task reads its shard from
# SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT), waits for it, merges the shards and requires the merged results to
# be the unsharded run's bytes. Stops the daemons it started and removes its directory on exit.
#
#   scripts/slurm-check.sh [BINARY]        (default .build/release/precision-lab)
#
# Exit 0: identical. 1: they differ or the job failed. 77: this machine cannot run Slurm here (not root, or the
# packages are missing), with the reason on stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
repo="$(pwd)"
binary="$(realpath "${1:-.build/release/precision-lab}")"
skip() { echo "slurm-check: skipped: $*" >&2; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "slurmctld and slurmd need root here (uid $(id -u))"
for tool in slurmctld slurmd sbatch sinfo munged; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || skip "$tool is not installed (apt-get install -y slurm-wlm munge)"
done
[ -x "$binary" ] || { echo "slurm-check: $binary: no such binary (build it first)" >&2; exit 2; }

work="$(mktemp -d /tmp/precision-lab-slurm.XXXXXX)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    sleep 1
    for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# munge: this machine's key, our own socket.
mkdir -p "$work/munge" && chmod 700 "$work/munge"
if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    chmod 400 /etc/munge/munge.key
fi
socket="$work/munge/munge.socket"
/usr/sbin/munged --force --socket="$socket" --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" \
    --seed-file="$work/munge/munged.seed" --key-file=/etc/munge/munge.key
for _ in $(seq 50); do [ -s "$work/munge/munged.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/munge/munged.pid")")

host="$(hostname -s)"
port=$((20000 + RANDOM % 20000))
mkdir -p "$work/state" "$work/spool"
cat > "$work/slurm.conf" <<CONF
ClusterName=precisionlab
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=lab Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
/usr/sbin/slurmctld -f "$SLURM_CONF" -i
for _ in $(seq 50); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.1; done
[ -s "$work/slurmctld.pid" ] || { cat "$work/slurmctld.log" >&2 || true; skip "slurmctld did not start"; }
pids+=("$(cat "$work/slurmctld.pid")")
/usr/sbin/slurmd -f "$SLURM_CONF" -N "$host"
for _ in $(seq 50); do [ -s "$work/slurmd.pid" ] && break; sleep 0.1; done
[ -s "$work/slurmd.pid" ] || { cat "$work/slurmd.log" >&2 || true; skip "slurmd did not start"; }
pids+=("$(cat "$work/slurmd.pid")")
state=""
for _ in $(seq 100); do
    state="$(sinfo -h -N -o %t 2>/dev/null | head -1)"
    [ "$state" = "idle" ] && break
    sleep 0.2
done
[ "$state" = "idle" ] || { tail -5 "$work/slurmd.log" >&2 || true; echo "slurm-check: the node is '$state', not idle" >&2; exit 1; }

# The README's recipe, on the smoke suite, three shards.
mkdir -p "$work/job"
cat > "$work/job/array.sh" <<JOB
#!/bin/bash
#SBATCH --job-name=precision-lab-smoke
#SBATCH --array=0-2
#SBATCH --cpus-per-task=1
#SBATCH --output=$work/job/%A_%a.out
cd "$repo"
"$binary" suite run smoke --out "$work/results" --threads "\$SLURM_CPUS_PER_TASK" --fresh
JOB
sbatch --wait --chdir="$repo" "$work/job/array.sh" > "$work/job/sbatch.out" || {
    cat "$work"/job/*.out >&2 || true
    echo "slurm-check: the array job failed" >&2
    exit 1
}
echo "slurm-check: $(cat "$work/job/sbatch.out"); shards: $(ls "$work/results" | grep -c 'shard-.*-of-3.results.jsonl')" >&2
"$binary" suite merge "$work"/results/smoke.shard-*-of-3.results.jsonl --out "$work/merged" >/dev/null
"$binary" suite run smoke --out "$work/unsharded" --fresh >/dev/null
if cmp "$work/merged/smoke.results.jsonl" "$work/unsharded/smoke.results.jsonl"; then
    echo "slurm-check: the merged shards of the Slurm array are the unsharded run's bytes ($(wc -l < "$work/merged/smoke.results.jsonl") runs)" >&2
else
    echo "slurm-check: the merged results differ from the unsharded run's" >&2
    exit 1
fi
