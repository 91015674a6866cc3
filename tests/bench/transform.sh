#!/usr/bin/env bash
# WebAssembly transform vs SQL mappings (issue #7), against the real services, all timed
# in the same run. Run by hand, not in CI:
#
#   tests/env/up                 # the broker and PostgreSQL must be running
#   tests/bench/transform.sh     # ROWS=1000000 REPS=3 by default
#
# What it does: builds xdrive, xdr_kafka, xdr_kafkaoffset and dgkafka (release) and the
# json-fields transform (release, wasm32-wasip2) and copies them aside (so a concurrent
# build cannot swap them mid-run); produces ROWS seed-style JSON messages
# ({"customer_id":N,"some_intfield":M,"name":"Customer#...","comment":"..."}) once into a
# fresh 3-partition topic with kcat; starts a real xdrive (as tests/bench/load.sh does)
# whose xdr_kafka mount has --transforms-dir holding json_fields.wasm; then, REPS times
# each, with a fresh consumer group and truncated tables per run, `dgkafka load
# -quit-at-eof` of the same topic into `(customer_id int, field2 decimal(7,2))`:
#
#  sql   format json (jdata json) with the seed's mappings
#          customer_id = (jdata->>'customer_id')
#          field2      = ((jdata->>'some_intfield')::numeric * .075)::decimal
#        (binary COPY of jdata into a staging table, then INSERT ... SELECT);
#  wasm  [kafka.transform] module = "json_fields.wasm",
#          fields = "field2=some_intfield*0.075" (customer_id by its own name),
#        kafka.input.columns customer_id integer, field2 numeric(7,2)
#        (the typed columns COPYed straight into the table).
#
# Both tables must end identical (count, sums). Reported: rows/s of both (best and median
# of REPS), the ratio wasm/sql (target >= 1.0), and the plugin's side of the transform:
# the CPU time of the xdr_kafka processes (xdrive's children: the cutime+cstime xdrive
# accumulates when it reaps them) per load, with and without the transform. The
# difference over ROWS is the transform's cost per row (ns; the host's conversions, the
# canonical-ABI copies and the guest), and the difference over the wasm load's plugin CPU
# is the transform's share (host and module) of the plugin's time. xdr_kafka's "Read
# done." lines carry the time spent inside the transform host (transform_us); their sum is
# reported too. The host's own share: `cargo bench -p transform-host` runs json-fields and
# an echo of the same rows through the host (the echo is the host's part: lowering,
# lifting, checking; the module does nothing), and that per-row cost over the plugin's CPU
# time per row with the transform is reported (target < 20%).
#
# Environment:
#   ROWS=N          messages (default 1000000)
#   REPS=N          repetitions of each timed load (default 3)
#   NREADER=N       kafka.input.nreader (default 2)
#   MAX_ROW=N       kafka.commit.max_row (default 100000)
#   SETTLE=SECS     pause after `sync` before each timed run (default 2)
#   KEEP=1          keep the work directory (configs, logs)
#   BIN_DIR=DIR     take the native binaries from DIR instead of building them
#   WASM=FILE       take json_fields.wasm from FILE instead of building it
#   HOST_BENCH=0    skip `cargo bench -p transform-host`, which gives the host's own part
#                   of the transform's cost (an echo of the same rows through the host)
#
# Services: those of tests/env (defaults.env; environment variables win); see
# tests/bench/load.sh for running against a private pair on other ports.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/env/lib.sh
source "$root/tests/env/lib.sh"
# shellcheck source=tests/bench/lib.sh
source "$root/tests/bench/lib.sh"

