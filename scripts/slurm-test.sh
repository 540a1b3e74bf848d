#!/usr/bin/env bash
# Runs examples/slurm on a real one-node Slurm cluster started on this
# machine: a 2-task array job translates a 40-line batch in two shards;
# one task is killed mid-run and requeued, and resumes; the parts are
# merged and checked (every id once), and the merged output must equal a
# one-process `hydra translate --batch` of the same input, line for line.
#
#   scripts/slurm-test.sh             # installs slurm-wlm and munge if missing (apt-get)
#   HYDRA_SKIP_SLURM=1 scripts/slurm-test.sh   # skips it (says so)
#
# Everything the cluster writes (config, munge key and socket, state, logs)
# is in a temporary directory; its daemons (munged, slurmctld, slurmd) use
# their own socket and ports and are stopped on exit, whatever happens.
# Run as root (as CI does): the daemons run as the user running this
# script, and the packages are installed with apt-get (sudo otherwise).
# HYDRA: the binary (default: the release build); HYDRA_MODELS: the model
# cache, as for hydra; HYDRA_SLURM_TIMEOUT: seconds a job may take (300).
set -euo pipefail
if [[ -n "${HYDRA_SKIP_SLURM:-}" ]]; then
  echo "slurm-test: skipped (HYDRA_SKIP_SLURM is set)" >&2
  exit 0
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
export HYDRA="${HYDRA:-$root/.build/release/hydra}"
[[ -x "$HYDRA" ]] || { echo "slurm-test: no $HYDRA: run scripts/build.sh" >&2; exit 1; }
model=smollm2-135m from=en to=fr
timeout_s="${HYDRA_SLURM_TIMEOUT:-300}"
say() { echo "slurm-test: $*" >&2; }
# Fields of process $1 after its name (state, ppid, pgrp, session, ...),
# from /proc (no procps on a minimal system).
proc_fields() { local st; { read -r st <"/proc/$1/stat"; } 2>/dev/null || return 1; echo "${st##*) }"; }
# Whether process $1 runs (a zombie, ended but not yet reaped by whoever
# adopted it, does not).
running() { local f; f="$(proc_fields "$1")" && [[ "${f%% *}" != Z ]]; }
# The processes of session $1.
session() {
  local d f
  for d in /proc/[0-9]*; do
    f=($(proc_fields "${d#/proc/}")) && [[ "${f[3]:-}" == "$1" ]] && echo "${d#/proc/}"
  done
}
fail() { say "FAIL: $*"; exit 1; }

