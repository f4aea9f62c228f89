#!/usr/bin/env bash
# The test command: formatting, lints, then every test of the workspace. The interop
# tests (tests/interop, run as the `gousse` package's `interop` test) start real i2pd
# routers in private network namespaces; they run one at a time so that their
# figures (build success, relayed bandwidth) are not skewed by each other's load.
# The Kotlin bindings of the mobile API are tested on the JVM (scripts/kotlin-test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked --exclude gousse -- --test-threads=2
# The mobile API's Kotlin bindings, generated and tested on the host JVM; then the
# same bindings driving a router among i2pd routers; then the Android app's Kotlin,
# compiled against android-all (API 36) and Robolectric-tested (API 35 and minSdk 26)
# with the real Rust library through JNA.
bash scripts/kotlin-test.sh
bash scripts/kotlin-testnet.sh
bash scripts/android-check.sh
cargo test -p gousse --locked -- --test-threads=1
