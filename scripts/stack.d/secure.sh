# shellcheck shell=bash
# `scripts/stack up --secure` (issue 11): the local Kafka with a SASL_SSL listener (SCRAM-SHA-512 over TLS) instead of
# PLAINTEXT, and Redis with TLS and a password, so the secured client paths are tested against real servers.
# Sourced by scripts/stack after kafka.sh and redis.sh; when secure mode is on (SNAP_STACK_SECURE=1, set by --secure,
# or remembered in $RUN_DIR/secure.enabled by an earlier `up --secure`) it wraps their prepare/start/health functions.
#
#   certificates  openssl: a throwaway CA, one server certificate for 127.0.0.1/localhost   → $RUN_DIR/secure/
#   SCRAM users   Kafka's own storage tool at format time (kafka-storage format --add-scram): admin (the broker
#                 itself and the stack's tools) and snap (clients); passwords generated once → $RUN_DIR/secure/*.password
#   Redis         --tls-port on REDIS_PORT (no plaintext port), requirepass from a mode-600 config file
# `scripts/stack env` then exports KAFKA_SECURITY_PROTOCOL=SASL_SSL, the SASL user, password file and CA file, and a
# rediss:// REDIS_URL with its password file and CA. One broker only (no --brokers N with --secure).

SECURE_DIR=$RUN_DIR/secure

secure_on() { [[ ${SNAP_STACK_SECURE:-} == 1 || -f $RUN_DIR/secure.enabled ]]; }

