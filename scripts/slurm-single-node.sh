#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine, for tests (tests/slurm.rs) and for trying
# rask::jobqueue::SlurmJobs by hand.
#
# Usage (as root; needs Debian's slurm-wlm package: `apt-get install -y slurm-wlm`):
#   scripts/slurm-single-node.sh [start]   configure and start the cluster, wait until the node is idle
#   scripts/slurm-single-node.sh status    print the daemons' state and `sinfo`; exit 1 if the node is not usable
#   scripts/slurm-single-node.sh stop      cancel the cluster's jobs, stop the daemons this script starts
#
# What `start` does, step by step; every step is skipped when it is already done, so running it
# twice is safe and the second run returns at once:
#   1. MUNGE (SLURM's authentication): generates /etc/munge/munge.key if it is missing, then
#      starts munged as the `munge` user unless `munge -n | unmunge` already works.
#   2. Writes /etc/slurm/slurm.conf for one node named after `hostname -s` (`localhost` if that is
#      empty) at 127.0.0.1, with CPUs from `nproc` and RealMemory 90% of the smaller of
#      /proc/meminfo's MemTotal and the cgroup memory limit, an equal share of it per CPU for jobs
#      that ask for no memory (else such a job takes the whole node); one partition `debug`
#      (Default=YES); select/cons_tres over cores and memory; proctrack/linuxproc and task/none,
#      so no cgroups are needed (containers and small VMs have none to give); no accounting
#      database. Daemons run as root; state lives in /var/spool/slurmctld and /var/spool/slurmd,
#      logs in /var/log/slurm.
#      A slurm.conf that this script did not write (it has no marker line) is never overwritten:
#      the script stops with an error instead. A changed configuration restarts running daemons.
#   3. Starts slurmctld and slurmd (plain daemons with pid files in /run/slurm; no systemd).
#   4. Waits, at most RASK_SLURM_WAIT seconds (default 60), until `sinfo` shows the node idle
#      (or mixed or allocated, when jobs are already running); a node left down or drained by an
#      earlier run is resumed with `scontrol update`.
# Everything listens on 127.0.0.1 only (slurmctld on 6817, slurmd on 6818).
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARKER="# Written by rask scripts/slurm-single-node.sh; remove this line to keep the script from rewriting the file."
RUN_DIR=/run/slurm
CTLD_PID=$RUN_DIR/slurmctld.pid
SLURMD_PID=$RUN_DIR/slurmd.pid
MUNGE_KEY=/etc/munge/munge.key
MUNGE_RUN=/run/munge
MUNGE_PID=$MUNGE_RUN/munged.pid
LOG_DIR=/var/log/slurm
WAIT=${RASK_SLURM_WAIT:-60}

say() { echo "slurm-single-node: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

node_name() {
    local n
    n=$(hostname -s 2>/dev/null || true)
    echo "${n:-localhost}"
}

# True if the pid file names a live process.
running() {
    local pidfile=$1 pid
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null
}

# The node's state as sinfo prints it (e.g. `idle`, `down*`, `drained`), empty if sinfo does not answer.
node_state() {
    timeout 10 sinfo -h -N -n "$(node_name)" -o '%T' 2>/dev/null | head -n1 || true
}

require() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (it writes /etc/slurm and starts daemons)"
    local c
    for c in munged munge unmunge slurmctld slurmd sinfo scontrol; do
        command -v "$c" >/dev/null || die "$c not found: install SLURM with \`apt-get install -y slurm-wlm\`"
    done
}

start_munge() {
    if [[ ! -s $MUNGE_KEY ]]; then
        say "generating $MUNGE_KEY"
        mkdir -p "$(dirname "$MUNGE_KEY")"
        if command -v mungekey >/dev/null; then
            mungekey --create --force --keyfile="$MUNGE_KEY"
        else
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1 count=1024 status=none
        fi
    fi
    chown munge:munge "$(dirname "$MUNGE_KEY")" "$MUNGE_KEY"
    chmod 0700 "$(dirname "$MUNGE_KEY")"
    chmod 0400 "$MUNGE_KEY"
    if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        return 0
    fi
    say "starting munged"
    mkdir -p "$MUNGE_RUN" /var/lib/munge /var/log/munge
    chown munge:munge "$MUNGE_RUN" /var/lib/munge /var/log/munge
    chmod 0755 "$MUNGE_RUN"
    # A stale socket or pid file from a killed munged makes the new one refuse to start.
    if ! running "$MUNGE_PID"; then
        rm -f "$MUNGE_PID" "$MUNGE_RUN"/munge.socket.2*
    fi
    runuser -u munge -- munged
    local i
    for ((i = 0; i < 50; i++)); do
        if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    die "munged did not start; see /var/log/munge/munged.log"
}

