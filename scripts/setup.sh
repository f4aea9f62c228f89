#!/usr/bin/env bash
# Installs what building and testing Gousse needs on a fresh Debian machine:
# i2pd (the peers of the interop tests), openssl (test SU3 signing), iproute2 and
# util-linux (private network namespaces), curl (fetches through proxies in the
# interop tests), a JDK 17 and Maven (the Kotlin bindings' tests on the JVM; Maven
# fetches the Kotlin compiler, JNA and JUnit from Maven Central), and a Rust
# toolchain's components.
set -euo pipefail

need=()
command -v i2pd >/dev/null 2>&1 || [ -x /usr/sbin/i2pd ] || need+=(i2pd)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
if [ "${#need[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
# The Debian package enables an i2pd system service; the tests run their own routers.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet i2pd 2>/dev/null; then
    systemctl stop i2pd || true
fi
rustup component add clippy rustfmt >/dev/null 2>&1 || true
echo "setup: done"
