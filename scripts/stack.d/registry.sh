# shellcheck shell=bash
# Confluent-compatible schema registry: Apicurio Registry (Quarkus fast-jar distribution from Maven Central) with its
# ccompat API exposed at the root of SCHEMA_REGISTRY_PORT by a tiny node proxy (sourced by scripts/stack).
# Two processes, two pid files: "apicurio" (the registry) and "schema-registry" (the proxy on the public port).

REGISTRY_RUN=$RUN_DIR/registry

registry_java() {
  # Apicurio 3.x is compiled for Java 21; the machine's Temurin 25 is preferred when present.
  find_java 21 "${REGISTRY_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}" || {
    log "schema-registry: Apicurio Registry $APICURIO_VERSION needs Java 21+; set REGISTRY_JAVA_HOME to a JDK/JRE 21+"
    return 1
  }
}

registry_fetch() {
  [[ -f $APICURIO_HOME/.complete ]] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install maven || return 1
  local dl=$SNAP_CACHE/registry/download
  rm -rf "$dl" "$APICURIO_HOME"
  mkdir -p "$dl" "$APICURIO_HOME"
  # Apicurio publishes its runnable distribution (quarkus-run.jar + lib/) as the "all" tar.gz classifier of the app.
  with_progress "apicurio-registry $APICURIO_VERSION (Maven Central, ~160 MB)" "$LOG_DIR/registry-fetch.log" \
    mvn -B dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all" \
    -DoutputDirectory="$dl" || return 1
  log "schema-registry: unpacking into $APICURIO_HOME"
  tar -xzf "$dl"/apicurio-registry-app-*-all.tar.gz -C "$APICURIO_HOME" || return 1
  rm -rf "$dl"
  [[ -f $APICURIO_HOME/quarkus-run.jar ]] || {
    log "schema-registry: $APICURIO_HOME/quarkus-run.jar missing after unpack"
    return 1
  }
  touch "$APICURIO_HOME/.complete"
}

registry_running() {
  local a p
  a=$(owned_pid apicurio) || a=
  p=$(owned_pid schema-registry) || p=
  # Half a registry is no registry (scripts/stack up stops the surviving half before starting both).
  [[ -n $a && -n $p ]]
}

# For `status`: says which half is left when only one is running.
registry_partial() {
  local a p
  a=$(owned_pid apicurio 2>/dev/null) || a=
  p=$(owned_pid schema-registry 2>/dev/null) || p=
  [[ -n $a && -z $p ]] && echo "only Apicurio (pid $a) is running, the proxy is not; 'scripts/stack up schema-registry' restarts both"
  [[ -z $a && -n $p ]] && echo "only the proxy (pid $p) is running, Apicurio is not; 'scripts/stack up schema-registry' restarts both"
  return 0
}

registry_health() {
  # Through the proxy (what clients use) and Apicurio's own readiness probe (storage up).
  curl -fsS -m 5 "http://127.0.0.1:$SCHEMA_REGISTRY_PORT/subjects" >/dev/null &&
    curl -fsS -m 5 "http://127.0.0.1:$APICURIO_MANAGEMENT_PORT/health/ready" >/dev/null
}

registry_start() {
  local java
  java=$(registry_java) || return 1
  command -v node >/dev/null 2>&1 || {
    log "schema-registry: node is needed for the ccompat root proxy"
    return 1
  }
  require_free_port schema-registry "$SCHEMA_REGISTRY_PORT" || return 1
  require_free_port schema-registry "$APICURIO_PORT" || return 1
  require_free_port schema-registry "$APICURIO_MANAGEMENT_PORT" || return 1
  rm -rf "$REGISTRY_RUN"
  mkdir -p "$REGISTRY_RUN"
  : >"$LOG_DIR/apicurio.log"
  : >"$LOG_DIR/schema-registry.log"
  # Storage is Apicurio's default in-memory H2 (fresh per start). The global compatibility default is BACKWARD, as
  # in Confluent's registry and Redpanda's (Apicurio's own default is no rule at all). Deletion is enabled because Confluent's API allows
  # DELETE /subjects/...; canonical hashing makes a re-registered, differently formatted schema map to the same id,
  # as Confluent does.
  (cd "$APICURIO_HOME" && launch apicurio "$LOG_DIR/apicurio.log" "$java" -Xms128m -Xmx"$APICURIO_HEAP" \
    -Djava.awt.headless=true \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$APICURIO_PORT" \
    -Dquarkus.management.host=127.0.0.1 -Dquarkus.management.port="$APICURIO_MANAGEMENT_PORT" \
    -Dquarkus.otel.sdk.disabled=true \
    -Dapicurio.storage.snapshot.location="$REGISTRY_RUN" -Dapicurio.import.work-dir="$REGISTRY_RUN" \
    -Dapicurio.rest.deletion.group.enabled=true -Dapicurio.rest.deletion.artifact.enabled=true \
    -Dapicurio.rest.deletion.artifact-version.enabled=true \
    -Dapicurio.ccompat.use-canonical-hash=true \
    -Dapicurio.rules.global.compatibility=BACKWARD \
    -jar quarkus-run.jar) || return 1
  launch schema-registry "$LOG_DIR/schema-registry.log" "$(command -v node)" "$STACK_ROOT/scripts/stack.d/registry-proxy.mjs" \
    "$SCHEMA_REGISTRY_PORT" "$APICURIO_PORT"
}

registry_stop() {
  stop_owned schema-registry 10
  stop_owned apicurio 30
}

registry_describe() {
  printf 'schema-registry|http://127.0.0.1:%s|Apicurio %s ccompat at / (also /apis/ccompat/v7); backend :%s' \
    "$SCHEMA_REGISTRY_PORT" "$APICURIO_VERSION" "$APICURIO_PORT"
}

registry_ports() { printf '%s %s %s' "$SCHEMA_REGISTRY_PORT" "$APICURIO_PORT" "$APICURIO_MANAGEMENT_PORT"; }
