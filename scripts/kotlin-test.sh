#!/usr/bin/env bash
# Kotlin bindings on the host JVM: builds the gousse-ffi library and the workspace's
# uniffi-bindgen, generates the Kotlin bindings (library mode) into
# kotlin/target/generated-sources/uniffi, and runs the JUnit tests with Maven.
#
# Needs: cargo, a JDK 17 and Maven 3 (Debian: openjdk-17-jdk-headless maven); Maven
# downloads its plugins and the dependencies of kotlin/pom.xml from Maven Central
# (KOTLIN_TEST_OFFLINE=1 adds -o once ~/.m2 holds them).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target="${CARGO_TARGET_DIR:-$root/target}"
case "$(uname -s)" in
  Darwin) lib="$target/debug/libgousse_ffi.dylib" ;;
  *) lib="$target/debug/libgousse_ffi.so" ;;
esac

# Two invocations: built together, cargo would unify uniffi's features and compile
# the bindgen's CLI into the library too.
cargo build --locked -p gousse-ffi
cargo build --locked -p uniffi-bindgen

out="$root/kotlin/target/generated-sources/uniffi"
rm -rf "$out"
# kotlin/uniffi-config.toml points at the top-level uniffi.toml (see its comment).
"$target/debug/uniffi-bindgen" generate --library "$lib" --language kotlin \
  --config "$root/kotlin/uniffi-config.toml" --out-dir "$out" --no-format
test -f "$out/org/gousse/core/gousse_ffi.kt" || {
  echo "kotlin-test: bindings not generated in package org.gousse.core" >&2
  exit 1
}

offline=()
if [ "${KOTLIN_TEST_OFFLINE:-0}" = 1 ]; then offline=(-o); fi
rm -rf "$root/kotlin/target/surefire-reports"
status=0
mvn -B -q -Dstyle.color=never "${offline[@]}" -f "$root/kotlin/pom.xml" test -Dgousse.lib.dir="$(dirname "$lib")" || status=$?

# Maven is quiet (-q): print the totals from the Surefire reports.
tests=0 failures=0 errors=0 skipped=0
for f in "$root"/kotlin/target/surefire-reports/TEST-*.xml; do
  [ -f "$f" ] || continue
  head=$(grep -m1 -o '<testsuite [^>]*>' "$f")
  for k in tests failures errors skipped; do
    v=$(printf '%s' "$head" | grep -o " $k=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0)
    eval "$k=\$(( $k + ${v:-0} ))"
  done
done
failed=$((failures + errors))
# (A newline first: quiet Maven may leave terminal codes without one.)
printf '\nkotlin: %d passed, %d failed, %d skipped\n' "$((tests - failed - skipped))" "$failed" "$skipped"
if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ "$tests" -eq 0 ]; then echo "kotlin-test: no test ran" >&2; exit 1; fi
