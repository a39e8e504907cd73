#!/usr/bin/env bash
# Start a throwaway single-node SLURM cluster on this machine for CI: one node called
# `localhost` with all its CPUs, ~85% of its memory and one generic GPU, partitions `cpu`
# (default) and `gpu`, and accounting through slurmdbd + MariaDB so that `sacct` works.
#
# Why each piece is here:
# - slurmdbd/MariaDB: the Snakemake SLURM executor checks job states with `sacct`; without an
#   accounting database it polls forever. The database also lets the test read AllocTRES.
# - Loopback: MariaDB listens on 127.0.0.1 only, slurmctld and slurmd too (CommunicationParameters).
# - Gres=gpu:1 with File=/dev/null: the CI machine has no GPU, but SLURM must still count a
#   `gpu` resource so that `--gpus=1` jobs schedule (and are limited to one at a time). Without a
#   File the node registers with a GRES count mismatch and is drained.
# - Everything is started fresh (state directory and accounting database) on every run: saved
#   controller state would bring nodes back drained and jobs from an old run.
# - Config lives in /etc/slurm (not SLURM_CONF): the executor's job step drops SLURM_CONF.
# - ProctrackType=proctrack/linuxproc and TaskPlugin=task/none: CI containers have neither
#   systemd nor a usable cgroup hierarchy.
#
# Usage: bash .ci/slurm/start.sh   (as root, or a user with sudo; re-running restarts the cluster)
set -Eeuo pipefail

if [[ $EUID -ne 0 ]]; then
    exec sudo --preserve-env=PATH bash "$0" "$@"
fi

# The user who will submit jobs (the CI user when started through sudo).
SUBMIT_USER=${SUDO_USER:-root}
CLUSTER=myoflow-ci
STATE=/var/lib/slurm-ci        # controller and slurmd state, wiped on every run
RUN_DIR=/run/slurm-ci          # pid files of the daemons this script starts
LOGS=/var/log/slurm-ci
DB_PASS=slurm-ci               # MariaDB only listens on 127.0.0.1; a fixed password is fine
T0=$SECONDS

log() { echo "[slurm-ci $((SECONDS - T0))s] $*"; }

diagnostics() {
    echo "----- SLURM set-up failed; diagnostics -----" >&2
    for f in "$LOGS"/slurmctld.log "$LOGS"/slurmd.log "$LOGS"/slurmdbd.log; do
        [[ -f $f ]] && { echo "== tail $f" >&2; tail -n 40 "$f" >&2; }
    done
    sinfo -N -l >&2 2>&1 || true
    scontrol show node localhost >&2 2>&1 || true
}
trap diagnostics ERR

# ---------------------------------------------------------------- packages
PACKAGES=(slurmctld slurmd slurm-client slurmdbd munge mariadb-server)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # No recommends: they pull in mail servers and docs that only cost time.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---------------------------------------------------------------- stop a previous cluster
# Only daemons this script started (their pid files), so re-running gives a clean cluster.
# Running and not a zombie (containers whose init does not reap leave killed daemons as zombies).
alive() { [[ $(ps -o stat= -p "$1" 2>/dev/null) =~ ^[^Z] ]]; }
stop_pidfile() {
    local pidfile=$1 pid
    [[ -f $pidfile ]] || return 0
    pid=$(cat "$pidfile")
    if alive "$pid"; then
        kill "$pid"
        for _ in $(seq 50); do alive "$pid" || break; sleep 0.2; done
    fi
    rm -f "$pidfile"
}
for d in slurmd slurmctld slurmdbd; do stop_pidfile "$RUN_DIR/$d.pid"; done

rm -rf "$STATE"
mkdir -p "$STATE/ctld" "$STATE/d" "$RUN_DIR" "$LOGS" /etc/slurm
: >"$LOGS/slurmctld.log"; : >"$LOGS/slurmd.log"; : >"$LOGS/slurmdbd.log"

# ---------------------------------------------------------------- munge
# The package creates a random key on install; create one if it is missing anyway.
if [[ ! -s /etc/munge/munge.key ]]; then
    mungekey --create --keyfile /etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
fi
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    log "starting munged"
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
fi
munge -n | unmunge >/dev/null

# ---------------------------------------------------------------- MariaDB (loopback only)
cat >/etc/mysql/mariadb.conf.d/90-slurm-ci.cnf <<'EOF'
# Written by .ci/slurm/start.sh: accounting database for the CI SLURM cluster, loopback only.
[mysqld]
bind-address = 127.0.0.1
# slurmdbd's recommendation; the default is too short for its table conversions.
innodb_lock_wait_timeout = 900
# (slurmdbd still logs "error: Database settings not recommended values: innodb_buffer_pool_size";
# harmless for a few dozen CI jobs.)
EOF
if ! mysqladmin ping >/dev/null 2>&1; then
    log "starting MariaDB"
    /etc/init.d/mariadb start >/dev/null
