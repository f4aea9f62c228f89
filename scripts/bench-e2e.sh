#!/usr/bin/env bash
# Gousse and i2pd side by side in one private network (not a test): time from a cold
# start to the first eepsite fetch, a large eepsite fetch through Gousse's HTTP proxy
# and through an i2pd HTTP proxy (alternating runs, medians and ratio), and resident
# memory. Release builds; everything runs in a throwaway user + network namespace.
#
#   scripts/bench-e2e.sh [--runs N] [--size-mb M] [--routers R]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
cd "$ROOT"
cargo build --release --locked -p gousse -p gousse-testnet --bin gousse --bin bench-e2e
exec unshare --user --map-root-user --net --pid --fork --kill-child --mount-proc -- \
    env GOUSSE_TESTNET_NETNS=1 "$TARGET/release/bench-e2e" --gousse "$TARGET/release/gousse" "$@"
