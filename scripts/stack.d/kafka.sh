# shellcheck shell=bash
# Apache Kafka 4.x in KRaft mode, from Maven Central jars (sourced by scripts/stack).
#
# Two layouts:
#  - one node (default): one JVM as broker + controller, pid file "kafka", data in $RUN_DIR/kafka/data;
#  - a cluster (`scripts/stack up kafka --brokers N`, N >= 2): N combined broker+controller JVMs, node ids 1..N, pid
#    files "kafka-1".."kafka-N", data in $RUN_DIR/kafka-I/data; replication factor min(3, N) and min.insync.replicas
#    2 as broker defaults, so a broker can be stopped (`scripts/stack stop kafka-2`) while producers with acks=all
#    keep going. Ports: KAFKA_BROKER_PORTS / KAFKA_CONTROLLER_PORTS (comma lists) or KAFKA_PORT + 2*(I-1) and
#    KAFKA_CONTROLLER_PORT + 2*(I-1).
# The layout is remembered in $RUN_DIR/kafka.brokers, so later `status`, `env`, `down`, `restart` act on the same
# nodes. Storage is formatted only when a node's data dir is not formatted yet: a restart keeps every topic;
# `scripts/stack reset kafka` wipes it.

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

# --- layout ------------------------------------------------------------------------------------------------------

# Number of nodes: `--brokers N` of this command (KAFKA_BROKERS_WANTED), else what the last `up` recorded, else 1.
kafka_count() {
  if [[ -n ${KAFKA_BROKERS_WANTED:-} ]]; then
    printf '%s\n' "$KAFKA_BROKERS_WANTED"
  elif [[ -f $RUN_DIR/kafka.brokers ]]; then
    cat "$RUN_DIR/kafka.brokers"
  else
    echo 1
  fi
}

# kafka_nodes: the pid-file names of the nodes ("kafka", or "kafka-1 kafka-2 kafka-3").
kafka_nodes() {
  local n i
  n=$(kafka_count)
  if ((n <= 1)); then
    echo kafka
    return
  fi
  for ((i = 1; i <= n; i++)); do printf 'kafka-%s ' "$i"; done
  echo
}

# kafka_node_index NAME: 0 for the single node, I for kafka-I.
kafka_node_index() { [[ $1 == kafka ]] && echo 0 || echo "${1#kafka-}"; }

# kafka_port_of INDEX LIST BASE: the I-th entry of a comma list, or BASE + 2*(I-1).
kafka_port_of() {
  local i=$1 list=$2 base=$3
  ((i == 0)) && i=1
  if [[ -n $list ]]; then
    cut -d, -f"$i" <<<"$list"
  else
    echo $((base + 2 * (i - 1)))
  fi
}
kafka_broker_port() { kafka_port_of "$1" "${KAFKA_BROKER_PORTS:-}" "$KAFKA_PORT"; }
kafka_ctl_port() { kafka_port_of "$1" "${KAFKA_CONTROLLER_PORTS:-}" "$KAFKA_CONTROLLER_PORT"; }

kafka_node_dir() { [[ $1 == kafka ]] && echo "$KAFKA_RUN" || echo "$RUN_DIR/$1"; }

# Comma-separated bootstrap list of every node (what `scripts/stack env` exports as KAFKA_BROKERS).
kafka_bootstrap() {
  local node out=
  for node in $(kafka_nodes); do
    out+="${out:+,}127.0.0.1:$(kafka_broker_port "$(kafka_node_index "$node")")"
  done
  printf '%s\n' "$out"
}

kafka_running() {
  local node
  for node in $(kafka_nodes); do owned_pid "$node" >/dev/null || return 1; done
}

