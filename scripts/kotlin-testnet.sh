#!/usr/bin/env bash
# The Kotlin tests that drive a real router inside a private network of i2pd routers
# (kotlin/src/test/kotlin/org/gousse/core/TestnetTest.kt; issue 5, acceptance 1 and 3).
#
# Builds the gousse binary (it makes our router's identity before the network starts),
# testnet-exec, the gousse-ffi library and the Kotlin bindings (as scripts/kotlin-test.sh
# does), compiles the Kotlin tests, then runs TestnetTest under testnet-exec: a
# throwaway user + network + PID namespace holding 10 i2pd routers (2 floodfills) that
# know our router from their start. Nothing leaves that namespace; Maven runs offline
# there, so its plugins and dependencies must already be in ~/.m2 (the compile step
# below, run outside, fetches them; the JUnit provider of Surefire comes with any
# earlier scripts/kotlin-test.sh run).
#
# Needs: cargo, JDK 17, Maven 3, i2pd (Debian: apt-get install i2pd), util-linux's
# unshare with unprivileged user namespaces, iproute2. Takes 1 to 2 minutes when i2pd asks
# for transit soon after the unplugging, up to 15 when it asks only as its tunnels expire.
# GOUSSE_KEEP_TESTNET=1 keeps the routers' data directories.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/lib/jvm.sh
generate_bindings kotlin/target/generated-sources/uniffi
# Separate invocations (no feature unification with the library's build).
cargo build --locked -p gousse --bin gousse
cargo build --locked -p gousse-testnet --bin testnet-exec

offline=()
if [ "${KOTLIN_TEST_OFFLINE:-0}" = 1 ]; then offline=(-o); fi
mvn -B -q -Dstyle.color=never "${offline[@]}" -f "$root/kotlin/pom.xml" test-compile

report="$root/kotlin/target/surefire-reports/TEST-org.gousse.core.TestnetTest.xml"
rm -f "$report"
status=0
"$target/debug/testnet-exec" --gousse "$target/debug/gousse" --routers 10 --floodfills 2 -- \
  mvn -B -o -Dstyle.color=never -f "$root/kotlin/pom.xml" surefire:test \
    -Dtest=TestnetTest -Dgousse.lib.dir="$(dirname "$ffi_lib")" || status=$?

surefire_totals kotlin-testnet "$report" || { [ "$status" -ne 0 ] || status=1; }
exit "$status"
