#!/usr/bin/env bash
# Times a clean build of everything (library, tool, tests, benchmarks, examples; the
# sanitizer builds are ctest jobs, not part of it) from a clean clone of HEAD, without
# ccache, and appends one JSON line to bench/RESULTS-build.jsonl.
#   bench/build_time.sh [cmake options...]     e.g. -DKILN_UNITY_BUILD=OFF for the file-by-file build
# Leave the machine otherwise idle: the wall time is the figure.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$root" "$work/src"
commit=$(git -C "$work/src" rev-parse --short HEAD)
dirty=$(git -C "$root" status --porcelain --untracked-files=no | wc -l)
cmake -S "$work/src" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >"$work/configure.log"
load=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o "$work/cpu" cmake --build "$work/build" --parallel "$(nproc)" >"$work/build.log"
end=$(date +%s.%N)
read -r user sys <"$work/cpu"
steps=$(grep -c '^\[' "$work/build.log" || true)
line=$(printf '{"commit": "%s", "uncommitted_changes": %s, "options": "%s", "cores": %s, "steps": %s, "wall_s": %.1f, "user_s": %s, "sys_s": %s, "load_before": "%s", "date": "%s"}' \
  "$commit" "$dirty" "$*" "$(nproc)" "$steps" "$(awk -v a="$start" -v b="$end" 'BEGIN{print b-a}')" "$user" "$sys" \
  "$load" "$(date -u +%FT%TZ)")
echo "$line" | tee -a "$root/bench/RESULTS-build.jsonl"
