#!/usr/bin/env bash
# Kotlin bindings on the host JVM: builds the gousse-ffi library and the workspace's
# uniffi-bindgen, generates the Kotlin bindings (library mode) into
# kotlin/target/generated-sources/uniffi, and runs the JUnit tests with Maven (all but
# TestnetTest, which scripts/kotlin-testnet.sh runs among i2pd routers).
#
# Needs: cargo, a JDK 17 and Maven 3 (Debian: openjdk-17-jdk-headless maven); Maven
# downloads its plugins and the dependencies of kotlin/pom.xml from Maven Central
# (KOTLIN_TEST_OFFLINE=1 adds -o once ~/.m2 holds them).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/jvm.sh
generate_bindings kotlin/target/generated-sources/uniffi

offline=()
if [ "${KOTLIN_TEST_OFFLINE:-0}" = 1 ]; then offline=(-o); fi
rm -rf kotlin/target/surefire-reports
status=0
mvn -B -q -Dstyle.color=never "${offline[@]}" -f kotlin/pom.xml test \
  -Dgousse.lib.dir="$(dirname "$ffi_lib")" || status=$?
surefire_totals kotlin kotlin/target/surefire-reports/TEST-*.xml || { [ "$status" -ne 0 ] || status=1; }
exit "$status"
