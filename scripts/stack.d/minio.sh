# shellcheck shell=bash
# MinIO built from its Go module with the local Go toolchain (sourced by scripts/stack).

MINIO_RUN=$RUN_DIR/minio

minio_fetch() {
  [[ -x $MINIO_BIN ]] && return 0
  command -v go >/dev/null 2>&1 || {
    log "minio: the Go toolchain is needed to build MinIO (go install github.com/minio/minio@$MINIO_VERSION)"
    return 1
  }
  mkdir -p "$(dirname "$MINIO_BIN")"
  # GOMODCACHE/GOCACHE stay at Go's defaults (outside the clone), so a rebuild after a cache wipe is incremental.
  # -v prints each package as it compiles: that is the progress line. Takes several minutes on 2 cores.
  with_progress "minio $MINIO_VERSION (go install, several minutes cold)" "$LOG_DIR/minio-build.log" \
    env GOBIN="$(dirname "$MINIO_BIN")" GOFLAGS=-buildvcs=false go install -v "github.com/minio/minio@$MINIO_VERSION" || return 1
  [[ -x $MINIO_BIN ]]
}

minio_health() {
  curl -fsS -m 5 "http://127.0.0.1:$MINIO_PORT/minio/health/live" >/dev/null
}

minio_start() {
  require_free_port minio "$MINIO_PORT" || return 1
  require_free_port minio "$MINIO_CONSOLE_PORT" || return 1
  # Data survives a restart (buckets, objects); `scripts/stack reset minio` wipes it.
  mkdir -p "$MINIO_RUN/data"
  : >"$LOG_DIR/minio.log"
  # MINIO_CI_CD: single local drive on the root disk is intended here; MINIO_UPDATE=off: never phone home.
  launch minio "$LOG_DIR/minio.log" env MINIO_ROOT_USER="$MINIO_ROOT_USER" MINIO_ROOT_PASSWORD="$MINIO_ROOT_PASSWORD" \
    MINIO_CI_CD=on MINIO_UPDATE=off MINIO_BROWSER=on \
    "$MINIO_BIN" server "$MINIO_RUN/data" --address "127.0.0.1:$MINIO_PORT" --console-address "127.0.0.1:$MINIO_CONSOLE_PORT"
}

minio_wipe() { rm -rf "$MINIO_RUN"; }

minio_describe() {
  printf 'minio|http://127.0.0.1:%s|S3 API, console http://127.0.0.1:%s, user %s' "$MINIO_PORT" "$MINIO_CONSOLE_PORT" "$MINIO_ROOT_USER"
}

minio_ports() { printf '%s %s' "$MINIO_PORT" "$MINIO_CONSOLE_PORT"; }
