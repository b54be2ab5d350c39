#!/usr/bin/env bash
# The agent's cost and the drain's speed, with and without the agent in one run, alternating, medians and ratios.
#
#   startup    JVM start -> first 200 on /health (gRPC apps: -> "listening on", no gRPC client here), and the
#              agent's own install time from its log line (all of it in premain)
#   throughput wrk, keep-alive, /work?ms=0 (HTTP apps), after a warm-up of half as long
#   memory     RSS and metaspace used after the throughput run (warm)
#   idle       SIGTERM -> exit with delay=0, nothing in flight
#   busy       20 requests ending at known times (0.5 s .. 1.45 s) at SIGTERM: exit - last answer (HTTP apps)
#
# Usage: scripts/bench.sh [--reps N] [--seconds S] [app ...]   apps are test-apps/ folder names
#        default: --reps 5 --seconds 10 jetty-12.1 tomcat-11 undertow-2.3 grpc-1.85
# Needs wrk (apt-get install -y wrk), the JDK's jstat, and the jars of `mvn -B -DskipTests package`.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=5
seconds=10
apps=()
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) apps+=("$1"); shift ;;
  esac
done
[ ${#apps[@]} -gt 0 ] || apps=(jetty-12.1 tomcat-11 undertow-2.3 grpc-1.85)
agent=$PWD/agent/target/lameduck-agent.jar
command -v wrk >/dev/null || { echo "bench: wrk is missing (apt-get install -y wrk)" >&2; exit 2; }
[ -f "$agent" ] || { echo "bench: build first: mvn -B -DskipTests package" >&2; exit 2; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill -KILL $pid 2>/dev/null; rm -rf "$tmp"' EXIT

now_ns() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

http_status() { # $1 = path: the status of GET $1, or nothing
  local fd line
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || return 0
  printf 'GET %s HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n' "$1" >&$fd
  read -r -t 5 line <&$fd || true
  exec {fd}>&-
  echo "$line" | awk '{print $2}'
}

start() { # $1 = with|without; sets pid, port; records startup ms (and install ms) unless $2 = quiet
  local opts=() t0
  [ "$1" = with ] && opts=("-javaagent:$agent=delay=0")
  : >"$tmp/log"
  t0=$(now_ns)
  java "${opts[@]}" -jar "test-apps/$app/target/app.jar" 0 >"$tmp/log" 2>&1 &
  pid=$!
  until port=$(grep -o 'listening on [0-9]*' "$tmp/log" | grep -o '[0-9]*$'); do
    kill -0 $pid 2>/dev/null || { cat "$tmp/log" >&2; exit 1; }
    sleep 0.005
  done
  if [ "$grpc" = no ]; then
    until [ "$(http_status /health)" = 200 ]; do sleep 0.005; done
  fi
  local t1; t1=$(now_ns)
  if [ "${2:-}" != quiet ]; then
    echo $(((t1 - t0) / 1000000)) >>"$tmp/startup-$1"
    if [ "$1" = with ]; then # installed: ... (N ms); plan: ...
      grep -o 'installed: [^(]*([0-9]*' "$tmp/log" | grep -o '[0-9]*$' >>"$tmp/install" || true
    fi
  fi
}

stop_idle() { # SIGTERM -> exit
  local t0 t1
  t0=$(now_ns); kill -TERM $pid; wait $pid || true; t1=$(now_ns)
  echo $(((t1 - t0) / 1000000)) >>"$tmp/idle-$1"
  pid=
}

measure_load_and_memory() { # $1 = mode
  if [ "$grpc" = no ]; then
    # Warm-up first (the JIT): without it the figure is the compiler's progress, not the steady state.
    wrk -t2 -c32 -d"$(((seconds + 1) / 2))s" "http://127.0.0.1:$port/work?ms=0" >/dev/null 2>&1
    wrk -t2 -c32 -d"${seconds}s" "http://127.0.0.1:$port/work?ms=0" >"$tmp/wrk" 2>&1
    awk '/Requests\/sec/ {printf "%.0f\n", $2}' "$tmp/wrk" >>"$tmp/rps-$1"
  else
    sleep 1
  fi
  awk '/VmRSS/ {printf "%.1f\n", $2 / 1024}' "/proc/$pid/status" >>"$tmp/rss-$1"
  jstat -gc $pid | awk 'NR == 2 {for (i = 1; i <= NF; i++) if (h[i] == "MU") printf "%.1f\n", $i / 1024} NR == 1 {for (i = 1; i <= NF; i++) h[i] = $i}' >>"$tmp/meta-$1"
}

busy() { # $1 = mode: 20 requests ending at known times, SIGTERM while they run
  local i t1 last
  start "$1" quiet
  rm -f "$tmp"/req-*
  for i in $(seq 0 19); do
    ( fd=; exec {fd}<>"/dev/tcp/127.0.0.1/$port"
      printf 'GET /work?ms=%d HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n' $((500 + 50 * i)) >&$fd
      answer=$(timeout 30 cat <&$fd | tr -d '\r' | tail -n 1)
      echo "$(now_ns) ${answer:-none}" >"$tmp/req-$i" ) &
  done
  sleep 0.2
  kill -TERM $pid; wait $pid || true; t1=$(now_ns); pid=
  wait
  last=$(cat "$tmp"/req-* | awk '$2 == "ok" {print $1}' | sort -n | tail -n 1)
  [ -n "$last" ] && echo $(((t1 - last) / 1000000)) >>"$tmp/after-$1"
  cat "$tmp"/req-* | awk '$2 != "ok"' | wc -l >>"$tmp/failed-$1"
}

row() { # $1 = label, $2 = file stem, $3 = how to compare: ratio|delta
  local a b
  a=$(median 2>/dev/null <"$tmp/$2-without" || echo -)
  b=$(median 2>/dev/null <"$tmp/$2-with" || echo -)
  local cmp=-
  if [ "$a" != - ] && [ "$b" != - ]; then
    if [ "$3" = ratio ]; then cmp=$(awk -v a="$a" -v b="$b" 'BEGIN {if (a > 0) printf "x %.3f", b / a; else printf "-"}'); fi
    if [ "$3" = delta ]; then cmp=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%+.1f", b - a}'); fi
  fi
  printf '  %-40s %12s %12s %12s\n' "$1" "$a" "$b" "$cmp"
}

echo "lameduck bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(java -version 2>&1 | head -1), reps=$reps, wrk ${seconds}s"
for app in "${apps[@]}"; do
  [ -f "test-apps/$app/target/app.jar" ] || { echo "bench: test-apps/$app/target/app.jar is missing" >&2; exit 2; }
  grpc=no; [[ $app == grpc* ]] && grpc=yes
  rm -f "$tmp"/*-with "$tmp"/*-without "$tmp/install"
  for ((r = 1; r <= reps; r++)); do
    for mode in without with; do
      start $mode
      measure_load_and_memory $mode
      stop_idle $mode
      [ "$grpc" = no ] && busy $mode
    done
  done
  echo "$app"
  printf '  %-40s %12s %12s %12s\n' "" "without" "with agent" "with/without"
  row "startup to first answer, ms" startup ratio
  row "startup, with - without, ms" startup delta
  [ "$grpc" = no ] && row "throughput, requests/s" rps ratio
  row "RSS after load, MB" rss delta
  row "metaspace used, MB" meta delta
  row "idle SIGTERM -> exit, ms" idle delta
  [ "$grpc" = no ] && row "busy: exit after last answer, ms" after delta
  [ "$grpc" = no ] && row "busy: failed of 20" failed delta
  printf '  %-40s %12s\n' "agent install in premain (its log line), ms" "$(median <"$tmp/install")"
done
