# Sourced by ustor's launchers: sets JAVA_HOME to a JDK 25 or newer, or explains how to get one.
ustor_find_jdk() {
  local candidates=() c v
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for c in /usr/lib/jvm/temurin-25* /usr/lib/jvm/*-25* /usr/lib/jvm/*25* /usr/lib/jvm/*; do [ -d "$c" ] && candidates+=("$c"); done
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] || continue
    v=$("$c/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
    if [ -n "$v" ] && [ "${v%%.*}" -ge 25 ] 2>/dev/null; then export JAVA_HOME="$c"; return 0; fi
  done
  echo "ustor needs JDK 25 or newer (java.lang.foreign). Install one (Debian: apt-get install temurin-25-jdk from Adoptium, or unpack a JDK 25) and set JAVA_HOME to it." >&2
  return 1
}
ustor_find_jdk || exit 1
