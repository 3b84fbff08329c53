#!/usr/bin/env bash
# Runs ustor's JMH benchmarks (perf/src/main/java/io/ustor/perf/jmh) with JDK 25; arguments go to JMH, e.g.
#   perf/bench/jmh.sh -prof gc                          # everything, with allocation per operation
#   perf/bench/jmh.sh -prof gc BdevSubmitBench -p bdev=null
#   perf/bench/jmh.sh -l                                # list the benchmarks
# Build first: bin/mvn -B -q -pl perf -am package -DskipTests
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/bin/jdk25.sh"
target="$root/perf/target"
jar=$(ls "$target"/ustor-perf-*.jar 2>/dev/null | grep -v -e sources -e tests | head -n1 || true)
if [ -z "$jar" ] || [ ! -d "$target/lib" ]; then
  echo "jmh: perf is not built; run: $root/bin/mvn -B -q -pl perf -am package -DskipTests" >&2
  exit 1
fi
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$jar:$target/lib/*" org.openjdk.jmh.Main "$@"
