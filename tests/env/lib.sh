# shellcheck shell=bash
# Shared by the scripts in tests/env/: settings, paths and small helpers. Sourced, not run.
#
# Settings come from defaults.env next to this file; an environment variable of the same
# name wins (the Rust test kit, tests/src/env.rs, reads the file the same way).
# Everything the scripts create lives under $DGKAFKA_HOME, never in the clone.

ENV_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() {
    printf 'tests/env: error: %s\n' "$*" >&2
    exit 1
}

warn() {
    printf 'tests/env: warning: %s\n' "$*" >&2
}

say() {
    printf 'tests/env: %s\n' "$*" >&2
}

# Load defaults.env: KEY=VALUE lines, '#' comments, blank lines, values unquoted and
# trimmed; a variable already set in the environment (even to "") keeps its value.
load_defaults() {
    local line key value
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
        [[ $line == *=* ]] || die "defaults.env: not KEY=VALUE: $line"
        key=${line%%=*}
        value=${line#*=}
        key=${key//[[:space:]]/}
        value=${value#"${value%%[![:space:]]*}"}
        value=${value%"${value##*[![:space:]]}"}
        [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "defaults.env: bad key: $key"
        if [[ -z ${!key+set} ]]; then
            printf -v "$key" '%s' "$value"
        fi
        # Exported so the wrappers and anything they start see the same values.
        export "${key?}"
    done <"$ENV_DIR/defaults.env"
}
load_defaults

# Not in defaults.env because it depends on $HOME (same rule as tests/src/env.rs).
: "${HOME:?HOME is not set}"
DGKAFKA_HOME=${DGKAFKA_HOME:-$HOME/.cache/dgkafka-rs}
[[ $DGKAFKA_HOME == /* ]] || die "DGKAFKA_HOME must be an absolute path, not '$DGKAFKA_HOME'"
DGKAFKA_HOME=${DGKAFKA_HOME%/}
export DGKAFKA_HOME

# log4j2 must match the line Kafka was built with: 2.24.x up to 4.1, 2.25.x from 4.2.
if [[ -z ${DGKAFKA_LOG4J_VERSION:-} ]]; then
    case $DGKAFKA_KAFKA_VERSION in
        4.0.* | 4.1.*) DGKAFKA_LOG4J_VERSION=2.24.3 ;;
        *) DGKAFKA_LOG4J_VERSION=2.25.4 ;;
    esac
fi
export DGKAFKA_LOG4J_VERSION

# --- paths under $DGKAFKA_HOME (the env contract; see tests/env/README.md) ---
# shellcheck disable=SC2034 # used by the scripts that source this file
{
    LOG_DIR=$DGKAFKA_HOME/logs
    RUN_DIR=$DGKAFKA_HOME/run
    SSL_DIR=$DGKAFKA_HOME/ssl
    M2_REPO=$DGKAFKA_HOME/m2

    # Per version, so switching DGKAFKA_KAFKA_VERSION never mixes jars or on-disk formats.
    KAFKA_DIR=$DGKAFKA_HOME/kafka/$DGKAFKA_KAFKA_VERSION
    KAFKA_LIB=$KAFKA_DIR/lib
    KAFKA_CONF=$KAFKA_DIR/config
    KAFKA_DATA=$KAFKA_DIR/data
    KAFKA_SERVER_PROPERTIES=$KAFKA_CONF/server.properties
    KAFKA_LOG4J=$KAFKA_CONF/log4j2.properties
    KAFKA_TOOLS_LOG4J=$KAFKA_CONF/tools-log4j2.properties
    # Version-independent, so `down` finds a broker started under another version.
    KAFKA_PID_FILE=$RUN_DIR/kafka.pid
    KAFKA_LOG=$LOG_DIR/kafka.log
    KAFKA_OUT=$LOG_DIR/kafka.out
    KAFKA_CLIENT_SSL_PROPERTIES=$SSL_DIR/client-ssl.properties

    PG_ROOT=$DGKAFKA_HOME/pg
    PG_SOCKET_DIR=$PG_ROOT/run
    PG_LOG=$LOG_DIR/postgres.log

    INSTALL_LOG=$LOG_DIR/install.log
    MAVEN_LOG=$LOG_DIR/maven.log
}

# --- helpers ---

# Highest PostgreSQL major version installed from Debian's packages.
pg_bin_dir() {
    local dir best=""
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x $dir/initdb && -x $dir/pg_ctl ]] || continue
        if [[ -z $best ]] || (($(basename "$(dirname "$dir")") > $(basename "$(dirname "$best")"))); then
            best=$dir
        fi
    done
    [[ -n $best ]] || return 1
    printf '%s\n' "$best"
}

# Sets PG_BIN, PG_VERSION and PG_DATA (data is per major version: initdb formats differ).
pg_paths() {
    PG_BIN=$(pg_bin_dir) || die "no PostgreSQL server under /usr/lib/postgresql/*/bin; run tests/env/install"
    PG_VERSION=$(basename "$(dirname "$PG_BIN")")
    PG_DATA=$PG_ROOT/$PG_VERSION/data
}

# Runs a command as the user that owns the PostgreSQL cluster. The server refuses to run
# as root, so under root that is Debian's `postgres` system user.
as_pg() {
    if ((EUID == 0)); then
        # cd: the postgres user may not be allowed into the caller's directory.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# True when something listens on 127.0.0.1:<port> (or on all addresses).
port_listening() {
    [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
}

# Who listens on a port, for error messages.
port_owner() {
    local owner
    owner=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:(.*)' | head -n 1 || true)
    printf '%s\n' "${owner:-an unknown process (run ss -ltnp as root to see it)}"
}

# The pid of our broker if it is alive; a stale pid file (dead process, or a reused pid
# that is not our broker) is removed.
kafka_pid() {
    local pid
    [[ -f $KAFKA_PID_FILE ]] || return 1
    pid=$(<"$KAFKA_PID_FILE")
    if [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "kafka.Kafka $DGKAFKA_HOME/"; then
        printf '%s\n' "$pid"
        return 0
    fi
    rm -f "$KAFKA_PID_FILE"
    return 1
}

# kcat options for the SSL listener with our client certificate.
kcat_ssl_args() {
    printf '%s\n' -X security.protocol=ssl \
        -X "ssl.ca.location=$SSL_DIR/ca.crt" \
        -X "ssl.certificate.location=$SSL_DIR/client.crt" \
        -X "ssl.key.location=$SSL_DIR/client.key" \
        -X "ssl.key.password=$DGKAFKA_SSL_KEY_PASSWORD"
}

# True when the broker answers a metadata request on the PLAINTEXT listener.
kafka_reachable() {
    kcat -b "127.0.0.1:$DGKAFKA_KAFKA_PORT" -m 5 -L -t __dgkafka_probe >/dev/null 2>&1
}

# True when the SSL listener accepts our client certificate and answers.
kafka_ssl_reachable() {
    local args
    mapfile -t args < <(kcat_ssl_args)
    kcat -b "127.0.0.1:$DGKAFKA_KAFKA_SSL_PORT" "${args[@]}" -m 5 -L -t __dgkafka_probe >/dev/null 2>&1
}

# Common options for short-lived JVMs running the Kafka tools: quiet logging, and a
# quick start on a busy machine (tools run for seconds, so no JIT tiers or big heaps).
kafka_tool_java_opts() {
    printf '%s\n' -Xms32m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Djava.awt.headless=true "-Dlog4j2.configurationFile=$KAFKA_TOOLS_LOG4J"
}

# Fails unless the Kafka jars of the configured version are in place.
require_kafka_lib() {
    [[ -f $KAFKA_LIB/.complete ]] ||
        die "the Kafka $DGKAFKA_KAFKA_VERSION jars are not under $KAFKA_LIB; run tests/env/up"
}

# Stops our broker (SIGTERM: a controlled shutdown; SIGKILL after 60 s). Keeps its data.
stop_kafka() {
    local pid i
    pid=$(kafka_pid) || return 0
    say "stopping the Kafka broker (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 60; i++)); do
        [[ -e /proc/$pid ]] || break
        sleep 1
    done
    if [[ -e /proc/$pid ]]; then
        warn "the Kafka broker (pid $pid) did not stop within 60 s; killing it (log: $KAFKA_LOG)"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
    fi
    rm -f "$KAFKA_PID_FILE"
}

# The pid of our cluster's postmaster if it is alive. Read directly rather than with
# `pg_ctl status`, which calls a just-killed postmaster (a zombie until reaped) alive.
pg_postmaster_pid() {
    local pid state
    [[ -r $PG_DATA/postmaster.pid ]] || return 1
    read -r pid <"$PG_DATA/postmaster.pid" || return 1
    [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == postgres ]] || return 1
    state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || return 1
    [[ ${state%% *} != [ZX] ]] || return 1
    printf '%s\n' "$pid"
}

pg_running() {
    pg_postmaster_pid >/dev/null
}

# Stops our PostgreSQL cluster ("fast": ends sessions, then a clean shutdown). Keeps data.
stop_pg() {
    pg_paths
    pg_running || return 0
    say "stopping PostgreSQL ($PG_DATA)"
    as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 -s ||
        die "PostgreSQL did not stop; see $PG_LOG"
}

# True when the database answers over TCP with password authentication.
pg_login_works() {
    PGPASSWORD=$DGKAFKA_PG_PASSWORD PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -A -t \
        -h 127.0.0.1 -p "$DGKAFKA_PG_PORT" -U "$DGKAFKA_PG_USER" -d "$DGKAFKA_PG_DATABASE" \
        -c 'select 1' >/dev/null 2>&1
}

# True when the database answers over TLS, the server's certificate verified against our
# CA including the host name (sslmode=verify-full), and the session is encrypted.
pg_tls_works() {
    local ssl
    ssl=$(PGPASSWORD=$DGKAFKA_PG_PASSWORD PGCONNECT_TIMEOUT=5 PGSSLMODE=verify-full \
        PGSSLROOTCERT=$SSL_DIR/ca.crt "$PG_BIN/psql" -X -q -A -t \
        -h 127.0.0.1 -p "$DGKAFKA_PG_PORT" -U "$DGKAFKA_PG_USER" -d "$DGKAFKA_PG_DATABASE" \
        -c 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()' 2>/dev/null) || return 1
    [[ $ssl == t ]]
}

# True when our PostgreSQL client certificate logs in as DGKAFKA_PG_CERT_USER (`cert`
# authentication, no password).
pg_cert_login_works() {
    PGPASSWORD='' PGCONNECT_TIMEOUT=5 PGSSLMODE=verify-full PGSSLROOTCERT=$SSL_DIR/ca.crt \
        PGSSLCERT=$SSL_DIR/pg-client.crt PGSSLKEY=$SSL_DIR/pg-client.key "$PG_BIN/psql" -X -q -A -t \
        -h 127.0.0.1 -p "$DGKAFKA_PG_PORT" -U "$DGKAFKA_PG_CERT_USER" -d "$DGKAFKA_PG_DATABASE" \
        -w -c 'select 1' >/dev/null 2>&1
}
