#!/bin/bash
# Prints the folder of the test guest image (vmlinux, initrd.img, root.img), building it first if the cache
# has none for this recipe. The cache key is a hash of every file in image/, so any change to the recipe
# builds a new image. Concurrent callers (several test JVMs) wait on a lock while one of them builds.
#   IMAGE=$(testbed/scripts/ensure-image.sh)
# env: USTOR_TESTBED_CACHE (default ${XDG_CACHE_HOME:-~/.cache}/ustor-testbed; outside the repository)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${USTOR_TESTBED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ustor-testbed}
KEY=$(cd "$HERE/image" && find . -type f | LC_ALL=C sort | while read -r f; do echo "$f"; cat "$f"; done | sha256sum | cut -c1-16)
OUT=$CACHE/guest-$KEY
mkdir -p "$CACHE"
if [ ! -s "$OUT/root.img" ]; then
  exec 9> "$CACHE/.lock"
  flock -w 3600 9 || { echo "ensure-image.sh: timed out waiting for $CACHE/.lock" >&2; exit 1; }
  if [ ! -s "$OUT/root.img" ]; then   # another process may have built it while we waited
    START=$(date +%s)
    TMP=$OUT.tmp.$$
    trap 'rm -rf "$TMP" "$TMP".rootfs.* "$TMP".initrd.*' EXIT
    rm -rf "$TMP"
    echo "ensure-image.sh: building the test guest image $OUT" >&2
    bash "$HERE/image/build-image.sh" "$TMP" "$CACHE/debs" >&2
    echo "build_seconds=$(( $(date +%s) - START ))" >> "$TMP/BUILD-INFO"
    mv "$TMP" "$OUT"
    trap - EXIT
    # images of older recipes that nobody used for a week
    find "$CACHE" -maxdepth 1 -name 'guest-*' -type d ! -name "guest-$KEY" -mtime +7 -exec rm -rf {} + 2>/dev/null || true
    echo "ensure-image.sh: built in $(( $(date +%s) - START )) s" >&2
  fi
  exec 9>&-
fi
touch "$OUT"   # marks the image as in use (old ones are pruned by age)
echo "$OUT"
