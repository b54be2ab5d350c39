#!/usr/bin/env bash
# Where the agent's startup cost goes: one app started to its "listening on" line under a ladder of agents, each
# adding one step, alternating, medians. The floor is the JVM's own: an agent whose premain only registers a
# transformer that changes nothing (every class load then passes through it, and the JVM must read the bytes of
# each class it takes from its CDS archive to show them to it).
#
#   none          no agent
#   empty         an agent whose premain does nothing
#   noop          an agent whose premain registers a transformer that returns null (built here with javac)
#   bare          lameduck with nothing to weave (servers=grpc, exit=false: an app without gRPC)
#   exit          lameduck weaving Runtime.exit only (servers=grpc)
#   full          lameduck as installed by default (the app's server woven and prepared at its start)
#
# Usage: scripts/startup-steps.sh [--reps N] [app]   (default: --reps 15 undertow-2.3; jars of mvn -DskipTests package)
set -euo pipefail
cd "$(dirname "$0")/.."
reps=15
app=undertow-2.3
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) reps=$2; shift 2 ;;
    *) app=$1; shift ;;
  esac
done
agent=$PWD/agent/target/lameduck-agent.jar
jar=test-apps/$app/target/app.jar
[ -f "$agent" ] && [ -f "$jar" ] || { echo "build first: mvn -B -DskipTests package" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/src" "$tmp/classes"
cat >"$tmp/src/Noop.java" <<'EOF'
import java.lang.instrument.ClassFileTransformer;
import java.lang.instrument.Instrumentation;
import java.security.ProtectionDomain;

public class Noop {
    public static void premain(String args, Instrumentation instrumentation) {
        if ("noop".equals(args)) {
            instrumentation.addTransformer(new ClassFileTransformer() {
                @Override
                public byte[] transform(ClassLoader l, String n, Class<?> c, ProtectionDomain d, byte[] b) {
                    return null;
                }
            }, true);
        }
    }
}
EOF
javac -d "$tmp/classes" "$tmp/src/Noop.java"
printf 'Premain-Class: Noop\nCan-Retransform-Classes: true\n' >"$tmp/manifest"
jar cfm "$tmp/noop.jar" "$tmp/manifest" -C "$tmp/classes" .

declare -A opts=(
  [none]=""
  [empty]="-javaagent:$tmp/noop.jar"
  [noop]="-javaagent:$tmp/noop.jar=noop"
  [bare]="-javaagent:$agent=delay=0,servers=grpc,exit=false"
  [exit]="-javaagent:$agent=delay=0,servers=grpc"
  [full]="-javaagent:$agent=delay=0"
)
steps=(none empty noop bare exit full)

started() { # $@ = JVM options: ms from the JVM's start to the app's "listening on" line
  local t0 pid
  : >"$tmp/log"
  t0=$(date +%s%N)
  java "$@" -jar "$jar" 0 >"$tmp/log" 2>&1 &
  pid=$!
  until grep -q 'listening on' "$tmp/log"; do
    kill -0 $pid 2>/dev/null || { cat "$tmp/log" >&2; exit 1; }
    sleep 0.002
  done
  echo $((($(date +%s%N) - t0) / 1000000))
  kill -KILL $pid; wait $pid 2>/dev/null || true
}

for ((r = 0; r < reps; r++)); do
  for s in "${steps[@]}"; do
    # shellcheck disable=SC2086
    started ${opts[$s]} >>"$tmp/$s"
  done
done

echo "startup steps: $app, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(java -version 2>&1 | head -1), reps=$reps (to 'listening on', medians)"
base=
for s in "${steps[@]}"; do
  m=$(sort -n "$tmp/$s" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  [ -n "$base" ] || base=$m
  printf '  %-6s %6s ms  %+5d ms  x %.3f\n' "$s" "$m" $((m - base)) "$(awk -v a="$base" -v b="$m" 'BEGIN {print b / a}')"
done
