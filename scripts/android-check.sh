#!/usr/bin/env bash
# The Android app's Kotlin, checked on the host JVM (no Android SDK here): builds the
# gousse-ffi library and the workspace's uniffi-bindgen, generates the Kotlin bindings
# (library mode, the same command as scripts/kotlin-test.sh) into
# android/jvm/target/generated-sources/uniffi, then compiles android/app/src/main/java
# against Robolectric's android-all jar (API 36) and runs the Robolectric tests of
# android/jvm with the real Rust library loaded through JNA.
#
# Needs: cargo, a JDK 17 and Maven 3 (Debian: openjdk-17-jdk-headless maven). The first
# run downloads from Maven Central the Kotlin compiler, Robolectric, the android-all jar
# of API 36 and Robolectric's images of API 35 and 26 (about 770 MB, a minute on a good
# link); later runs take about 25 s. ANDROID_CHECK_OFFLINE=1 adds -o once ~/.m2 holds
# them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
. scripts/lib/jvm.sh
jvm="$root/android/jvm"
generate_bindings "$jvm/target/generated-sources/uniffi"

offline=()
if [ "${ANDROID_CHECK_OFFLINE:-0}" = 1 ]; then offline=(-o); fi
rm -rf "$jvm/target/surefire-reports"
status=0
mvn -B -q -Dstyle.color=never "${offline[@]}" -f "$jvm/pom.xml" test -Dgousse.lib.dir="$(dirname "$ffi_lib")" || status=$?

surefire_totals android "$jvm"/target/surefire-reports/TEST-*.xml || { [ "$status" -ne 0 ] || status=1; }
exit "$status"