ROWS=${ROWS:-1000000}
REPS=${REPS:-3}
NREADER=${NREADER:-2}
MAX_ROW=${MAX_ROW:-100000}
PRODUCE_X=${PRODUCE_X:-"enable.idempotence=true compression.codec=lz4 linger.ms=20 \
batch.size=1000000 batch.num.messages=100000 queue.buffering.max.messages=100000 \
queue.buffering.max.kbytes=32768 partitioner=murmur2_random"}
bootstrap=127.0.0.1:$DGKAFKA_KAFKA_PORT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$DGKAFKA_HOME/target}
export PGPASSWORD=$DGKAFKA_PG_PASSWORD PGOPTIONS='-c client_min_messages=warning'

bench() { printf 'bench: %s\n' "$*" >&2; }
load_avg() { cut -d' ' -f1-3 /proc/loadavg; }
clk_tck=$(getconf CLK_TCK)

[[ -x /usr/bin/time ]] || die "GNU time is missing: apt-get install time"
command -v kcat >/dev/null || die "kcat is missing: tests/env/up installs it"
"$root/tests/env/status" >/dev/null || die "the services are not running: tests/env/up"

if [[ -n ${BIN_DIR:-} ]]; then
    bench "using the binaries in $BIN_DIR (no build)"
else
    bench "building xdrive, xdr_kafka, xdr_kafkaoffset, dgkafka (release)"
    cargo build --quiet --release --manifest-path "$root/Cargo.toml" \
        -p xdrive -p xdr_kafka -p xdr_kafkaoffset -p dgkafka --bins
    BIN_DIR=$CARGO_TARGET_DIR/release
fi
if [[ -z ${WASM:-} ]]; then
    bench "building json-fields (release, wasm32-wasip2)"
    wasm_target=$DGKAFKA_HOME/target-wasm
    (cd "$root" && env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS CARGO_TARGET_DIR="$wasm_target" \
        cargo build --quiet --release --target wasm32-wasip2 -p json-fields)
    WASM=$wasm_target/wasm32-wasip2/release/json_fields.wasm
fi
[[ -s $WASM ]] || die "no module at $WASM"

run_id=$$_$(date +%s)
work=$(mktemp -d)
bin=$work/bin
mkdir -p "$bin" "$work/transforms"
for b in xdrive xdr_kafka xdr_kafkaoffset dgkafka; do
    cp "$BIN_DIR/$b" "$bin/$b"
done
cp "$WASM" "$work/transforms/json_fields.wasm"

psqlc() {
    psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$DGKAFKA_PG_PORT" -U "$DGKAFKA_PG_USER" \
        "$DGKAFKA_PG_DATABASE" "$@"
}

topic=
tables=()
xd_pid=
cleanup() {
    set +e
    if [[ -n $xd_pid ]]; then
        kill -TERM "$xd_pid" 2>/dev/null
        wait "$xd_pid" 2>/dev/null
    fi
    for t in "${tables[@]}"; do
        psqlc -c "DROP TABLE IF EXISTS $t" 2>/dev/null
    done
    if [[ -n $topic ]]; then
        "$root/tests/env/kafka-topics" --bootstrap-server "$bootstrap" --delete --topic "$topic" \
            >/dev/null 2>&1 || bench "could not delete topic $topic"
    fi
    if [[ -n ${KEEP:-} ]]; then bench "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

count_topic() {
    kcat -Q -b "$bootstrap" -t "$1:0:-1" -t "$1:1:-1" -t "$1:2:-1" 2>/dev/null |
        awk '{ n += $NF } END { print n + 0 }'
}

# ---- data ------------------------------------------------------------------------------

data_dir=$DGKAFKA_HOME/bench
mkdir -p "$data_dir"
json_data=$data_dir/seed-json-$ROWS.jsonl
if [[ ! -s $json_data ]]; then
    bench "generating $ROWS seed-style JSON messages into $json_data"
    awk -v n="$ROWS" 'BEGIN {
        for (i = 1; i <= n; i++)
            printf "{\"customer_id\":%d,\"some_intfield\":%d,\"name\":\"Customer#%09d\",\"comment\":\"regular deposits sleep quickly %d\"}\n",
                i, (i * 7919) % 100000, i, i % 977
    }' >"$json_data.tmp"
    mv "$json_data.tmp" "$json_data"
