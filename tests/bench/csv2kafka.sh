#!/usr/bin/env bash
# csv2kafka against kcat: 1M TPC-H `customer` rows ('|'-separated, as the seed shows them)
# produced to fresh 3-partition topics by both tools with the SAME producer settings,
# timed in the same run. Prints rows/s of each, the ratio csv2kafka/kcat (target >= 1.0)
# and csv2kafka's peak RSS (target < 100 MB). Run by hand, not in CI:
#
#   tests/env/up                 # the broker must be running
#   tests/bench/csv2kafka.sh     # ROWS=1000000 REPS=5 by default
#
# Environment:
#   ROWS=N        rows to generate (default 1000000)
#   REPS=N        repetitions per tool, alternating which goes first (default 5)
#   BENCH_X="k=v k=v"  producer settings given to both tools with -X (default: csv2kafka's
#                 own defaults spelled out, so kcat gets the same ones)
#   SETTLE=SECS   pause after `sync` before each run (default 2), so the broker's writing
#                 back of the previous run does not slow the next one
#
# The input comes from the test kit's generator, built and run by this script:
#   cargo run --release -p dgkafka-testkit --bin tpch-customer -- --rows N > file
# and is kept under $DGKAFKA_HOME/bench/ for the next run. Both tools read the file (kcat
# with -P -l, one message per line; csv2kafka with -d '|' -w '|', one per record — the
# same messages for this data). Times are wall-clock seconds from start to exit, which for
# both includes connecting and waiting for every acknowledgement. Exits non-zero when a
# tool fails or a topic does not end up with ROWS messages.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/env/lib.sh
source "$root/tests/env/lib.sh"

ROWS=${ROWS:-1000000}
REPS=${REPS:-5}
BENCH_X=${BENCH_X:-"enable.idempotence=true compression.codec=lz4 linger.ms=20 \
batch.size=1000000 batch.num.messages=100000 queue.buffering.max.messages=100000 \
queue.buffering.max.kbytes=32768 partitioner=murmur2_random enable.sparse.connections=false"}
bootstrap=127.0.0.1:$DGKAFKA_KAFKA_PORT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$DGKAFKA_HOME/target}

bench() { printf 'bench: %s\n' "$*" >&2; }

[[ -x /usr/bin/time ]] || die "GNU time is missing: apt-get install time"
command -v kcat >/dev/null || die "kcat is missing: tests/env/up installs it"
"$root/tests/env/status" >/dev/null || die "the services are not running: tests/env/up"

bench "building csv2kafka and tpch-customer (release)"
cargo build --quiet --release --manifest-path "$root/Cargo.toml" \
    -p csv2kafka -p dgkafka-testkit --bins
csv2kafka=$CARGO_TARGET_DIR/release/csv2kafka
generator=$CARGO_TARGET_DIR/release/tpch-customer

data_dir=$DGKAFKA_HOME/bench
mkdir -p "$data_dir"
data=$data_dir/customer-$ROWS.tbl
if [[ ! -s $data ]]; then
    bench "generating $ROWS customer rows into $data"
    "$generator" --rows "$ROWS" >"$data.tmp"
    mv "$data.tmp" "$data"
fi
lines=$(wc -l <"$data")
[[ $lines -eq $ROWS ]] || die "$data has $lines lines, not $ROWS"
bytes=$(stat -c %s "$data")

xargs=()
for kv in $BENCH_X; do
    xargs+=(-X "$kv")
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

new_topic() {
    local topic
    topic=bench_$1_$$_${RANDOM}_$(date +%s%N)
    "$root/tests/env/kafka-topics" --bootstrap-server "$bootstrap" --create --topic "$topic" \
        --partitions 3 --replication-factor 1 >/dev/null 2>"$work/topics.err" ||
        die "creating $topic: $(cat "$work/topics.err")"
    printf '%s' "$topic"
}

# Messages in a topic: the sum of its partitions' end offsets.
count() {
    kcat -Q -b "$bootstrap" -t "$1:0:-1" -t "$1:1:-1" -t "$1:2:-1" 2>/dev/null |
        awk '{ n += $NF } END { print n + 0 }'
}

# run TOOL: produce the file once with TOOL into a fresh topic; appends "secs rss_kb".
run() {
    local tool=$1 topic out
    topic=$(new_topic "$tool")
    out=$work/$tool.time
    # Let the broker write back the previous run's data first, so that no run pays for
    # the one before it.
    sync
    sleep "${SETTLE:-2}"
    case $tool in
        kcat)
            /usr/bin/time -f '%e %M' -o "$out" \
                kcat -P -l -b "$bootstrap" -t "$topic" "${xargs[@]}" "$data" \
                2>"$work/$tool.err" || die "kcat failed: $(cat "$work/$tool.err")"
            ;;
        csv2kafka)
            /usr/bin/time -f '%e %M' -o "$out" \
                "$csv2kafka" -q -d '|' -w '|' "${xargs[@]}" "$bootstrap" "$topic" "$data" \
                2>"$work/$tool.err" || die "csv2kafka failed: $(cat "$work/$tool.err")"
            ;;
    esac
    local n
    n=$(count "$topic")
    [[ $n -eq $ROWS ]] || die "$tool: topic $topic has $n messages, not $ROWS"
    read -r secs rss <"$out"
    bench "$tool: $secs s, peak RSS $((rss / 1024)) MB"
    printf '%s %s\n' "$secs" "$rss" >>"$work/$tool.results"
}

bench "$ROWS rows ($(((bytes + 500000) / 1000000)) MB), $REPS repetitions, -X $BENCH_X"
for ((i = 1; i <= REPS; i++)); do
    if ((i % 2)); then
        run kcat
        run csv2kafka
    else
        run csv2kafka
        run kcat
    fi
done

# best and median seconds, peak RSS (max over runs) of a tool: "best median rss_kb"
stats() {
    sort -n "$work/$1.results" | awk '
        { t[NR] = $1; if ($2 > rss) rss = $2 }
        END {
            med = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
            print t[1], med, rss
        }'
}

read -r k_best k_med k_rss < <(stats kcat)
read -r c_best c_med c_rss < <(stats csv2kafka)

awk -v rows="$ROWS" -v reps="$REPS" -v bytes="$bytes" \
    -v kb="$k_best" -v km="$k_med" -v kr="$k_rss" \
    -v cb="$c_best" -v cm="$c_med" -v cr="$c_rss" '
    function rate(s) { return s > 0 ? rows / s : 0 }
    BEGIN {
        printf "\ncsv2kafka vs kcat: %d rows (%.0f MB), %d runs each, 3 partitions, same -X settings\n", rows, bytes / 1e6, reps
        printf "%-10s %10s %14s %10s %14s %14s\n", "tool", "best s", "best rows/s", "median s", "median rows/s", "peak RSS MB"
        printf "%-10s %10.2f %14.0f %10.2f %14.0f %14.1f\n", "kcat", kb, rate(kb), km, rate(km), kr / 1024
        printf "%-10s %10.2f %14.0f %10.2f %14.0f %14.1f\n", "csv2kafka", cb, rate(cb), cm, rate(cm), cr / 1024
        printf "ratio csv2kafka/kcat (rows/s): best %.2f, median %.2f   (target >= 1.0)\n", rate(cb) / rate(kb), rate(cm) / rate(km)
        printf "csv2kafka peak RSS: %.1f MB   (target < 100 MB)\n", cr / 1024
    }'
