#!/bin/bash
# Runs a command (QEMU) and kills it when the JVM that started it is gone or its lifetime is over, so a guest
# never outlives a test run, even one whose JVM was killed outright (its shutdown hooks then never run).
#   qemu-guard.sh OWNER_PID MAX_SECONDS command [args...]      exit status: the command's (137 when killed)
set -u
owner=$1 max=$2; shift 2
"$@" &
child=$!
trap 'kill -9 $child 2>/dev/null; wait $child; exit 143' TERM INT HUP
deadline=$((SECONDS + max))
while kill -0 "$child" 2>/dev/null; do
  if ! kill -0 "$owner" 2>/dev/null; then
    echo "qemu-guard.sh: owner $owner is gone, killing $child" >&2; kill -9 "$child"; break
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "qemu-guard.sh: $child ran longer than $max s, killing it" >&2; kill -9 "$child"; break
  fi
  sleep 1 & wait $!   # wait (not a foreground sleep) so a TERM is handled at once
done
wait "$child"
