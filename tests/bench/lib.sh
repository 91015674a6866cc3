# Shared by the bench scripts that load through a real xdrive (load.sh, transform.sh);
# sourced after tests/env/lib.sh, with $work, $bin (the copied binaries), $bootstrap and
# a `bench` logging function set.

# start_xdrive LOG [KAFKA_ARGS [KAFKA_MOUNT_EXTRA]]: writes $work/xdrive/xdrive.toml
# mounting xdr_kafka (argv: KAFKA_ARGS, a TOML list fragment such as
# `"--transforms-dir", "/d", `, then the brokers; KAFKA_MOUNT_EXTRA, e.g. an `env = [...]`
# line, is added to its mount) and xdr_kafkaoffset, checks it, and starts xdrive with
# XDRIVE_LOG=LOG on a free loopback port. Sets xd_dir, xd_pid and xd_port.
start_xdrive() {
    local log=$1 kafka_args=${2:-} kafka_extra=${3:-}
    xd_dir=$work/xdrive
    mkdir -p "$xd_dir/plugin/xdr_kafka" "$xd_dir/plugin/xdr_kafkaoffset"
    ln -s "$bin/xdr_kafka" "$xd_dir/plugin/xdr_kafka/xdr_kafka"
    ln -s "$bin/xdr_kafkaoffset" "$xd_dir/plugin/xdr_kafkaoffset/xdr_kafkaoffset"
    cat >"$xd_dir/xdrive.toml" <<TOML
[xdrive]
dir = "$xd_dir"
port = 0
host = ["127.0.0.1"]

[[xdrive.mount]]
name = "kafka"
argv = ["xdr_kafka/xdr_kafka", $kafka_args"$bootstrap"]
$kafka_extra

[[xdrive.mount]]
name = "kafkaoffset"
argv = ["xdr_kafkaoffset/xdr_kafkaoffset", "$bootstrap"]
TOML
    "$bin/xdrive" --check "$xd_dir/xdrive.toml" >/dev/null 2>"$work/xdrive-check.err" ||
        die "xdrive --check: $(cat "$work/xdrive-check.err")"
    XDRIVE_LOG=$log "$bin/xdrive" --ready-file "$work/xdrive.addr" "$xd_dir/xdrive.toml" \
        2>"$work/xdrive.err" &
    xd_pid=$!
    for _ in $(seq 100); do [[ -s $work/xdrive.addr ]] && break; sleep 0.1; done
    [[ -s $work/xdrive.addr ]] || die "xdrive did not start: $(tail -3 "$work/xdrive.err")"
    xd_port=$(head -1 "$work/xdrive.addr" | sed 's/.*://')
    bench "xdrive pid $xd_pid on 127.0.0.1:$xd_port"
}