# Certificates and passwords, made once per run dir.
secure_material() {
  mkdir -p "$SECURE_DIR" "$LOG_DIR"
  chmod 700 "$SECURE_DIR"
  if [[ ! -f $SECURE_DIR/server.pem ]]; then
    command -v openssl >/dev/null 2>&1 || apt_install openssl || return 1
    log "secure: making a CA and a server certificate for 127.0.0.1 (openssl)"
    (
      cd "$SECURE_DIR" &&
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=snap-engine local CA" -keyout ca.key -out ca.pem &&
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key.pkcs1 -out server.csr &&
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext &&
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 -extfile server.ext -out server.crt &&
        # Kafka's PEM keystore wants a PKCS#8 key followed by the certificate chain, in one file.
        openssl pkcs8 -topk8 -nocrypt -in server.key.pkcs1 -out server.key &&
        cat server.key server.crt ca.pem >server.pem
    ) >"$LOG_DIR/secure-certs.log" 2>&1 || {
      log "secure: certificate generation failed:"
      cat "$LOG_DIR/secure-certs.log" >&2
      return 1
    }
    chmod 600 "$SECURE_DIR"/*.key "$SECURE_DIR/server.key.pkcs1" "$SECURE_DIR/server.pem"
  fi
  local u
  for u in kafka-admin kafka-snap redis; do
    [[ -s $SECURE_DIR/$u.password ]] || (umask 077 && head -c 18 /dev/urandom | base64 | tr -d '/+=\n' >"$SECURE_DIR/$u.password")
  done
}

secure_kafka_user() { echo snap; }

# The broker's listener settings (appended to server.properties: later keys win).
secure_kafka_properties() {
  local port=$1 ctl=$2
  printf '\n# --- scripts/stack up --secure: clients only over SASL_SSL (SCRAM-SHA-512) ---\n'
  printf 'listeners=SASL_SSL://127.0.0.1:%s,CONTROLLER://127.0.0.1:%s\n' "$port" "$ctl"
  printf 'advertised.listeners=SASL_SSL://127.0.0.1:%s\n' "$port"
  printf 'inter.broker.listener.name=SASL_SSL\n'
  printf 'listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT\n'
  printf 'sasl.enabled.mechanisms=SCRAM-SHA-512\n'
  printf 'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512\n'
  printf 'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="%s";\n' "$(cat "$SECURE_DIR/kafka-admin.password")"
  printf 'ssl.keystore.type=PEM\nssl.keystore.location=%s\n' "$SECURE_DIR/server.pem"
  printf 'ssl.truststore.type=PEM\nssl.truststore.location=%s\n' "$SECURE_DIR/ca.pem"
  printf 'ssl.client.auth=none\n'
}

# Client properties for Kafka's own tools as admin (health check; scripts/kafka-cli … --command-config FILE).
secure_kafka_client_properties() {
  local f=$SECURE_DIR/admin-client.properties
  (
    umask 077
    printf 'security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\n'
    printf 'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="%s";\n' "$(cat "$SECURE_DIR/kafka-admin.password")"
    printf 'ssl.truststore.type=PEM\nssl.truststore.location=%s\n' "$SECURE_DIR/ca.pem"
  ) >"$f"
  printf '%s\n' "$f"
}

if secure_on; then
  eval "$(declare -f kafka_prepare | sed '1s/^kafka_prepare/kafka_prepare_plain/')"

  kafka_prepare() {
    local node=$1 cluster_id=$2 i dir
    local n
    n=$(kafka_count)
    # (kafka_start truncates kafka.brokers while writing it: an empty count is the one node.)
    ((${n:-1} <= 1)) || {
      log "secure: --secure runs one broker; drop --brokers"
      return 1
    }
    secure_material || return 1
    i=$(kafka_node_index "$node")
    dir=$(kafka_node_dir "$node")
    mkdir -p "$dir/data" "$dir/logs"
    if [[ ! -f $dir/data/meta.properties ]]; then
      # Formatted here, with the SCRAM credentials, so they exist before the broker first authenticates anyone.
      sed -e "s|@KAFKA_PORT@|$(kafka_broker_port "$i")|g" -e "s|@KAFKA_CONTROLLER_PORT@|$(kafka_ctl_port "$i")|g" \
        -e "s|@KAFKA_DATA_DIR@|$dir/data|g" -e "s|^controller.quorum.voters=.*|controller.quorum.voters=1@127.0.0.1:$(kafka_ctl_port 0)|" \
        "$STACK_ROOT/infra/kafka/server.properties.template" >"$dir/server.properties"
      secure_kafka_properties "$(kafka_broker_port "$i")" "$(kafka_ctl_port "$i")" >>"$dir/server.properties"
      log "$node: formatting storage with SCRAM-SHA-512 users admin and $(secure_kafka_user) (cluster id $cluster_id)"
      kafka_run_class kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
        --add-scram "SCRAM-SHA-512=[name=admin,password=$(cat "$SECURE_DIR/kafka-admin.password")]" \
        --add-scram "SCRAM-SHA-512=[name=$(secure_kafka_user),password=$(cat "$SECURE_DIR/kafka-snap.password")]" \
        >"$LOG_DIR/$node-format.log" 2>&1 || {
        log "$node: storage format failed:"
        cat "$LOG_DIR/$node-format.log" >&2
        return 1
      }
    fi
    kafka_prepare_plain "$node" "$cluster_id" || return 1
    secure_kafka_properties "$(kafka_broker_port "$i")" "$(kafka_ctl_port "$i")" >>"$dir/server.properties"
    chmod 600 "$dir/server.properties"
  }

  kafka_health() {
    kafka_run_class org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$(kafka_bootstrap)" \
      --command-config "$(secure_kafka_client_properties)" 2>/dev/null | grep -q '(id: '
  }

  kafka_describe() {
    printf 'kafka|127.0.0.1:%s|Kafka %s KRaft, SASL_SSL only (SCRAM-SHA-512, user %s; CA %s)' "$KAFKA_PORT" "$KAFKA_VERSION" "$(secure_kafka_user)" "$SECURE_DIR/ca.pem"
  }

  redis_start() {
    require_free_port redis "$REDIS_PORT" || return 1
    secure_material || return 1
    mkdir -p "$REDIS_RUN"
    : >"$LOG_DIR/redis.log"
    # The password goes through a config file (mode 600), not the command line that `ps` shows.
    (umask 077 && printf 'requirepass %s\n' "$(cat "$SECURE_DIR/redis.password")" >"$SECURE_DIR/redis-auth.conf")
    launch redis "$LOG_DIR/redis.log" "$(command -v redis-server)" "$SECURE_DIR/redis-auth.conf" --port 0 --tls-port "$REDIS_PORT" \
      --bind 127.0.0.1 --tls-cert-file "$SECURE_DIR/server.crt" --tls-key-file "$SECURE_DIR/server.key" \
      --tls-ca-cert-file "$SECURE_DIR/ca.pem" --tls-auth-clients no \
      --daemonize no --save '' --appendonly no --dir "$REDIS_RUN" --protected-mode yes
  }

  redis_health() {
    [[ $(REDISCLI_AUTH=$(cat "$SECURE_DIR/redis.password" 2>/dev/null) redis-cli --tls --cacert "$SECURE_DIR/ca.pem" -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
  }

  redis_describe() {
    printf 'redis|rediss://127.0.0.1:%s|%s, TLS + password' "$REDIS_PORT" "$(redis-server --version 2>/dev/null | awk '{print $1" "$3}' | tr -d 'v=')"
  }
fi

# `scripts/stack env` lines for secure mode (appended by print_env).
secure_env() {
  secure_on || return 0
  printf 'export KAFKA_SECURITY_PROTOCOL=SASL_SSL\nexport KAFKA_SASL_MECHANISM=SCRAM-SHA-512\n'
  printf 'export KAFKA_SASL_USERNAME=%s\nexport KAFKA_SASL_PASSWORD_FILE=%s\nexport KAFKA_SSL_CA_FILE=%s\n' "$(secure_kafka_user)" "$SECURE_DIR/kafka-snap.password" "$SECURE_DIR/ca.pem"
  printf 'export REDIS_URL=rediss://127.0.0.1:%s\nexport REDIS_PASSWORD_FILE=%s\nexport REDIS_TLS_CA_FILE=%s\n' "$REDIS_PORT" "$SECURE_DIR/redis.password" "$SECURE_DIR/ca.pem"
}
