#!/usr/bin/env bash
# The agent's cost and the drain's speed, with and without the agent in one run, alternating, medians and ratios.
#
#   startup    JVM start -> first 200 on /health (gRPC apps: first OK Work RPC, from a client started and warmed up
#              before the server), three per repetition; and the agent's own install time from its log line
#   throughput keep-alive load on /work?ms=0 (wrk; gRPC apps: BenchClient, 32 unary Work(0) calls outstanding on
#              one channel), after a warm-up of half as long. For the measured run the server's threads are pinned
#              to CPU 0 and the load generator to CPU 1 (when there are 2 or more), so that they do not take turns
#              on one core. Each run is listed: on a small machine they spread widely.
#   memory     RSS and metaspace used after the throughput run (warm); and, in a start of its own with Native
#              Memory Tracking, the JVM's memory outside the heap after as long a load run
#   idle       SIGTERM -> exit with delay=0, nothing in flight
#   busy       20 requests (gRPC: Work RPCs) ending at known times (0.5 s .. 1.45 s) at SIGTERM: exit - last answer,
#              and the agent's part of that: the end of its sequence (its "done" line) - last answer
#
# Usage: scripts/bench.sh [--reps N] [--seconds S] [app ...]   apps are test-apps/ folder names
#        default: --reps 5 --seconds 10 jetty-12.1 tomcat-11 undertow-2.3 grpc-1.85
# Needs wrk (apt-get install -y wrk), the JDK's jstat, taskset, and the jars of `mvn -B -DskipTests package`.
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
jvm=() # more JVM options for the next start
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
  local opts=() t0 t1
  [ "$1" = with ] && opts=("-javaagent:$agent=delay=0")
  : >"$tmp/log"
  if [ "$grpc" = yes ]; then
    grpc_start "$@"
    return
  fi
  t0=$(now_ns)
  java "${opts[@]}" "${jvm[@]}" -jar "test-apps/$app/target/app.jar" 0 >"$tmp/log" 2>&1 &
  pid=$!
  until port=$(grep -o 'listening on [0-9]*' "$tmp/log" | grep -o '[0-9]*$'); do
    kill -0 $pid 2>/dev/null || { cat "$tmp/log" >&2; exit 1; }
    sleep 0.005
  done
  until [ "$(http_status /health)" = 200 ]; do sleep 0.005; done
  t1=$(now_ns)
  if [ "${2:-}" != quiet ]; then record_startup "$1" $(((t1 - t0) / 1000000)); fi
}

# gRPC: the client is started and warmed up first, on a port chosen for the server; the server starts when the
# client is ready, and the client prints the moment of the first OK answer.
grpc_start() {
  local t0 t1 go
  port=$((20000 + RANDOM % 20000))
  rm -f "$tmp/go"; mkfifo "$tmp/go"
  exec {go}<>"$tmp/go"
  java -cp "test-apps/$app/target/app.jar" dev.lameduck.testapp.grpc.BenchClient first-ok $port <"$tmp/go" >"$tmp/client" 2>&1 &
  local client=$!
  until grep -q '^ready' "$tmp/client"; do
    kill -0 $client 2>/dev/null || { cat "$tmp/client" >&2; exit 1; }
    sleep 0.005
  done
  t0=$(now_ns)
  java "${opts[@]}" "${jvm[@]}" -jar "test-apps/$app/target/app.jar" $port >"$tmp/log" 2>&1 &
  pid=$!
  echo go >&$go
  wait $client || { cat "$tmp/client" "$tmp/log" >&2; exit 1; }
  exec {go}>&-
  t1=$(tail -n 1 "$tmp/client")
  if [ "${2:-}" != quiet ]; then record_startup "$1" $(((t1 - t0) / 1000000)); fi
}

record_startup() { # $1 = mode, $2 = ms
  echo "$2" >>"$tmp/startup-$1"
  if [ "$1" = with ]; then # installed: ... (N ms); plan: ...
    grep -o 'installed: [^(]*([0-9]*' "$tmp/log" | grep -o '[0-9]*$' >>"$tmp/install" || true
  fi
}

stop_idle() { # SIGTERM -> exit
  local t0 t1
  t0=$(now_ns); kill -TERM $pid; wait $pid || true; t1=$(now_ns)
  echo $(((t1 - t0) / 1000000)) >>"$tmp/idle-$1"
  pid=
}

pinned() { # runs "$@" (a load generator, or a function that starts one) on CPU 1, the server's threads on CPU 0
  if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    taskset -a -p -c 0 $pid >/dev/null
    ( taskset -p -c 1 $BASHPID >/dev/null; "$@" )
    taskset -a -p -c "0-$(($(nproc) - 1))" $pid >/dev/null
  else
    "$@"
  fi
}

load() { # $1 = seconds: keep-alive load on /work?ms=0 (gRPC: Work(0)); prints requests (RPCs) per second
  if [ "$grpc" = no ]; then
    wrk -t2 -c32 -d"${1}s" "http://127.0.0.1:$port/work?ms=0" | awk '/Requests\/sec/ {printf "%.0f\n", $2}'
  else # the client warms up itself (half as long) before its measured run
    java -cp "test-apps/$app/target/app.jar" dev.lameduck.testapp.grpc.BenchClient load $port "$1" 32
  fi
}

