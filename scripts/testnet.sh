#!/usr/bin/env bash
# A private I2P test network of real i2pd routers, for a person (docs:
# rust/gousse-testnet/README.md). The routers live in a throwaway user + network
# namespace with addresses in 198.18.0.0/15; nothing leaves it.
#
#   scripts/testnet.sh start [N] [F]   start N routers (default 8), F floodfills (2)
#   scripts/testnet.sh status          each console's figures
#   scripts/testnet.sh shell           a shell inside the namespace
#   scripts/testnet.sh stop            stop the routers (data kept in $DIR/net)
#
# GOUSSE_TESTNET_DIR (default /tmp/gousse-testnet) holds the state and the routers'
# data; GOUSSE_TESTNET_ARGS adds serve options (e.g. "--sam 3 --http-proxy 4
# --log-level debug").
set -euo pipefail

DIR=${GOUSSE_TESTNET_DIR:-/tmp/gousse-testnet}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/debug/gousse-testnet

running_pid() {
    [ -f "$DIR/pid" ] || return 1
    local pid
    pid=$(cat "$DIR/pid")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

enter_cmd() {
    if [ "$(id -u)" = 0 ]; then
        echo "nsenter --target $1 --net"
    else
        echo "nsenter --target $1 --user --net --preserve-credentials"
    fi
}

case "${1:-}" in
start)
    n=${2:-8}
    f=${3:-2}
    if pid=$(running_pid); then
        echo "a test network already runs (pid $pid); scripts/testnet.sh stop first" >&2
        exit 1
    fi
    (cd "$ROOT" && cargo build -q -p gousse-testnet --bin gousse-testnet)
    rm -rf "$DIR/net" "$DIR/ready" "$DIR/stop" "$DIR/pid" "$DIR/routers.txt"
    mkdir -p "$DIR"
    # shellcheck disable=SC2086
    nohup setsid unshare --user --map-root-user --net \
        env GOUSSE_TESTNET_NETNS=1 "$BIN" serve --dir "$DIR" --routers "$n" --floodfills "$f" \
        ${GOUSSE_TESTNET_ARGS:-} >"$DIR/serve.log" 2>&1 </dev/null &
    for _ in $(seq 1 600); do
        [ -f "$DIR/ready" ] && break
        if ! kill -0 $! 2>/dev/null; then
            echo "the test network failed to start:" >&2
            cat "$DIR/serve.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    [ -f "$DIR/ready" ] || { echo "not ready after 60 s; see $DIR/serve.log" >&2; exit 1; }
    pid=$(cat "$DIR/pid")
    echo "test network of $n i2pd routers, $f of them floodfills, $(cat "$DIR/ready")"
    cat "$DIR/routers.txt"
    echo
    echo "consoles and ports are on 127.0.0.1 inside the namespace. Enter it with:"
    echo "  $(enter_cmd "$pid")        (or: scripts/testnet.sh shell)"
    echo "e.g.  $(enter_cmd "$pid") curl -s http://127.0.0.1:17001/"
    ;;
status)
    pid=$(running_pid) || { echo "no test network running (state in $DIR)"; exit 1; }
    echo "test network pid $pid, data in $DIR/net"
    # shellcheck disable=SC2046
    $(enter_cmd "$pid") "$BIN" status --dir "$DIR"
    ;;
shell)
    pid=$(running_pid) || { echo "no test network running (state in $DIR)"; exit 1; }
    # shellcheck disable=SC2046
    exec $(enter_cmd "$pid") "${SHELL:-bash}"
    ;;
stop)
    pid=$(running_pid) || { echo "no test network running"; exit 0; }
    touch "$DIR/stop"
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "still running after 30 s, killing $pid" >&2
        kill "$pid" || true
    fi
    rm -f "$DIR/pid" "$DIR/stop"
    echo "stopped; router data kept in $DIR/net"
    ;;
*)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