missing=()
command -v slurmctld >/dev/null || missing+=(slurm-wlm)
command -v munged >/dev/null || missing+=(munge)
if ((${#missing[@]})); then
  say "installing ${missing[*]}"
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$HYDRA" models fetch "$model" >/dev/null

tmp="$(mktemp -d /tmp/hydra-slurm.XXXXXX)"
chmod 700 "$tmp"
mkdir -p "$tmp"/{munge,state,spool,log,work}
pids=()
cleanup() {
  local status=$? pid i
  set +e
  [[ -n "$child" ]] && { kill "$child"; wait "$child"; } 2>/dev/null
  if [[ -f "$tmp/slurm.conf" ]] && ((${#pids[@]})); then
    scancel --quiet --full "${job_ids[@]:-0}" 2>/dev/null || true
    # Wait for the jobs' processes (slurmstepd, hydra) to end before the daemons.
    for _ in $(seq 50); do
      [[ -z "$(squeue -h -o %i 2>/dev/null)" ]] && break
      sleep 0.2
    done
    # Each slurmstepd has a socket in the spool directory until it ends.
    for _ in $(seq 100); do
      [[ -z "$(find "$tmp/spool" -type s 2>/dev/null)" ]] && break
      sleep 0.1
    done
  fi
  # Each daemon has a session of its own, with its forks (slurmscriptd, ...): all of it ends.
  local rest=() f mine
  mine=($(proc_fields $$))
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    f=($(proc_fields "${pids[i]}"))
    [[ -n "${f[3]:-}" && "${f[3]}" != "${mine[3]}" ]] && rest+=($(session "${f[3]}"))
    rest+=("${pids[i]}")
    kill "${pids[i]}" 2>/dev/null
  done
  for _ in $(seq 100); do
    local alive=()
    for pid in "${rest[@]}"; do running "$pid" && alive+=("$pid"); done
    ((${#alive[@]})) || break
    sleep 0.1
  done
  for pid in "${rest[@]}"; do running "$pid" && kill -9 "$pid" 2>/dev/null; done
  ((${#rest[@]})) && sleep 0.2
  for pid in "${rest[@]}"; do
    running "$pid" && { say "FAIL: process $pid is left running"; status=1; }
  done
  if ((status)) && [[ -d "$tmp/log" ]]; then
    for f in "$tmp"/log/* "$tmp"/work/*.log; do
      [[ -f "$f" ]] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
    done
  fi
  rm -rf "$tmp"
  exit "$status"
}
job_ids=() child=""
trap cleanup EXIT
trap 'exit 130' INT TERM

# Munge, with a key and a socket of its own.
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$tmp/munge/munge.key"
munged --force --key-file="$tmp/munge/munge.key" --socket="$tmp/munge/socket" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/log/munged.log" --seed-file="$tmp/munge/seed" \
  </dev/null >/dev/null 2>>"$tmp/log/start.log" || fail "munged: $(cat "$tmp/log/start.log")"
for _ in $(seq 50); do [[ -s "$tmp/munge/munged.pid" ]] && break; sleep 0.1; done
pids+=("$(cat "$tmp/munge/munged.pid")")

# A one-node cluster: this machine as its CPUs and memory (slurmd -C).
host="$(hostname -s)"
hw="$(slurmd -C | head -n 1 | sed 's/^NodeName=[^ ]* //')"
port=$((20000 + $$ % 20000))
user="$(id -un)"
cat >"$tmp/slurm.conf" <<EOF
ClusterName=hydratest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
# cred_expire: also how long a requeued job waits before it starts again (default 120 s).
AuthInfo=socket=$tmp/munge/socket,cred_expire=10
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
# The main scheduling pass every 2 s, not 60: a requeued task starts again soon.
SchedulerParameters=sched_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=localhost NodeHostname=$host NodeAddr=127.0.0.1 $hw State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$tmp/slurm.conf"
# (Daemons get no pipe of this script's: a caller reading its output is not held open.)
slurmctld -i </dev/null >/dev/null 2>>"$tmp/log/start.log" || fail "slurmctld: $(cat "$tmp/log/start.log")"
for _ in $(seq 50); do [[ -s "$tmp/slurmctld.pid" ]] && break; sleep 0.1; done
pids+=("$(cat "$tmp/slurmctld.pid")")
slurmd -N localhost </dev/null >/dev/null 2>>"$tmp/log/start.log" || fail "slurmd: $(cat "$tmp/log/start.log")"
for _ in $(seq 50); do [[ -s "$tmp/slurmd.pid" ]] && break; sleep 0.1; done
pids+=("$(cat "$tmp/slurmd.pid")")
for _ in $(seq 100); do
  sinfo -h -N -o %t 2>/dev/null | grep -Eq '^(idle|mix|alloc)' && break
  sleep 0.2
done
sinfo -h -N -o %t | grep -Eq '^(idle|mix|alloc)' || fail "the node did not come up: $(sinfo -N 2>&1)"
say "cluster up: $(sinfo -h -N -o '%N %t %c CPUs %m MB'); daemons ${pids[*]}"

# The batch: 40 short lines.
input="$tmp/work/in.jsonl"
i=0
for t in "Good morning." "Open the file." "Where is the station?" "I like green tea." "Restart the computer." \
  "The weather is good today." "Close the window." "My brother is a doctor." "The book is on the table." \
  "We are going home." "It is cold outside." "Thank you very much." "The shop opens at nine." \
  "Please read this letter." "The cat sleeps on the chair." "I do not understand." "Turn left at the bridge." \
  "The train is late again." "She writes a long story." "Water is very important." "Save your work." \
  "The children play in the garden." "Where do you live?" "This is my first day." "The coffee is hot." \
  "He speaks three languages." "Call me tomorrow." "The river is wide." "I lost my keys." \
  "The museum is closed on Monday." "Let us meet at noon." "The sky is blue." "Print the report." \
  "Our teacher is kind." "The road is long." "Bring some bread." "The music is too loud." \
  "Delete the old files." "Happy birthday!" "See you soon."; do
  printf '{"id":"line-%02d","text":"%s"}\n' "$i" "$t" >>"$input"
  i=$((i + 1))
done
# Each task translates 4 texts at a time; the one process 8, as the two
# tasks together (the output must not depend on it).
opts=(--model "$model" --parallel 4)

# One process, as the reference (and the rate to compare with).
start=$(date +%s%N)
# (In the background: a signal to this script is handled at once, not when it ends.)
"$HYDRA" translate --batch "$input" --out "$tmp/work/one.jsonl" --from $from --to $to --model "$model" --parallel 8 \
  2>"$tmp/work/one.log" &
child=$!
wait "$child" || fail "one-process batch: $(cat "$tmp/work/one.log")"
child=""
one_s=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')

# Waits until no task of job $1 is pending or running (timeout: fails).
wait_job() {
  local deadline=$((SECONDS + timeout_s))
  while [[ -n "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]]; do
    ((SECONDS < deadline)) || fail "job $1 still running after ${timeout_s}s: $(squeue -j "$1" 2>&1)"
    sleep 0.5
  done
}
submit() {  # OUTDIR -> job id
  (cd "$tmp/work" && sbatch --parsable --array=0-1 --cpus-per-task=1 --mem=1G \
    "$root/examples/slurm/translate.sbatch" "$input" "$1" $from $to "${opts[@]}")
}
check_done() {  # JOB: every task COMPLETED
  local job=$1 s
  for t in 0 1; do
    s="$(scontrol show job "${job}_$t" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n 1)"
    [[ "$s" == "JobState=COMPLETED" ]] || fail "task ${job}_$t ended $s"
  done
}
merge() {  # OUTDIR MERGED
  "$root/examples/slurm/merge.sh" "$input" "$1" "$2" 2>"$tmp/work/merge.log" || fail "merge of $1: $(cat "$tmp/work/merge.log")"
  cmp -s "$2" <(sort_by_input "$tmp/work/one.jsonl") || fail "$2 differs from the one-process output: $(diff "$2" <(sort_by_input "$tmp/work/one.jsonl") | head)"
}
# The one-process output in input order (it is written as texts finish).
sort_by_input() {
  local id
  while IFS= read -r line; do
    id="${line#*\"id\":\"}"; id="${id%%\"*}"
    grep -F "{\"id\":\"$id\"," "$1"
  done <"$input"
}

# 1. The array job as is: two tasks, one CPU each.
start=$(date +%s%N)
job="$(submit "$tmp/work/parts")"; job_ids+=("$job")
wait_job "$job"
array_s=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
check_done "$job"
merge "$tmp/work/parts" "$tmp/work/merged.jsonl"
say "array job $job: 40 lines in 2 shards, merged, each id once, same as one process"

# 2. Task 1 killed mid-run (SIGKILL to its hydra), requeued: it resumes.
job="$(submit "$tmp/work/parts2")"; job_ids+=("$job")
part="$tmp/work/parts2/part-1.jsonl"
deadline=$((SECONDS + timeout_s))
while (($(cat "$part" 2>/dev/null | wc -l) < 3)); do
  ((SECONDS < deadline)) || fail "task 1 wrote nothing in ${timeout_s}s"
  sleep 0.1
done
scancel --batch --signal=KILL "${job}_1"
for _ in $(seq 100); do
  squeue -h -j "${job}_1" -o %T 2>/dev/null | grep -q RUNNING || break
  sleep 0.1
done
before=$(wc -l <"$part")
((before < 20)) || fail "task 1 had finished ($before lines) before the kill"
say "killed task ${job}_1 with $before of 20 lines written"
scontrol requeue "${job}_1"
wait_job "$job"
check_done "$job"
log="$(ls "$tmp"/work/hydra-translate-"${job}"_1.log)"
grep -q "restart 1" "$log" || fail "task 1 did not run again: $(cat "$log")"
grep -Eq "texts translated, ([0-9]+) done before" "$log" || fail "no summary in $log"
resumed="$(grep -Eo '[0-9]+ done before' "$log" | tail -n 1)"
[[ "$resumed" != "0 done before" ]] || fail "the rerun of task 1 did not resume: $(cat "$log")"
merge "$tmp/work/parts2" "$tmp/work/merged2.jsonl"
say "task 1 rerun: $resumed; merged, each id once, same as one process"

say "$(awk -v o="$one_s" -v a="$array_s" 'BEGIN { printf "one process (all cores, 8 texts at a time): 40 lines in %.1f s (%.2f lines/s); array job (2 tasks x 1 CPU, 4 at a time each): %.1f s from submit to end (%.2f lines/s)", o, 40 / o, a, 40 / a }')"
say "PASS"
