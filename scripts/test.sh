#!/usr/bin/env bash
# Every test, on a fresh Debian machine with Java and Maven: installs what the tests need and the machine lacks,
# saying in one line what and why, then runs `mvn -B verify` with this script's arguments passed through
# (e.g. scripts/test.sh -Dlameduck.apps=tomcat,undertow-2.4).
set -euo pipefail
cd "$(dirname "$0")/.."

# tool -> what needs it; the Debian package, where its name is not the tool's
declare -A needed=(
  [haproxy]="RollingRestartTest drives a rolling restart through HAProxy"
  [wrk]="RollingRestartTest and the load scripts drive HTTP load with wrk"
  [h2load]="TlsShutdownTest drives HTTP/2 over TLS with h2load"
)
declare -A package=([h2load]=nghttp2-client)
missing=()
for tool in "${!needed[@]}"; do
  command -v "$tool" >/dev/null || missing+=("${package[$tool]:-$tool}")
done
if [ ${#missing[@]} -gt 0 ]; then
  for tool in "${!needed[@]}"; do
    command -v "$tool" >/dev/null || echo "test.sh: installing ${package[$tool]:-$tool} with apt-get: ${needed[$tool]}"
  done
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo -n)
  # apt's own output only if it fails: the lines above say what happens.
  if ! { "${sudo[@]}" apt-get update -q && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q "${missing[@]}"; } >"${TMPDIR:-/tmp}/test.sh-apt.log" 2>&1; then
    cat "${TMPDIR:-/tmp}/test.sh-apt.log" >&2
    echo "test.sh: installing ${missing[*]} failed (output above); install them and run again" >&2
    exit 1
  fi
fi
ls -d /usr/lib/jvm/temurin-25* >/dev/null 2>&1 \
  || echo "test.sh: no Temurin 25 under /usr/lib/jvm: the tests on JDK 25 will fail saying so" >&2

exec mvn -B verify "$@"