measure_load_and_memory() { # $1 = mode
  # Warm-up first (the JIT): without it the figure is the compiler's progress, not the steady state.
  if [ "$grpc" = no ]; then load $(((seconds + 1) / 2)) >/dev/null; fi
  pinned load "$seconds" >>"$tmp/rps-$1"
  awk '/VmRSS/ {printf "%.1f\n", $2 / 1024}' "/proc/$pid/status" >>"$tmp/rss-$1"
  jstat -gc $pid | awk 'NR == 2 {for (i = 1; i <= NF; i++) if (h[i] == "MU") printf "%.1f\n", $i / 1024} NR == 1 {for (i = 1; i <= NF; i++) h[i] = $i}' >>"$tmp/meta-$1"
}

# The JVM's own account of its memory outside the heap (Native Memory Tracking: class metadata, code, threads,
# the agent's buffers...), after a load run, in a start of its own since NMT costs time. RSS moves by tens of MB
# from run to run with the heap's growth; this does not.
native_memory() { # $1 = mode
  jvm=(-XX:NativeMemoryTracking=summary)
  start "$1" quiet
  jvm=()
  load "$seconds" >/dev/null
  jcmd $pid VM.native_memory summary scale=KB | awk '
    /^Total:/ {sub(/.*committed=/, ""); total = $0 + 0}
    /Java Heap \(/ {sub(/.*committed=/, ""); heap = $0 + 0}
    END {printf "%.1f\n", (total - heap) / 1024}' >>"$tmp/nmt-$1"
  kill -KILL $pid; wait $pid 2>/dev/null || true; pid=
}

busy() { # $1 = mode: 20 requests ending at known times, SIGTERM while they run
  local i t0 t1 last done_ms
  start "$1" quiet
  rm -f "$tmp"/req-*
  if [ "$grpc" = no ]; then
    for i in $(seq 0 19); do
      ( fd=; exec {fd}<>"/dev/tcp/127.0.0.1/$port"
        printf 'GET /work?ms=%d HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n' $((500 + 50 * i)) >&$fd
        answer=$(timeout 30 cat <&$fd | tr -d '\r' | tail -n 1)
        echo "$(now_ns) ${answer:-none}" >"$tmp/req-$i" ) &
    done
  else
    java -cp "test-apps/$app/target/app.jar" dev.lameduck.testapp.grpc.BenchClient busy $port >"$tmp/client" 2>&1 &
    until grep -q '^sent' "$tmp/client"; do sleep 0.005; done
  fi
  sleep 0.2
  t0=$(now_ns); kill -TERM $pid; wait $pid || true; t1=$(now_ns); pid=
  wait
  if [ "$grpc" = yes ]; then grep -v '^sent' "$tmp/client" >"$tmp/req-grpc"; fi
  last=$(cat "$tmp"/req-* | awk '$2 == "ok" {print $1}' | sort -n | tail -n 1)
  [ -n "$last" ] && echo $(((t1 - last) / 1000000)) >>"$tmp/after-$1"
  # The agent's own part: its sequence's end ("+Nms done:", from the signal) after the last answer; the rest
  # of the exit is the JVM's (its hooks, and up to 300 ms of waiting for threads blocked in native code).
  done_ms=$(grep -o '+[0-9]*ms done:' "$tmp/log" | grep -o '[0-9]*' || true)
  if [ -n "$last" ] && [ -n "$done_ms" ]; then echo $(((t0 + done_ms * 1000000 - last) / 1000000)) >>"$tmp/done-$1"; fi
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
  printf '  %-44s %12s %12s %12s\n' "$1" "$a" "$b" "$cmp"
}

echo "lameduck bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(java -version 2>&1 | head -1), reps=$reps, wrk ${seconds}s"
for app in "${apps[@]}"; do
  [ -f "test-apps/$app/target/app.jar" ] || { echo "bench: test-apps/$app/target/app.jar is missing" >&2; exit 2; }
  grpc=no; [[ $app == grpc* ]] && grpc=yes
  rm -f "$tmp"/*-with "$tmp"/*-without "$tmp/install"
  for ((r = 1; r <= reps; r++)); do
    # Which goes first alternates: whatever the machine does over a repetition weighs on both alike.
    modes=(without with); ((r % 2)) || modes=(with without)
    for mode in "${modes[@]}"; do
      start $mode
      measure_load_and_memory $mode
      stop_idle $mode
      busy $mode
      native_memory $mode
    done
    # Startups are cheap and noisy (+-50 ms here): two more of each per repetition.
    for mode in "${modes[@]}" "${modes[@]}"; do
      start $mode
      kill -KILL $pid; wait $pid 2>/dev/null || true; pid=
    done
  done
  echo "$app"
  printf '  %-44s %12s %12s %12s\n' "" "without" "with agent" "with/without"
  row "startup to first answer, ms" startup ratio
  row "startup, with - without, ms" startup delta
  row "throughput, requests/s (gRPC: RPCs/s)" rps ratio
  printf '  %-44s %s | %s\n' "  each run, without | with" "$(tr '\n' ' ' <"$tmp/rps-without")" "$(tr '\n' ' ' <"$tmp/rps-with")"
  row "RSS after load, MB" rss delta
  row "metaspace used, MB" meta delta
  row "memory outside the heap (NMT committed), MB" nmt delta
  row "idle SIGTERM -> exit, ms" idle delta
  row "busy: exit after last answer, ms" after delta
  row "busy: agent done after last answer, ms" done delta
  row "busy: failed of 20" failed delta
  printf '  %-44s %12s\n' "agent install in premain (its log line), ms" "$(median <"$tmp/install")"
done
