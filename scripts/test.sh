#!/usr/bin/env bash
# The test command: formatting, lints, then every test of the workspace, including the
# interop tests against real i2pd routers in private network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked -- --test-threads=2
