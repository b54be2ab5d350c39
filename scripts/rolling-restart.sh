#!/usr/bin/env bash
# A rolling restart the way Kubernetes does it, behind a real load balancer, under real load; once without the
# agent and once with it, side by side.
#
#   two instances of an app on loopback behind HAProxy (no retries, like kube-proxy), wrk driving keep-alive
#   load through HAProxy; each instance in turn: SIGTERM, and only 1 s later it is taken out of HAProxy (runtime
#   API, as an endpoints update arrives late), then its replacement is started on the same port and put back.
#
# Usage: scripts/rolling-restart.sh [--immediate] [app.jar ...]   (default: the Jetty 12.1 test app)
# Prints, per app and mode: requests, failed (non-2xx + socket errors), each instance's SIGTERM -> exit time, and
# the run's requests/s and p99 latency. --immediate adds a third mode: the agent with delay.close=immediate (every
# connection told at the lame duck's start), beside the default gradual close (issue 20).
# Needs haproxy and wrk (apt-get install -y haproxy wrk) and the jars of `mvn -DskipTests package`.
set -euo pipefail
cd "$(dirname "$0")/.."
agent=$PWD/agent/target/lameduck-agent.jar
modes=(without with)
if [ "${1:-}" = --immediate ]; then
  modes+=(immediate)
  shift
fi
apps=("$@")
[ ${#apps[@]} -gt 0 ] || apps=(test-apps/jetty-12.1/target/app.jar)
for tool in haproxy wrk; do
  command -v $tool >/dev/null || { echo "rolling-restart: $tool is missing (apt-get install -y haproxy wrk)" >&2; exit 2; }
done
[ -f "$agent" ] || { echo "rolling-restart: build first: mvn -B -DskipTests package" >&2; exit 2; }

# The agent's lame duck must outlast the load balancer's lag (1 s here, seconds in a cluster).
lb_lag=1
agent_options="delay=2s,drain=10s"
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}" ${haproxy_pid:-}; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

free_port() { # a port nothing listens on
  local p
  while :; do
    p=$((20000 + RANDOM % 40000))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo $p; return; }
  done
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

start_instance() { # $1 = name, $2 = port, $3 = with|without; sets the instance's pid in $started
  local opts=()
  [ "$3" = with ] && opts=("-javaagent:$agent=$agent_options")
  [ "$3" = immediate ] && opts=("-javaagent:$agent=$agent_options,delay.close=immediate")
  java "${opts[@]}" -jar "$app" "$2" >"$tmp/$1.log" 2>&1 &
  started=$!
  pids+=("$started")
  for _ in $(seq 1 600); do
    grep -q "listening on" "$tmp/$1.log" && return 0
    kill -0 "$started" 2>/dev/null || break
    sleep 0.05
  done
  echo "rolling-restart: $1 did not start; its output:" >&2
  cat "$tmp/$1.log" >&2
  exit 1
}

exited_at() { # $1 = pid of a child of the main shell: prints when it ended (a zombie until reaped)
  while [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; do sleep 0.01; done
  now_ms
}

lb() { # one command on HAProxy's runtime API
  exec {api}<>"/dev/tcp/127.0.0.1/$api_port"
  echo "$1" >&$api
  cat <&$api >/dev/null
  exec {api}>&-
}

run() { # $1 = without|with|immediate; prints "requests failed exit_a exit_b requests/s p99_ms"
  local mode=$1 port_a port_b lb_port
  port_a=$(free_port); port_b=$(free_port); lb_port=$(free_port); api_port=$(free_port)
  cat >"$tmp/haproxy.cfg" <<EOF
global
  stats socket ipv4@127.0.0.1:$api_port level admin
defaults
  mode http
  retries 0
  timeout connect 2s
  timeout client 30s
  timeout server 30s
frontend web
  bind 127.0.0.1:$lb_port
  default_backend app
backend app
  balance roundrobin
  server a 127.0.0.1:$port_a
  server b 127.0.0.1:$port_b
EOF
  start_instance a "$port_a" "$mode"; pid_a=$started
  start_instance b "$port_b" "$mode"; pid_b=$started
  haproxy -f "$tmp/haproxy.cfg" -db >"$tmp/haproxy.log" 2>&1 &
  haproxy_pid=$!
  sleep 0.5

  wrk -t2 -c20 -d14s --latency "http://127.0.0.1:$lb_port/work?ms=10" >"$tmp/wrk-$mode.txt" 2>&1 &
  local wrk_pid=$!
  sleep 2
  local exits=()
  for instance in a b; do
    local pid port
    if [ $instance = a ]; then pid=$pid_a; port=$port_a; else pid=$pid_b; port=$port_b; fi
    local t0; t0=$(now_ms)
    kill -TERM "$pid"
    exited_at "$pid" >"$tmp/exit-$instance" &
    sleep $lb_lag
    lb "disable server app/$instance"
    wait "$pid" 2>/dev/null || true
    wait $! 2>/dev/null || true
    exits+=($(($(cat "$tmp/exit-$instance") - t0)))
    start_instance "$instance-new" "$port" "$mode"
    lb "enable server app/$instance"
    sleep 1
  done
  wait $wrk_pid || true
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  kill -TERM $haproxy_pid 2>/dev/null || true
  wait $haproxy_pid 2>/dev/null || true
  pids=(); haproxy_pid=

  local requests non2xx socket rps p99
  requests=$(awk '/requests in/ {print $1}' "$tmp/wrk-$mode.txt")
  non2xx=$(awk '/Non-2xx/ {print $NF}' "$tmp/wrk-$mode.txt")
  socket=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$tmp/wrk-$mode.txt")
  rps=$(awk '/Requests\/sec/ {printf "%d", $2}' "$tmp/wrk-$mode.txt")
  p99=$(awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
             /^ +99%/ {printf "%.1f", ms($2)}' "$tmp/wrk-$mode.txt")
  echo "${requests:-0} $((${non2xx:-0} + ${socket:-0})) ${exits[0]} ${exits[1]} ${rps:-0} ${p99:-?}"
}

printf '%-22s %-9s %10s %8s %12s %12s %9s %9s\n' "app" "agent" "requests" "failed" "exit a (ms)" "exit b (ms)" "req/s" "p99 (ms)"
for app in "${apps[@]}"; do
  [ -f "$app" ] || { echo "rolling-restart: $app is missing: mvn -B -DskipTests package" >&2; exit 2; }
  name=$(basename "$(dirname "$(dirname "$app")")")
  for mode in "${modes[@]}"; do
    run $mode >"$tmp/result"
    read -r requests failed exit_a exit_b rps p99 <"$tmp/result"
    printf '%-22s %-9s %10s %8s %12s %12s %9s %9s\n' "$name" "$mode" "$requests" "$failed" "$exit_a" "$exit_b" "$rps" "$p99"
  done
done
