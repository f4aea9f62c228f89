# Shared by the JVM test scripts (kotlin-test.sh, kotlin-testnet.sh, android-check.sh):
# the host build of the mobile API's library, its Kotlin bindings, and the totals of
# Surefire's reports. Source it from the repository root.

target="${CARGO_TARGET_DIR:-$PWD/target}"
case "$(uname -s)" in
  Darwin) ffi_lib="$target/debug/libgousse_ffi.dylib" ;;
  *) ffi_lib="$target/debug/libgousse_ffi.so" ;;
esac

# Builds libgousse_ffi and the workspace's uniffi-bindgen, then generates the Kotlin
# bindings (library mode) into $1. Two cargo invocations: built together, cargo would
# unify uniffi's features and compile the bindgen's CLI into the library too.
generate_bindings() {
  local out=$1
  cargo build --locked -p gousse-ffi
  cargo build --locked -p uniffi-bindgen
  rm -rf "$out"
  # kotlin/uniffi-config.toml points at the top-level uniffi.toml (see its comment).
  "$target/debug/uniffi-bindgen" generate --library "$ffi_lib" --language kotlin \
    --config "$PWD/kotlin/uniffi-config.toml" --out-dir "$out" --no-format
  test -f "$out/org/gousse/core/gousse_ffi.kt" || {
    echo "bindings not generated in package org.gousse.core" >&2
    return 1
  }
}

# Prints "LABEL: N passed, N failed, N skipped" from the Surefire reports given as
# arguments after LABEL; fails if none ran or any was skipped. Maven runs quiet (-q),
# so this is what the log shows.
surefire_totals() {
  local label=$1 f head k v
  shift
  local tests=0 failures=0 errors=0 skipped=0
  for f in "$@"; do
    [ -f "$f" ] || continue
    head=$(grep -m1 -o '<testsuite [^>]*>' "$f")
    for k in tests failures errors skipped; do
      v=$(printf '%s' "$head" | grep -o " $k=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0)
      eval "$k=\$(( $k + ${v:-0} ))"
    done
  done
  local failed=$((failures + errors))
  # (A newline first: quiet Maven may leave terminal codes without one.)
  printf '\n%s: %d passed, %d failed, %d skipped\n' "$label" \
    "$((tests - failed - skipped))" "$failed" "$skipped"
  if [ "$tests" -eq 0 ]; then echo "$label: no test ran" >&2; return 1; fi
  if [ "$skipped" -ne 0 ]; then echo "$label: tests were skipped" >&2; return 1; fi
}
