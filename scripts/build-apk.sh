#!/usr/bin/env bash
# Builds the Gousse Android app (android/) on a machine WITH the Android SDK and NDK.
# It cannot run where there is no SDK (the project's CI checks the app's Kotlin with
# scripts/android-check.sh instead).
#
# Needs: ANDROID_HOME (the SDK, with platform android-36 and build-tools; an NDK, r28
# or newer preferred, in ANDROID_NDK_HOME or $ANDROID_HOME/ndk/<version>), a JDK 17,
# rustup, and Gradle 8.13+ (android/gradlew once made with `gradle wrapper`, or
# `gradle` on the PATH). Installs cargo-ndk and the three Android Rust targets if
# missing.
#
# Usage: scripts/build-apk.sh [debug|release]   (default debug; release is unsigned)
# The APK: android/app/build/outputs/apk/<variant>/app-<variant>[-unsigned].apk
set -euo pipefail
cd "$(dirname "$0")/.."
variant="${1:-debug}"
case "$variant" in
  debug) task=assembleDebug ;;
  release) task=assembleRelease ;;
  *) echo "build-apk: variant must be debug or release, not '$variant'" >&2; exit 2 ;;
esac

: "${ANDROID_HOME:=${ANDROID_SDK_ROOT:-}}"
if [ -z "$ANDROID_HOME" ] || [ ! -d "$ANDROID_HOME" ]; then
  echo "build-apk: set ANDROID_HOME to the Android SDK" >&2
  exit 1
fi
export ANDROID_HOME
if [ -z "${ANDROID_NDK_HOME:-}" ]; then
  # The newest NDK installed in the SDK.
  ndk=$(ls -d "$ANDROID_HOME"/ndk/*/ 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$ndk" ]; then
    echo "build-apk: no NDK: install one (sdkmanager 'ndk;28.2.13676358') or set ANDROID_NDK_HOME" >&2
    exit 1
  fi
  export ANDROID_NDK_HOME="${ndk%/}"
fi
echo "build-apk: SDK $ANDROID_HOME, NDK $ANDROID_NDK_HOME"

rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
if ! cargo ndk --version >/dev/null 2>&1; then
  cargo install --locked cargo-ndk
fi

# Gradle tells the SDK's place through local.properties too (ANDROID_HOME suffices
# for AGP; this keeps IDE imports working).
if [ ! -f android/local.properties ]; then
  printf 'sdk.dir=%s\n' "$ANDROID_HOME" > android/local.properties
fi

cd android
if [ -x ./gradlew ]; then
  gradle=(./gradlew)
elif command -v gradle >/dev/null 2>&1; then
  gradle=(gradle)
else
  echo "build-apk: no Gradle: install Gradle 8.13+ and run 'gradle wrapper --gradle-version 8.14.3' in android/" >&2
  exit 1
fi
"${gradle[@]}" --no-daemon "$task"

apk_dir="app/build/outputs/apk/$variant"
ls -l "$apk_dir"/*.apk
# 16 KB pages: every LOAD segment of the native libraries aligned to 2**14 or more.
if command -v llvm-readelf >/dev/null 2>&1 || [ -x "$ANDROID_NDK_HOME/toolchains/llvm/prebuilt/linux-x86_64/bin/llvm-readelf" ]; then
  readelf=$(command -v llvm-readelf || echo "$ANDROID_NDK_HOME/toolchains/llvm/prebuilt/linux-x86_64/bin/llvm-readelf")
  for so in app/src/main/jniLibs/arm64-v8a/*.so app/src/main/jniLibs/x86_64/*.so; do
    [ -f "$so" ] || continue
    if "$readelf" -lW "$so" | awk '$1 == "LOAD" { print $NF }' | grep -qvE '^0x([4-9a-f]000|[0-9a-f]+0000)$'; then
      echo "build-apk: $so has LOAD segments aligned below 16 KB" >&2
      exit 1
    fi
  done
  echo "build-apk: native libraries are 16 KB aligned"
fi