# For `status`: some but not all nodes of a cluster running.
kafka_partial() {
  local node up=() down=()
  for node in $(kafka_nodes); do
    if owned_pid "$node" >/dev/null 2>&1; then up+=("$node"); else down+=("$node"); fi
  done
  ((${#up[@]} > 0 && ${#down[@]} > 0)) && echo "running: ${up[*]}; stopped: ${down[*]} ('scripts/stack start ${down[0]}')"
  return 0
}

# Healthy = every node answers metadata: the cluster view lists every broker id (one JVM-started request).
kafka_health() {
  local n seen
  n=$(kafka_count)
  seen=$(kafka_run_class org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$(kafka_bootstrap)" 2>/dev/null |
    grep -c '(id: ') || return 1
  ((seen >= n))
}

# Writes server.properties for NODE and formats its storage when it is not formatted yet.
kafka_prepare() {
  local node=$1 cluster_id=$2 i dir n voters= j
  i=$(kafka_node_index "$node")
  dir=$(kafka_node_dir "$node")
  n=$(kafka_count)
  mkdir -p "$dir/data" "$dir/logs"
  if ((n <= 1)); then
    voters="1@127.0.0.1:$(kafka_ctl_port 0)"
  else
    for ((j = 1; j <= n; j++)); do voters+="${voters:+,}$j@127.0.0.1:$(kafka_ctl_port "$j")"; done
  fi
  sed -e "s|@KAFKA_PORT@|$(kafka_broker_port "$i")|g" -e "s|@KAFKA_CONTROLLER_PORT@|$(kafka_ctl_port "$i")|g" \
    -e "s|@KAFKA_DATA_DIR@|$dir/data|g" \
    -e "s|^node.id=.*|node.id=$((i == 0 ? 1 : i))|" -e "s|^controller.quorum.voters=.*|controller.quorum.voters=$voters|" \
    "$STACK_ROOT/infra/kafka/server.properties.template" >"$dir/server.properties"
  if ((n > 1)); then
    local rf=$((n < 3 ? n : 3))
    # Later keys win in a Java properties file: the cluster's durability settings override the single-node ones.
    cat >>"$dir/server.properties" <<EOF

# --- cluster of $n nodes (scripts/stack up --brokers $n) ---
default.replication.factor=$rf
min.insync.replicas=2
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=2
# A stopped node comes back as a follower; hand leadership back to the preferred replica soon after it catches up.
leader.imbalance.check.interval.seconds=10
EOF
  fi
  # Format only a node that was never formatted: a restart keeps its topics (the cluster id is in meta.properties).
  if [[ ! -f $dir/data/meta.properties ]]; then
    log "$node: formatting storage (cluster id $cluster_id)"
    kafka_run_class kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
      >"$LOG_DIR/$node-format.log" 2>&1 || {
      log "$node: storage format failed:"
      cat "$LOG_DIR/$node-format.log" >&2
      return 1
    }
  fi
}

# Starts one node (its storage already prepared).
kafka_launch_node() {
  local node=$1 java i dir heap=$KAFKA_HEAP
  java=$(kafka_java) || return 1
  i=$(kafka_node_index "$node")
  dir=$(kafka_node_dir "$node")
  require_free_port "$node" "$(kafka_broker_port "$i")" || return 1
  require_free_port "$node" "$(kafka_ctl_port "$i")" || return 1
  launch "$node" "$LOG_DIR/$node.log" "$java" -Xms128m -Xmx"$heap" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dkafka.logs.dir="$dir/logs" \
    -Dlog4j2.configurationFile="$STACK_ROOT/infra/kafka/log4j2.properties" \
    -cp "$KAFKA_LIB/*" kafka.Kafka "$dir/server.properties"
}

# The cluster id every node is formatted with: reused from a formatted node, else new (16 random bytes, base64url
# without padding, what `kafka-storage random-uuid` prints). Like Kafka's own Uuid.randomUuid, an id starting with
# '-' is drawn again: `format -t -Qs5…` reads it as an option and fails (1 start in 64 did, on a CI run).
kafka_cluster_id() {
  local node f id
  for node in $(kafka_nodes); do
    f=$(kafka_node_dir "$node")/data/meta.properties
    [[ -f $f ]] && grep -oP '^cluster\.id=\K.*' "$f" && return 0
  done
  id=-
  while [[ $id == -* ]]; do id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '='); done
  echo "$id"
}

kafka_start() {
  local node cluster_id
  cluster_id=$(kafka_cluster_id)
  mkdir -p "$RUN_DIR"
  kafka_count >"$RUN_DIR/kafka.brokers"
  for node in $(kafka_nodes); do
    owned_pid "$node" >/dev/null 2>&1 && continue
    kafka_prepare "$node" "$cluster_id" || return 1
    kafka_launch_node "$node" || return 1
  done
}

kafka_stop() {
  local f
  # Every node ever started here, whatever the layout now asked for (e.g. a cluster left over from `--brokers 3`),
  # highest index first.
  for f in $(ls -r "$RUN_DIR"/kafka-[0-9]*.pid "$RUN_DIR"/kafka.pid 2>/dev/null); do
    f=${f##*/}
    stop_owned "${f%.pid}" 30
  done
}

# The pids of the running nodes, for `status`.
kafka_pids() {
  local node pid out=
  for node in $(kafka_nodes); do
    pid=$(owned_pid "$node" 2>/dev/null) && out+="${out:+,}$pid"
  done
  printf '%s\n' "${out:--}"
}

# Wipes every node's data and the recorded layout (scripts/stack reset kafka; the service is stopped first).
kafka_wipe() {
  rm -rf "$KAFKA_RUN" "$RUN_DIR"/kafka-[0-9]* "$RUN_DIR/kafka.brokers"
}

# One node of a cluster by name (scripts/stack stop|start|kill kafka-I).
kafka_node_valid() {
  local node
  for node in $(kafka_nodes); do [[ $node == "$1" ]] && return 0; done
  return 1
}

kafka_node_start() {
  local node=$1 i t0=$SECONDS
  if owned_pid "$node" >/dev/null 2>&1; then
    log "$node: already running"
    return 0
  fi
  kafka_prepare "$node" "$(kafka_cluster_id)" || return 1
  kafka_launch_node "$node" || return 1
  i=$(kafka_node_index "$node")
  # Listening is enough here: the cluster itself (other nodes) stayed up; clients find the node through metadata.
  while ((SECONDS - t0 < HEALTH_TIMEOUT)); do
    if port_in_use "$(kafka_broker_port "$i")"; then
      log "$node: listening after $((SECONDS - t0))s"
      return 0
    fi
    owned_pid "$node" >/dev/null 2>&1 || {
      log "$node: exited; last lines of $LOG_DIR/$node.log:"
      tail -n 30 "$LOG_DIR/$node.log" >&2
      return 1
    }
    sleep 0.5
  done
  log "$node: not listening after ${HEALTH_TIMEOUT}s"
  return 1
}

kafka_describe() {
  local n
  n=$(kafka_count)
  if ((n <= 1)); then
    printf 'kafka|127.0.0.1:%s|Kafka %s KRaft broker+controller (controller :%s)' "$KAFKA_PORT" "$KAFKA_VERSION" "$KAFKA_CONTROLLER_PORT"
  else
    printf 'kafka|%s|Kafka %s KRaft cluster of %s broker+controller nodes (kafka-1..kafka-%s)' "$(kafka_bootstrap)" "$KAFKA_VERSION" "$n" "$n"
  fi
}

kafka_ports() {
  local node i out=
  for node in $(kafka_nodes); do
    i=$(kafka_node_index "$node")
    out+="${out:+ }$(kafka_broker_port "$i") $(kafka_ctl_port "$i")"
  done
  printf '%s' "$out"
}
