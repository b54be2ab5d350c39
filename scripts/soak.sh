#!/usr/bin/env bash
# Soak: many consecutive shutdowns with the agent, across servers and triggers, counting what must never happen.
# Each cycle starts the next app (round robin) with the agent, puts a request in flight (HTTP apps), then ends the
# JVM the next way: SIGTERM (expects 143), SIGINT (130), or System.exit(n) from a request (n; HTTP apps only,
# gRPC apps get SIGTERM instead). Counted: hangs (alive 20 s after the trigger; killed), wrong exit codes, and
# in-flight requests that did not get their 200.
# Usage: scripts/soak.sh [--cycles N] [--java PATH] [--no-agent] [app ...]   (apps: folders of test-apps/, built with
#        mvn -B -DskipTests package; default: jetty-12.1 tomcat-11 undertow-2.3 grpc-1.85). Exit status 1 if any
#        hang, wrong code or lost request. --no-agent: the same cycles without the agent, for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=200
java=java
agent_opts=(-javaagent:agent/target/lameduck-agent.jar=delay=200ms,drain=5s,grace=15s)
apps=()
while [ $# -gt 0 ]; do
  case "$1" in
    --cycles) cycles=$2; shift 2 ;;
    --java) java=$2; shift 2 ;;
    --no-agent) agent_opts=(); shift ;;
    *) apps+=("$1"); shift ;;
  esac
done
[ ${#apps[@]} -gt 0 ] || apps=(jetty-12.1 tomcat-11 undertow-2.3 grpc-1.85)
agent=agent/target/lameduck-agent.jar
for a in "${apps[@]}"; do
  [ -f "test-apps/$a/target/app.jar" ] || { echo "test-apps/$a/target/app.jar missing: mvn -B -DskipTests package" >&2; exit 2; }
done
[ -f "$agent" ] || { echo "$agent missing: mvn -B -DskipTests package" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now() { date +%s%N; }

request() { # $1 = method, $2 = path, $3 = result file (first line of the answer's body, or no-answer)
  local fd answer=""
  if exec {fd}<>"/dev/tcp/127.0.0.1/$port"; then
    printf '%s %s HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n' "$1" "$2" >&$fd
    answer=$(timeout 30 cat <&$fd | tr -d '\r' | tail -n 1) || true
    exec {fd}>&- || true
  fi
  echo "${answer:-no-answer}" >"$3"
}

hangs=0 wrong=0 lost=0 startfail=0
: >"$tmp/times"
triggers=(TERM INT exit)
for ((i = 0; i < cycles; i++)); do
  app=${apps[$((i % ${#apps[@]}))]}
  trigger=${triggers[$((i % 3))]}
  [[ $app == grpc* && $trigger == exit ]] && trigger=TERM
  code=$((3 + i % 50))
  case $trigger in TERM) expect=143 ;; INT) expect=130 ;; exit) expect=$code ;; esac

  # SIGINT is ignored in background jobs of a non-interactive shell (NOTES.md, pitfall 6): reset it, then exec.
  perl -e '$SIG{INT} = "DEFAULT"; exec @ARGV or die $!' "$java" "${agent_opts[@]}" -jar "test-apps/$app/target/app.jar" 0 >"$tmp/log" 2>&1 &
  pid=$!
  port=""
  for ((w = 0; w < 600; w++)); do
    port=$(grep -o 'listening on [0-9]*' "$tmp/log" | grep -o '[0-9]*$' || true)
    [ -n "$port" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$port" ]; then
    startfail=$((startfail + 1)); echo "cycle $i $app: did not start"; sed 's/^/  | /' "$tmp/log" | tail -5
    kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; continue
  fi

  rm -f "$tmp/inflight"
  [[ $app != grpc* ]] && { request GET "/work?ms=300" "$tmp/inflight" & }
  sleep 0.1
  t0=$(now)
  case $trigger in
    TERM|INT) kill -$trigger $pid ;;
    exit) request POST "/exit?code=$code" "$tmp/exit" & ;;
  esac
  for ((w = 0; w < 200 && $(kill -0 $pid 2>/dev/null && echo 1 || echo 0); w++)); do sleep 0.1; done
  if kill -0 $pid 2>/dev/null; then
    hangs=$((hangs + 1)); echo "cycle $i $app $trigger: still alive after 20 s (hang)"; sed 's/^/  | /' "$tmp/log" | tail -20
    kill -9 $pid
  fi
  status=0; wait $pid || status=$?
  echo $((($(now) - t0) / 1000000)) >>"$tmp/times"
  wait # the requests
  if [ "$status" != "$expect" ]; then
    wrong=$((wrong + 1)); echo "cycle $i $app $trigger: exit $status, expected $expect"; sed 's/^/  | /' "$tmp/log" | tail -20
  fi
  if [ -f "$tmp/inflight" ] && [ "$(cat "$tmp/inflight")" != ok ]; then
    lost=$((lost + 1)); echo "cycle $i $app $trigger: the request in flight got '$(cat "$tmp/inflight")'"; sed 's/^/  | /' "$tmp/log" | tail -20
  fi
done

read -r median max < <(sort -n "$tmp/times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[NR]}')
echo "soak: cycles=$cycles $([ ${#agent_opts[@]} -eq 0 ] && echo "WITHOUT the agent" || echo "with the agent") apps=${apps[*]} java=$("$java" -version 2>&1 | head -1 | tr -d '"')"
echo "soak: hangs=$hangs wrong-exit=$wrong lost=$lost start-failures=$startfail trigger->exit median=${median}ms max=${max}ms"
[ $((hangs + wrong + lost + startfail)) -eq 0 ]
