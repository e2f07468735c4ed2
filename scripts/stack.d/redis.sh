# shellcheck shell=bash
# Redis from Debian's package, run as our own foreground process (never the distro service) (sourced by scripts/stack).

REDIS_RUN=$RUN_DIR/redis

redis_fetch() {
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 && return 0
  apt_install redis-server redis-tools
}

redis_health() {
  [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

redis_start() {
  require_free_port redis "$REDIS_PORT" || return 1
  mkdir -p "$REDIS_RUN"
  : >"$LOG_DIR/redis.log"
  # No persistence: the stack is for tests and local runs; features in Redis are a cache of the signals topic.
  launch redis "$LOG_DIR/redis.log" "$(command -v redis-server)" --port "$REDIS_PORT" --bind 127.0.0.1 \
    --daemonize no --save '' --appendonly no --dir "$REDIS_RUN" --protected-mode yes
}

redis_wipe() { rm -rf "$REDIS_RUN"; }

redis_describe() {
  printf 'redis|redis://127.0.0.1:%s|%s' "$REDIS_PORT" "$(redis-server --version 2>/dev/null | awk '{print $1" "$3}' | tr -d 'v=')"
}

redis_ports() { printf '%s' "$REDIS_PORT"; }
