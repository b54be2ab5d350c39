#!/usr/bin/env bash
# The lame duck under load, straight at one server: requests/s and latency before the trigger and during the lame
# duck, with the gradual and the immediate close side by side (issue 20), and wrk's errors (a response whose framing
# is lost in the lame duck, close-delimited instead of chunked, is a read error for wrk: issue 13).
#
# Usage: scripts/lame-duck-load.sh [--path /health] [--seconds 3] [--delay 8] [app ...]
#   app: a test app folder name (default: jetty-12.1 tomcat-11 undertow-2.3)
# Per app and mode, one line: requests/s, p50 and p99 before, the same during the lame duck (from 0.5 s into it, for
# --seconds), their ratios, and wrk's socket errors during the lame duck. wrk: 2 threads, 64 keep-alive connections.
# Needs wrk and the jars of `mvn -DskipTests package`.
set -euo pipefail
cd "$(dirname "$0")/.."
path=/health
seconds=3
delay=8
apps=()
while [ $# -gt 0 ]; do
  case "$1" in
    --path) path=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    *) apps+=("$1"); shift ;;
  esac
done
[ ${#apps[@]} -gt 0 ] || apps=(jetty-12.1 tomcat-11 undertow-2.3)
command -v wrk >/dev/null || { echo "lame-duck-load: wrk is missing (apt-get install -y wrk)" >&2; exit 2; }
agent=$PWD/agent/target/lameduck-agent.jar
[ -f "$agent" ] || { echo "lame-duck-load: build first: mvn -B -DskipTests package" >&2; exit 2; }
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

# wrk's summary as: requests/s p50_ms p99_ms errors
measure() { # $1 = port, $2 = output name
  wrk -t2 -c64 -d"${seconds}s" --latency "http://127.0.0.1:$1$path" >"$tmp/$2" 2>&1 || true
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = ms($2) }
    /^ +99%/ { p99 = ms($2) }
    /Socket errors/ { gsub(/,/, ""); errors = $4 + $6 + $8 + $10 }
    /Non-2xx/ { errors += $5 }
    END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, errors }' "$tmp/$2"
}

printf '%-14s %-10s %9s %8s %8s   %9s %8s %8s %7s   %6s %6s\n' app close "req/s" p50ms p99ms "ld req/s" p50ms p99ms errors "x rps" "x p99"
for app in "${apps[@]}"; do
  jar=test-apps/$app/target/app.jar
  [ -f "$jar" ] || { echo "lame-duck-load: $jar is missing" >&2; exit 2; }
  for mode in gradual immediate; do
    java -javaagent:"$agent=delay=${delay}s,drain=5s,delay.close=$mode" -jar "$jar" 0 >"$tmp/app.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do grep -q "listening on" "$tmp/app.log" && break; sleep 0.05; done
    port=$(grep -o "listening on [0-9]*" "$tmp/app.log" | awk '{print $3}')
    wrk -t2 -c64 -d5s "http://127.0.0.1:$port$path" >/dev/null 2>&1 || true # warm-up: the JIT, so that before and during compare
    read -r rps p50 p99 _ < <(measure "$port" before)
    kill -TERM "$pid"
    sleep 0.5
    read -r lrps lp50 lp99 lerr < <(measure "$port" during)
    wait "$pid" 2>/dev/null || true
    pid=
    printf '%-14s %-10s %9s %8s %8s   %9s %8s %8s %7s   %6.2f %6.2f\n' "$app" "$mode" "$rps" "$p50" "$p99" "$lrps" "$lp50" "$lp99" "$lerr" \
      "$(awk "BEGIN { print $lrps / $rps }")" "$(awk "BEGIN { print $lp99 / $p99 }")"
  done
done