fi

topic=bench_transform_$run_id
"$root/tests/env/kafka-topics" --bootstrap-server "$bootstrap" --create --topic "$topic" \
    --partitions 3 --replication-factor 1 >/dev/null 2>"$work/topics.err" ||
    die "creating $topic: $(cat "$work/topics.err")"
bench "producing $ROWS messages into $topic: $(head -c 120 "$json_data")"
xargs_=()
for kv in $PRODUCE_X; do xargs_+=(-X "$kv"); done
kcat -P -l -b "$bootstrap" -t "$topic" "${xargs_[@]}" "$json_data" || die "kcat -P failed"
[[ $(count_topic "$topic") -eq $ROWS ]] || die "$topic: $(count_topic "$topic") messages, not $ROWS"

# ---- xdrive ----------------------------------------------------------------------------

start_xdrive info '"--transforms-dir", "'"$work/transforms"'", "--transform-cache-dir", "'"$work/transform-cache"'", ' \
    'env = ["XDR_KAFKA_LOG=info"]'

# CPU seconds of xdrive's reaped children (the plugin processes): cutime + cstime.
children_cpu() {
    awk -v t="$clk_tck" '{ sub(/^.*\) /, ""); printf "%.2f", ($14 + $15) / t }' "/proc/$xd_pid/stat"
}
# All log lines xdrive and its plugins wrote so far (stderr and dir/log).
all_logs() { cat "$work/xdrive.err" "$xd_dir"/log/*.log 2>/dev/null || true; }
log_lines() { all_logs | wc -l; }

# ---- dgkafka ---------------------------------------------------------------------------

out_sql=tx_sql_$run_id
out_wasm=tx_wasm_$run_id
offs=tx_offs_$run_id
for t in "$out_sql" "$out_wasm"; do
    psqlc -c "DROP TABLE IF EXISTS $t; CREATE TABLE $t (customer_id int, field2 decimal(7,2))"
    tables+=("$t")
done

write_toml() { # file kind output group
    local file=$1 kind=$2 output=$3 group=$4
    {
        cat <<EOF
[dgkafka]
database = "$DGKAFKA_PG_DATABASE"
user = "$DGKAFKA_PG_USER"
password = "$DGKAFKA_PG_PASSWORD"
host = "127.0.0.1"
port = $DGKAFKA_PG_PORT
sslmode = "disable"
xdrive_host = "127.0.0.1"
xdrive_port = $xd_port

[kafka.input]
format = "json"
consumer_group = "$group"
topic = "$topic"
partition_num = 3
nreader = $NREADER
EOF
        if [[ $kind == wasm ]]; then
            cat <<'EOF'
[[kafka.input.columns]]
name = "customer_id"
type = "integer"
[[kafka.input.columns]]
name = "field2"
type = "numeric(7,2)"
EOF
        fi
        printf '[kafka.output]\noffset_table = "%s"\noutput_table = "%s"\n' "$offs" "$output"
        if [[ $kind == sql ]]; then
            cat <<'EOF'
[[kafka.output.mappings]]
name = "customer_id"
key = "(jdata->>'customer_id')"
[[kafka.output.mappings]]
name = "field2"
key = "((jdata->>'some_intfield')::numeric * .075)::decimal"
EOF
        fi
        printf '[kafka.commit]\nmax_row = %s\nminimal_interval = -1\n' "$MAX_ROW"
        if [[ $kind == wasm ]]; then
            cat <<'EOF'
[kafka.transform]
module = "json_fields.wasm"
[kafka.transform.config]
fields = "field2=some_intfield*0.075"
EOF
        fi
    } >"$file"
}

write_toml "$work/setup.toml" sql "$out_sql" "g_setup_$run_id"
"$bin/dgkafka" setup "$work/setup.toml" >"$work/setup.out" 2>&1 ||
    die "dgkafka setup: $(cat "$work/setup.out")"
tables+=("$offs")

results=$work/results # kind secs rows plugin_cpu_secs transform_ms_from_logs
: >"$results"

one_load() { # kind rep
    local kind=$1 rep=$2 output group cfg
    output=$([[ $kind == sql ]] && echo "$out_sql" || echo "$out_wasm")
    group=g_${kind}_${run_id}_$rep
    cfg=$work/$kind.toml
    write_toml "$cfg" "$kind" "$output" "$group"
    psqlc -c "TRUNCATE $output"
    sync
    sleep "${SETTLE:-2}"
    local cpu0 cpu1 lines0 t_ms
    lines0=$(log_lines)
    cpu0=$(children_cpu)
    /usr/bin/time -f '%e %M' -o "$work/time" "$bin/dgkafka" load -quit-at-eof "$cfg" \
        >"$work/load.out" 2>"$work/load.err" ||
        die "$kind: dgkafka load failed: $(tail -3 "$work/load.err")"
    sleep 0.5 # let xdrive reap the last plugin
    cpu1=$(children_cpu)
    local n secs rss
    n=$(psqlc -At -c "SELECT count(*) FROM $output")
    [[ $n -eq $ROWS ]] || die "$kind: $output has $n rows, not $ROWS"
    read -r secs rss <"$work/time"
    # A transform time in the plugin's "Read done." lines, when it logs one (ms).
    t_ms=$(all_logs | tail -n +"$((lines0 + 1))" | awk '
        /Read done/ && match($0, /transform_(ms|us|ns)=[0-9.]+/) {
            kv = substr($0, RSTART, RLENGTH); split(kv, p, "=")
            f = (p[1] ~ /_ns$/) ? 1e-6 : (p[1] ~ /_us$/) ? 1e-3 : 1; s += p[2] * f; n++ }
        END { if (n) printf "%.1f", s; else print "-" }')
    local pcpu
    pcpu=$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }')
    bench "$kind #$rep: $secs s, $(awk -v r="$ROWS" -v s="$secs" 'BEGIN{printf "%.0f", r/s}') rows/s, plugin CPU $pcpu s, dgkafka RSS $((rss / 1024)) MB; $(cat "$work/load.out")"
    printf '%s %s %s %s %s\n' "$kind" "$secs" "$ROWS" "$pcpu" "$t_ms" >>"$results"
}

bench "load average at start: $(load_avg) ($(nproc) cores)"
load_start=$(load_avg)
for ((i = 1; i <= REPS; i++)); do
    one_load sql "$i"
    one_load wasm "$i"
done
load_end=$(load_avg)

# Both paths load the same values.
sums() { psqlc -At -F ' ' -c "SELECT count(*), sum(customer_id), sum(field2) FROM $1"; }
s_sql=$(sums "$out_sql")
s_wasm=$(sums "$out_wasm")
[[ $s_sql == "$s_wasm" ]] || die "the tables differ: sql ($s_sql) vs wasm ($s_wasm)"
bench "both tables hold the same rows: count, sum(customer_id), sum(field2) = $s_sql"

# ---- the host's part, measured by the transform host's cargo bench -----------------------

host_ns= module_ns=
if [[ ${HOST_BENCH:-1} == 1 ]]; then
    bench "cargo bench -p transform-host (json-fields and an echo of the same rows)"
    if (cd "$root" && cargo bench --quiet -p transform-host --bench host -- --warm-up-time 1 \
        --measurement-time 2 "no criterion group matches this" >"$work/host-bench.out" 2>&1); then
        read -r module_ns host_ns < <(awk '/of which the host.s part/ {
            for (i = 1; i <= NF; i++) if ($i == "ns/row,") m = $(i - 1); else if ($i == "ns/row") h = $(i - 1)
            print m, h }' "$work/host-bench.out")
        bench "$(grep -A1 'transforms/json-fields' "$work/host-bench.out" | tail -1)"
    else
        bench "cargo bench -p transform-host failed: $(tail -3 "$work/host-bench.out")"
    fi
fi

# ---- report ----------------------------------------------------------------------------

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
stats() { # kind -> "best_secs median_secs median_plugin_cpu"
    local best med cpu
    best=$(awk -v k="$1" '$1 == k { print $2 }' "$results" | sort -n | head -1)
    med=$(awk -v k="$1" '$1 == k { print $2 }' "$results" | median)
    cpu=$(awk -v k="$1" '$1 == k { print $4 }' "$results" | median)
    echo "$best $med $cpu"
}
read -r sql_best sql_med sql_cpu < <(stats sql)
read -r wasm_best wasm_med wasm_cpu < <(stats wasm)
t_logged=$(awk '$1 == "wasm" && $5 != "-" { s += $5; n++ } END { if (n) printf "%.1f", s / n; else print "-" }' "$results")

{
    printf '\ntransform benchmark: %d JSON messages, %d repetitions, 3 partitions, nreader %d, max_row %d, %s cores\n' \
        "$ROWS" "$REPS" "$NREADER" "$MAX_ROW" "$(nproc)"
    printf 'load average (1/5/15 min): start %s, end %s\n' "$load_start" "$load_end"
    printf '%-6s %8s %12s %8s %12s %14s\n' run "best s" "best rows/s" "med s" "med rows/s" "plugin CPU s"
    for k in sql wasm; do
        if [[ $k == sql ]]; then b=$sql_best m=$sql_med c=$sql_cpu; else b=$wasm_best m=$wasm_med c=$wasm_cpu; fi
        awk -v k="$k" -v b="$b" -v m="$m" -v c="$c" -v r="$ROWS" \
            'BEGIN { printf "%-6s %8.2f %12.0f %8.2f %12.0f %14.2f\n", k, b, r / b, m, r / m, c }'
    done
    awk -v s="$sql_best" -v w="$wasm_best" -v sm="$sql_med" -v wm="$wasm_med" \
        'BEGIN { printf "wasm / sql mappings (rows/s): best %.2f, median %.2f (target >= 1.0)\n", s / w, sm / wm }'
    awk -v a="$sql_cpu" -v b="$wasm_cpu" -v r="$ROWS" 'BEGIN {
        d = b - a
        printf "transform cost in the plugin: %.0f ns per row (plugin CPU %.2f s with it, %.2f s without, medians); the transform'"'"'s share (host and module) of the plugin'"'"'s CPU time: %.0f%%\n",
            d * 1e9 / r, b, a, (b > 0 ? 100 * d / b : 0) }'
    if [[ $t_logged != - ]]; then
        awk -v t="$t_logged" -v r="$ROWS" -v b="$wasm_cpu" 'BEGIN {
            printf "transform time logged by xdr_kafka (\"Read done.\"): %.0f ms per load, %.0f ns per row, %.0f%% of the plugin CPU time\n",
                t, t * 1e6 / r, (b > 0 ? 100 * t / 1000 / b : 0) }'
    else
        printf 'xdr_kafka logged no transform time in its "Read done." lines: the CPU difference above is the measure\n'
    fi
    if [[ -n ${host_ns:-} ]]; then
        awk -v h="$host_ns" -v m="$module_ns" -v b="$wasm_cpu" -v r="$ROWS" 'BEGIN {
            p = b * 1e9 / r
            printf "the transform host'"'"'s own share (cargo bench -p transform-host: json-fields %.0f ns/row, of which the host'"'"'s part, an echo of the same rows, %.0f ns/row) of the plugin'"'"'s CPU time per row with the transform (%.0f ns): %.0f%% (target < 20%%)\n",
                m, h, p, 100 * h / p }'
    fi
}