memory_mib() {
    local mem_kib limit mib
    mem_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
    mib=$((mem_kib / 1024))
    # cgroup v2, then v1: a container's limit can be far below the host's memory.
    for f in /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes; do
        if [[ -r $f ]]; then
            limit=$(<"$f")
            if [[ $limit =~ ^[0-9]+$ ]] && ((limit / 1048576 < mib)); then
                mib=$((limit / 1048576))
            fi
        fi
    done
    # 90%: slurmd drains a node whose configured memory exceeds what it detects.
    echo $((mib * 9 / 10))
}

config_text() {
    local node cpus mem
    node=$(node_name)
    cpus=$(nproc)
    mem=$(memory_mib)
    cat <<EOF
$MARKER
ClusterName=rask
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=60
DefMemPerCPU=$((mem / cpus))
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

# Writes slurm.conf; prints "changed" if it wrote a new text.
write_config() {
    local want
    want=$(config_text)
    if [[ -e $CONF ]]; then
        if ! grep -qxF "$MARKER" "$CONF"; then
            die "$CONF exists and was not written by this script; not touching it (move it away to use this script)"
        fi
        if [[ $(<"$CONF") == "$want" ]]; then
            return 0
        fi
    fi
    mkdir -p "$CONF_DIR"
    printf '%s\n' "$want" >"$CONF.tmp"
    mv "$CONF.tmp" "$CONF"
    say "wrote $CONF"
    echo changed
}

stop_daemon() {
    local name=$1 pidfile=$2 pid i
    running "$pidfile" || return 0
    pid=$(<"$pidfile")
    say "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

start() {
    require
    start_munge
    local changed
    changed=$(write_config)
    if [[ $changed == changed ]]; then
        stop_daemon slurmd "$SLURMD_PID"
        stop_daemon slurmctld "$CTLD_PID"
    fi
    mkdir -p "$RUN_DIR" /var/spool/slurmctld /var/spool/slurmd "$LOG_DIR"
    local node
    node=$(node_name)
    if ! running "$CTLD_PID"; then
        say "starting slurmctld"
        slurmctld
    fi
    if ! running "$SLURMD_PID"; then
        say "starting slurmd (node $node)"
        slurmd -N "$node"
    fi
    local deadline=$((SECONDS + WAIT)) state resumed=0
    while ((SECONDS < deadline)); do
        state=$(node_state)
        case $state in
        idle | mixed | allocated | completing)
            say "node $node is $state; partition debug is ready"
            return 0
            ;;
        *drain* | down*)
            # Left so by an earlier run (a killed slurmd, a changed configuration).
            if ((resumed == 0)) && running "$SLURMD_PID"; then
                sleep 2
                say "node $node is $state: resuming it"
                timeout 10 scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true
                resumed=1
            fi
            ;;
        esac
        sleep 0.5
    done
    say "node $node not ready after ${WAIT}s (state: '${state:-sinfo does not answer}')"
    tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
    exit 1
}

status() {
    local ok=0
    running "$MUNGE_PID" && echo "munged: running" || echo "munged: not running (from this script's pid file)"
    running "$CTLD_PID" && echo "slurmctld: running" || echo "slurmctld: not running"
    running "$SLURMD_PID" && echo "slurmd: running" || echo "slurmd: not running"
    case $(node_state) in
    idle | mixed | allocated | completing) ok=1 ;;
    esac
    timeout 10 sinfo 2>&1 || true
    ((ok == 1))
}

stop() {
    # Jobs outlive slurmd, and slurmctld would recover them as running at the next start.
    if running "$CTLD_PID"; then
        local i
        timeout 10 scancel --partition=debug >/dev/null 2>&1 || true
        for ((i = 0; i < 60; i++)); do
            [[ -z $(timeout 10 squeue -h -p debug -t PENDING,RUNNING,COMPLETING,CONFIGURING -o %i 2>/dev/null) ]] && break
            sleep 0.25
        done
    fi
    stop_daemon slurmd "$SLURMD_PID"
    stop_daemon slurmctld "$CTLD_PID"
    stop_daemon munged "$MUNGE_PID"
}

case ${1:-start} in
start) start ;;
stop) stop ;;
status) status ;;
*) die "unknown command '$1' (use start, status or stop)" ;;
esac
