#!/usr/bin/env bash
# A drain you can watch: starts the Jetty 12.1 test app with the agent, puts requests in flight, sends SIGTERM,
# and shows what each client saw. Needs only bash and the jars of `mvn -DskipTests package`.
set -euo pipefail
cd "$(dirname "$0")/.."
agent=agent/target/lameduck-agent.jar
app=${1:-test-apps/jetty-12.1/target/app.jar}
[ -f "$agent" ] && [ -f "$app" ] || { echo "build first: mvn -B -DskipTests package" >&2; exit 1; }

log=$(mktemp)
java -javaagent:"$agent"=delay=2s,drain=10s -jar "$app" 0 >"$log" 2>&1 &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -f "$log"' EXIT
until port=$(grep -o 'listening on [0-9]*' "$log" | grep -o '[0-9]*$'); do sleep 0.1; done
echo "== app pid $pid listening on :$port"

# One raw HTTP/1.1 request on its own connection (bash's /dev/tcp: no curl needed); prints status and Connection.
request() {
  local path=$1 label=$2
  if ! exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null; then
    echo "   $label GET $path -> connection refused"
    return
  fi
  printf 'GET %s HTTP/1.1\r\nHost: demo\r\n\r\n' "$path" >&$fd
  local head
  head=$(timeout 20 cat <&$fd | tr -d '\r' | grep -E '^HTTP/|^Connection:|^(ok|up|pool closed)$' | paste -sd' ' -)
  exec {fd}>&-
  echo "   $label GET $path -> ${head:-no answer}"
}

echo "== 3 slow requests in flight (3 s each), then SIGTERM"
for i in 1 2 3; do request "/work?ms=3000" "in-flight #$i" & done
sleep 0.5
kill -TERM $pid
sleep 0.5
echo "== during the 2 s lame duck a new client is still served, with Connection: close"
request /health "lame-duck"
sleep 2
echo "== after the delay, new connections are refused while the in-flight requests finish"
request /health "after-delay"
wait $pid && code=0 || code=$?
wait
echo "== exit code $code (143 = SIGTERM); the app's log:"
sed 's/^/   /' "$log"
