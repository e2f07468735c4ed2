# shellcheck shell=bash
# Shared helpers for scripts/stack (sourced, not executed).
# Everything the stack downloads, builds or writes lives under $SNAP_CACHE, never inside the clone,
# so a fresh clone (or `git clean`) never loses the multi-minute downloads and builds.

SNAP_CACHE=${SNAP_CACHE:-$HOME/.cache/snap-engine}
# SNAP_RUN_DIR: where pid files, data and logs live. A second, independent stack (fault tests: own ports, own data)
# sets it to another directory and reuses the same download/build cache.
RUN_DIR=${SNAP_RUN_DIR:-$SNAP_CACHE/run}
LOG_DIR=$RUN_DIR/logs

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
KAFKA_HEAP=${KAFKA_HEAP:-768m}
KAFKA_LIB=$SNAP_CACHE/kafka/$KAFKA_VERSION/lib

APICURIO_VERSION=${APICURIO_VERSION:-3.3.3}
SCHEMA_REGISTRY_PORT=${SCHEMA_REGISTRY_PORT:-8081}
# Apicurio itself listens here; the Confluent-style root URL on SCHEMA_REGISTRY_PORT is a thin proxy in front of it.
APICURIO_PORT=${APICURIO_PORT:-18081}
# Quarkus' management interface defaults to :9000, which is MinIO's port, so it is moved next to Apicurio.
APICURIO_MANAGEMENT_PORT=${APICURIO_MANAGEMENT_PORT:-18082}
APICURIO_HEAP=${APICURIO_HEAP:-512m}
APICURIO_HOME=$SNAP_CACHE/registry/$APICURIO_VERSION

# A pseudo-version from the Go module proxy: MinIO stopped tagging semver releases, so `@latest` moves; pin it.
MINIO_VERSION=${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
MINIO_PORT=${MINIO_PORT:-9000}
MINIO_CONSOLE_PORT=${MINIO_CONSOLE_PORT:-9001}
MINIO_ROOT_USER=${MINIO_ROOT_USER:-minioadmin}
MINIO_ROOT_PASSWORD=${MINIO_ROOT_PASSWORD:-minioadmin}
MINIO_BIN=$SNAP_CACHE/minio/$MINIO_VERSION/bin/minio

REDIS_PORT=${REDIS_PORT:-6379}

HEALTH_TIMEOUT=${STACK_HEALTH_TIMEOUT:-180}

export DEBIAN_FRONTEND=noninteractive

log() { printf '[stack] %s\n' "$*" >&2; }
warn() { printf '[stack] WARNING: %s\n' "$*" >&2; }

# --- processes we own --------------------------------------------------------------------------------------------
# A pid file holds "<pid> <start time in clock ticks>": the start time guards against pid reuse, so `down` can never
# kill an unrelated process that happens to have inherited a dead server's pid.

proc_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  # Field 2 (comm) may contain spaces; everything after the last ')' is space separated, starttime is field 22.
  stat=${stat##*) }
  awk '{print $20}' <<<"$stat"
}

pid_file() { printf '%s/%s.pid' "$RUN_DIR" "$1"; }

# Prints the pid of a live process we started for $1; removes the pid file (and says so) when it is stale.
owned_pid() {
  local name=$1 f pid start now
  f=$(pid_file "$name")
  [[ -f $f ]] || return 1
  read -r pid start <"$f" || true
  if [[ -n ${pid:-} ]] && now=$(proc_starttime "$pid") && [[ $now == "${start:-}" ]]; then
    printf '%s\n' "$pid"
    return 0
  fi
  log "$name: removing stale pid file ($f: pid ${pid:-?} is not running)"
  rm -f "$f"
  return 1
}

# launch NAME LOGFILE CMD...: starts CMD in its own session (so it outlives this shell and its process group)
# and records its pid. The wrapper execs CMD, so the recorded pid is the server's own pid.
launch() {
  local name=$1 logfile=$2
  shift 2
  local f tmp pid start i
  f=$(pid_file "$name")
  tmp=$f.tmp
  rm -f "$tmp"
  mkdir -p "$(dirname "$logfile")"
  # 9>&-: the stack's lock fd must not leak into a long-lived server, or it would hold the lock forever.
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$tmp" "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  for ((i = 0; i < 100; i++)); do
    [[ -s $tmp ]] && break
    sleep 0.05
  done
  pid=$(cat "$tmp" 2>/dev/null || true)
  rm -f "$tmp"
  if [[ -z $pid ]] || ! start=$(proc_starttime "$pid"); then
    log "$name: failed to start (see $logfile)"
    tail -n 20 "$logfile" >&2 || true
    return 1
  fi
  printf '%s %s\n' "$pid" "$start" >"$f"
  log "$name: started pid $pid (log: $logfile)"
}

# stop_owned NAME [GRACE_SECONDS]: TERM, wait, then KILL — only the pid recorded by launch.
stop_owned() {
  local name=$1 grace=${2:-30} pid i
  if ! pid=$(owned_pid "$name"); then
    return 0
  fi
  log "$name: stopping pid $pid"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    proc_starttime "$pid" >/dev/null 2>&1 || break
    sleep 0.1
  done
  if proc_starttime "$pid" >/dev/null 2>&1; then
    warn "$name: pid $pid ignored SIGTERM for ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$(pid_file "$name")"
}

# --- ports -------------------------------------------------------------------------------------------------------

port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -ltnH "sport = :$1" 2>/dev/null) ]]
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}

