#!/usr/bin/env bash
# Shutdown timing, with and without the agent in one run, alternating:
#   idle: SIGTERM -> process exit, nothing in flight (delay=0)
#   busy: 20 requests ending at known times (0.5 s .. 1.45 s); how long after the last answer the process
#         exited, and how many of the 20 did not get 200 ok
# Usage: scripts/shutdown-timing.sh [reps] [app.jar]. Needs only bash and the jars of `mvn -DskipTests package`.
set -euo pipefail
cd "$(dirname "$0")/.."
reps=${1:-5}
app=${2:-test-apps/jetty-12.1/target/app.jar}
agent=agent/target/lameduck-agent.jar
[ -f "$agent" ] && [ -f "$app" ] || { echo "build first: mvn -B -DskipTests package" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s%N; }

start() { # $1 = with|without; sets pid, port
  local opts=()
  [ "$1" = with ] && opts=(-javaagent:"$agent"=delay=0)
  java "${opts[@]}" -jar "$app" 0 >"$tmp/log" 2>&1 &
  pid=$!
  until port=$(grep -o 'listening on [0-9]*' "$tmp/log" | grep -o '[0-9]*$'); do sleep 0.05; done
}

request() { # $1 = path, $2 = result file: "<end ns> <first line of body or error>"
  local fd answer
  if exec {fd}<>"/dev/tcp/127.0.0.1/$port"; then
    printf 'GET %s HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' "$1" >&$fd
    answer=$(timeout 30 cat <&$fd | tr -d '\r' | tail -n 1)
    exec {fd}>&-
  fi
  echo "$(now) ${answer:-no-answer}" >"$2"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2)}'; }

for ((r = 1; r <= reps; r++)); do
  for mode in without with; do
    start $mode
    t0=$(now); kill -TERM $pid; wait $pid || true; t1=$(now)
    echo $(((t1 - t0) / 1000000)) >>"$tmp/idle-$mode"
    [ $mode = with ] && grep -o 'installed: [^(]*([0-9]*' "$tmp/log" | grep -o '[0-9]*$' >>"$tmp/install"

    start $mode
    rm -f "$tmp"/req-*
    for i in $(seq 0 19); do request "/work?ms=$((500 + 50 * i))" "$tmp/req-$i" & done
    sleep 0.2
    kill -TERM $pid; wait $pid || true; t1=$(now)
    wait
    last=$(cat "$tmp"/req-* | awk '$2 == "ok" {print $1}' | sort -n | tail -n 1)
    failed=$(cat "$tmp"/req-* | awk '$2 != "ok"' | wc -l)
    echo "$failed" >>"$tmp/failed-$mode"
    [ -n "$last" ] && echo $(((t1 - last) / 1000000)) >>"$tmp/after-$mode"
  done
done

echo "shutdown timing, $reps repetitions, $(basename "$(dirname "$(dirname "$app")")"), $(java -version 2>&1 | head -1)"
printf '%-44s %10s %10s\n' "" "without" "with agent"
printf '%-44s %10s %10s\n' "idle SIGTERM -> exit, median ms" "$(median <"$tmp/idle-without")" "$(median <"$tmp/idle-with")"
printf '%-44s %10s %10s\n' "busy: failed of 20 requests, median" "$(median <"$tmp/failed-without")" "$(median <"$tmp/failed-with")"
printf '%-44s %10s %10s\n' "busy: exit after the last answer, median ms" "$( [ -s "$tmp/after-without" ] && median <"$tmp/after-without" || echo n/a)" "$(median <"$tmp/after-with")"
printf '%-44s %10s %10s\n' "agent install time (its log line), median ms" "" "$(median <"$tmp/install")"
