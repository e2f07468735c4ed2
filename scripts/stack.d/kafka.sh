# shellcheck shell=bash
# Apache Kafka 4.x, KRaft single node, from Maven Central jars (sourced by scripts/stack).

KAFKA_RUN=$RUN_DIR/kafka

kafka_java() {
  find_java 17 || {
    log "kafka: needs Java 17+ (none found on PATH, JAVA_HOME or /usr/lib/jvm)"
    return 1
  }
}

kafka_fetch() {
  [[ -f $KAFKA_LIB/.complete ]] && return 0
  command -v mvn >/dev/null 2>&1 || apt_install maven || return 1
  rm -rf "$KAFKA_LIB"
  mkdir -p "$KAFKA_LIB"
  # The pom lists the broker, the tools and a log4j2 binding; Maven keeps its own download cache in ~/.m2.
  with_progress "kafka $KAFKA_VERSION jars (Maven Central)" "$LOG_DIR/kafka-fetch.log" \
    mvn -B -f "$STACK_ROOT/infra/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
    dependency:copy-dependencies -DoutputDirectory="$KAFKA_LIB" || return 1
  touch "$KAFKA_LIB/.complete"
}

# kafka_run_class MAIN_CLASS ARGS...: a Kafka main class on the cached classpath, quiet logging (CLI tools, formatting).
kafka_run_class() {
  local java
  java=$(kafka_java) || return 1
  "$java" -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$STACK_ROOT/infra/kafka/tools-log4j2.properties" \
    -cp "$KAFKA_LIB/*" "$@"
}

kafka_health() {
  kafka_run_class org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list >/dev/null
}

kafka_start() {
  local java cluster_id
  java=$(kafka_java) || return 1
  require_free_port kafka "$KAFKA_PORT" || return 1
  require_free_port kafka "$KAFKA_CONTROLLER_PORT" || return 1
  # Fresh log dirs per start: tests use unique topic prefixes, and a stale cluster id can never block a restart.
  rm -rf "$KAFKA_RUN"
  mkdir -p "$KAFKA_RUN/data" "$KAFKA_RUN/logs"
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@KAFKA_DATA_DIR@|$KAFKA_RUN/data|g" \
    "$STACK_ROOT/infra/kafka/server.properties.template" >"$KAFKA_RUN/server.properties"
  # A KRaft cluster id is 16 random bytes, base64url without padding (what `kafka-storage random-uuid` prints).
  cluster_id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  log "kafka: formatting storage (cluster id $cluster_id)"
  kafka_run_class kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_RUN/server.properties" \
    >"$LOG_DIR/kafka-format.log" 2>&1 || {
    log "kafka: storage format failed:"
    cat "$LOG_DIR/kafka-format.log" >&2
    return 1
  }
  : >"$LOG_DIR/kafka.log"
  launch kafka "$LOG_DIR/kafka.log" "$java" -Xms256m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dkafka.logs.dir="$KAFKA_RUN/logs" \
    -Dlog4j2.configurationFile="$STACK_ROOT/infra/kafka/log4j2.properties" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$KAFKA_RUN/server.properties"
}

kafka_describe() {
  printf 'kafka|127.0.0.1:%s|Kafka %s KRaft broker+controller (controller :%s)' "$KAFKA_PORT" "$KAFKA_VERSION" "$KAFKA_CONTROLLER_PORT"
}

kafka_ports() { printf '%s %s' "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; }