# Who holds a port, for a clear message when it is not us.
port_owner() {
  local line pid
  if command -v ss >/dev/null 2>&1; then
    line=$(ss -ltnpH "sport = :$1" 2>/dev/null | head -n 1)
    pid=$(grep -oE 'pid=[0-9]+' <<<"$line" | head -n 1 | cut -d= -f2)
    if [[ -n $pid ]]; then
      printf 'pid %s (%s)' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)"
      return
    fi
  fi
  printf 'an unknown process'
}

# Refuses to start a server whose port is held by a process we did not start.
require_free_port() {
  local name=$1 port=$2
  if port_in_use "$port"; then
    log "$name: port $port is already taken by $(port_owner "$port"), which scripts/stack did not start."
    log "$name: stop that process or choose another port (see docs/stack.md for the *_PORT variables)."
    return 1
  fi
}

# wait_healthy NAME CHECK_FN RUNNING_FN LOGNAME [TIMEOUT]: polls CHECK_FN until it succeeds; fails fast when
# RUNNING_FN says our process is gone, showing the tail of $LOG_DIR/LOGNAME.log.
wait_healthy() {
  local name=$1 check=$2 running=$3 logname=$4 timeout=${5:-$HEALTH_TIMEOUT} t0
  t0=$SECONDS
  while ((SECONDS - t0 < timeout)); do
    if "$check" >/dev/null 2>&1; then
      log "$name: healthy after $((SECONDS - t0))s"
      return 0
    fi
    if ! "$running" >/dev/null 2>&1; then
      log "$name: process exited before becoming healthy; last lines of $LOG_DIR/$logname.log:"
      tail -n 30 "$LOG_DIR/$logname.log" >&2 || true
      return 1
    fi
    sleep 1
  done
  log "$name: not healthy after ${timeout}s (still running); last lines of $LOG_DIR/$logname.log:"
  tail -n 30 "$LOG_DIR/$logname.log" >&2 || true
  return 1
}

# --- long downloads/builds with progress -------------------------------------------------------------------------

# with_progress LABEL LOGFILE CMD...: runs CMD with output to LOGFILE, printing a progress line every 10s so an
# unattended CI log shows it is alive; on failure prints the log tail.
with_progress() {
  local label=$1 logfile=$2
  shift 2
  local pid rc t0=$SECONDS last next=$((SECONDS + 10))
  mkdir -p "$(dirname "$logfile")"
  : >"$logfile"
  log "$label: started (full output: $logfile)"
  "$@" >"$logfile" 2>&1 </dev/null 9>&- &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS >= next)); then
      next=$((SECONDS + 10))
      last=$(tail -n 1 "$logfile" 2>/dev/null | cut -c1-100)
      log "$label: $((SECONDS - t0))s, $(wc -l <"$logfile") lines of output; last: ${last:-…}"
    fi
  done
  wait "$pid" && rc=0 || rc=$?
  if ((rc != 0)); then
    log "$label: FAILED (exit $rc); last lines of $logfile:"
    tail -n 30 "$logfile" >&2 || true
    return "$rc"
  fi
  log "$label: done in $((SECONDS - t0))s"
}

# --- system packages ---------------------------------------------------------------------------------------------

APT_UPDATED=
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    log "apt-get is not available; install these packages yourself: $*"
    return 1
  fi
  local sudo=
  ((EUID == 0)) || sudo=sudo
  if [[ -z $APT_UPDATED ]]; then
    with_progress "apt-get update" "$LOG_DIR/apt-update.log" $sudo apt-get update || return 1
    APT_UPDATED=1
  fi
  # Keep Debian's maintainer scripts from starting the distro service (e.g. redis on :6379): we run our own.
  local policy=/usr/sbin/policy-rc.d added=
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null && $sudo chmod +x "$policy" && added=1
  fi
  with_progress "apt-get install $*" "$LOG_DIR/apt-install.log" $sudo apt-get install -y --no-install-recommends "$@"
  local rc=$?
  [[ -n $added ]] && $sudo rm -f "$policy"
  return $rc
}

# --- java --------------------------------------------------------------------------------------------------------

java_major() { "$1" -version 2>&1 | awk -F'"' '/version/ {split($2, v, "."); print (v[1] == "1" ? v[2] : v[1]); exit}'; }

# find_java MIN_MAJOR [PREFERRED_HOME]: prints a java binary of at least MIN_MAJOR.
find_java() {
  local min=$1 pref=${2:-} c m
  for c in ${pref:+"$pref/bin/java"} ${JAVA_HOME:+"$JAVA_HOME/bin/java"} "$(command -v java 2>/dev/null)" /usr/lib/jvm/*/bin/java; do
    [[ -n $c && -x $c ]] || continue
    m=$(java_major "$c")
    if [[ -n $m ]] && ((m >= min)); then
      printf '%s\n' "$c"
      return 0
    fi
  done
  return 1
}