fi
for _ in $(seq 100); do mysqladmin ping >/dev/null 2>&1 && break; sleep 0.2; done
# A fresh database per run: its job ids would otherwise collide with the fresh controller's.
mysql <<EOF
DROP DATABASE IF EXISTS slurm_acct_db;
CREATE DATABASE slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
EOF

# ---------------------------------------------------------------- configuration
CPUS=$(nproc)
MEM_TOTAL_MB=$(awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo)
# Leave ~15% to the OS, Snakemake itself and its local rules.
REAL_MB=$((MEM_TOTAL_MB * 85 / 100))
# The largest request of the test workflow (train_model: mem_mb 8000) must fit on the node,
# otherwise sbatch refuses the job; say so now rather than in the middle of the test.
if ((REAL_MB < 8000)); then
    echo "start.sh: this machine has ${MEM_TOTAL_MB} MB of memory; the SLURM test needs a node" \
        "with at least 8000 MB (85% of RAM) for train_model" >&2
    exit 1
fi

cat >/etc/slurm/slurm.conf <<EOF
# Written by .ci/slurm/start.sh: single-node CI cluster. Not a template for a real site.
ClusterName=$CLUSTER
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
# Bind slurmctld and slurmd to the address of their host name (127.0.0.1 for localhost), not to
# every interface. (slurmdbd 22.05 has no such setting; it answers munge-signed requests only.)
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
# No cgroups or systemd in CI containers.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
# Schedule cores and memory (not whole nodes), so that several jobs share the node; jobs without
# a memory request get DefMemPerCPU instead of the whole node.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
SchedulerType=sched/backfill
# A node that was down comes back by itself once slurmd registers with a valid config.
ReturnToService=2
KillWait=5
# Accounting: sacct (the executor's status command) and GPU allocations in AllocTRES.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageTRES=gres/gpu
# Keep the job comment: the executor writes the rule name there, the test reads it back.
AccountingStoreFlags=job_comment
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$REAL_MB Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost MaxTime=INFINITE State=UP
EOF

cat >/etc/slurm/gres.conf <<'EOF'
# Written by .ci/slurm/start.sh: one pretend GPU (no device file to hand out), so that jobs
# asking for --gpus=1 are scheduled one at a time on the gpu partition.
AutoDetect=off
NodeName=localhost Name=gpu File=/dev/null
EOF

cat >/etc/slurm/slurmdbd.conf <<EOF
# Written by .ci/slurm/start.sh
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
PidFile=$RUN_DIR/slurmdbd.pid
LogFile=$LOGS/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StorageUser=slurm
StoragePass=$DB_PASS
StorageLoc=slurm_acct_db
EOF
# slurmdbd refuses a config readable by others (it holds the database password).
chmod 600 /etc/slurm/slurmdbd.conf

# ---------------------------------------------------------------- daemons
log "starting slurmdbd"
slurmdbd
for _ in $(seq 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
# Register the cluster before the controller starts, so it finds itself in the database.
sacctmgr -i add cluster "$CLUSTER" >/dev/null

log "starting slurmctld and slurmd"
slurmctld
slurmd -N localhost

# Wait for the node to register and become schedulable.
state=""
for _ in $(seq 150); do
    state=$(sinfo -h -N -n localhost -o %T 2>/dev/null | sort -u | tr '\n' ' ')
    [[ $state == "idle " ]] && break
    sleep 0.2
done
if [[ $state != "idle " ]]; then
    echo "start.sh: node localhost is '${state:-unknown}', not idle" >&2
    false
fi

# An account and association for the submitting user (root has one by default, a CI user started
# through sudo does not), so that accounting knows who submits and `slurm_account: myoflow` in a
# profile passes the executor's sacctmgr check.
sacctmgr -i add account myoflow Cluster="$CLUSTER" Description="myoflow CI" >/dev/null
sacctmgr -i add user "$SUBMIT_USER" Account=myoflow Cluster="$CLUSTER" >/dev/null
sacctmgr -n list cluster format=cluster | grep -qw "$CLUSTER"
sacctmgr -n list association cluster="$CLUSTER" user="$SUBMIT_USER" format=account | grep -qw myoflow

trap - ERR
log "cluster $CLUSTER is up: node localhost with $CPUS CPUs, $REAL_MB MB, gpu:1"
sinfo
