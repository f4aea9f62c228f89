#!/usr/bin/env bash
# What an idle router costs (not a test): CPU time, wake-ups (context switches) and
# resident memory per 10 minutes of Gousse (transit on, and a second one with
# --no-transit) beside i2pd routers in one private network with no client traffic.
# Release builds; everything runs in a throwaway user + network + PID namespace.
#
#   scripts/bench-idle.sh [--minutes M] [--warmup M] [--routers R] [--floodfills F]
#                         [--variants transit,no-transit]
#
# Defaults: a 10-minute window after a 2-minute warm-up, 8 i2pd routers of which 2 are
# floodfills. `--minutes 2 --warmup 1` for a quick try.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"
cargo build --release --locked -p gousse -p gousse-testnet --bin gousse --bin bench-idle
exec unshare --user --map-root-user --net --pid --fork --kill-child --mount-proc -- \
    env GOUSSE_TESTNET_NETNS=1 "$TARGET/release/bench-idle" --gousse "$TARGET/release/gousse" "$@"
