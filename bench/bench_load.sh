#!/usr/bin/env bash
# Load benchmark (issue 7): a 20-node federation on loopback (caselink synth, four
# municipalities, the first 20 agencies), keyholder and filled token caches, then
# bench_load: CLIENTS concurrent clients for SECONDS against the coordinator, a mix of
# incident_events and the linked measure M2 (one request in 10), the coordinator's
# RSS sampled every second. Prints bench_load's figures and the machine's load.
#
# usage: bench/bench_load.sh [BUILD_DIR] [CLIENTS] [SECONDS] [PERSONS]
#   defaults: build 100 60 4000; a smoke run: bench/bench_load.sh build 5 3 600
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
clients=${2:-100}
seconds=${3:-60}
persons=${4:-4000}
bin=$PWD/$build/bin
[ -x "$bin/bench_load" ] || { echo "bench_load: build $build first (target bench_load)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/caselink-bench-load.XXXXXX")
trap 'fed_stop >/dev/null 2>&1 || true; [ -n "${CASELINK_BENCH_KEEP:-}" ] || rm -rf "$work"' EXIT
trap 'exit 143' TERM # the EXIT trap runs on SIGTERM and SIGINT too
trap 'exit 130' INT
# shellcheck source=../scripts/lib/federation.sh
source scripts/lib/federation.sh

echo "# bench_load.sh: 20 nodes, $persons persons, $clients clients, ${seconds}s"
echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$bin/caselink" synth --out "$work/fed" --seed 11 --persons "$persons" \
    --municipalities liepaja,klaipeda,tukums,jelgava >/dev/null
# the first 20 of the 24 agencies
head -n 21 "$work/fed/federation.csv" >"$work/fed/federation.20" && mv "$work/fed/federation.20" "$work/fed/federation.csv"
export FED_DEADLINE_MS=${FED_DEADLINE_MS:-5000}
t0=$(date +%s)
fed_setup "$bin" "$work/fed" "$work/run"
fed_start_keyholder
fed_fill_tokens
fed_start
echo "# federation of ${#FED_IDS[@]} nodes ready in $(( $(date +%s) - t0 )) s (imports, token caches); node deadline ${FED_DEADLINE_MS} ms"
read -r from to _ < <(tail -n 1 "$work/fed/truth/expected/period.csv" | tr ',' ' ')
fed_query incident_events --from "$from" --to "$to" --format csv | grep -q "^# coverage: 20 of 20 nodes answered$" \
  || { echo "bench_load.sh: the federation does not answer in full" >&2; exit 1; }
cpid=$(cat "$FED_WORK/run/coordinator.pid")
( sleep $(( seconds / 2 )); echo "# load at half time: $(cut -d' ' -f1-3 /proc/loadavg)" ) &
half=$!
set +e
"$bin/bench_load" --coordinator "$FED_COORD" --tls-dir "$FED_PKI" --name national \
    --from "$from" --to "$to" --clients "$clients" --seconds "$seconds" --linked M2 \
    --linked-every 10 --pid "$cpid" --rss-log "$work/rss.log"
rc=$?
set -e
wait "$half"
echo "# coordinator RSS (KiB) per second: $(awk '{ printf "%s ", $2 }' "$work/rss.log")"
if [ "$rc" -ne 0 ]; then
  echo "# errors and warnings in the daemons' logs (first 5 distinct events per log):"
  for f in "$FED_WORK"/logs/*.log; do
    grep -h 'level=error\|level=warn' "$f" | sed 's/^[^ ]* //' | sort | uniq -c | sort -rn | head -n 5 \
      | sed "s|^|#   $(basename "$f" .log): |"
  done
fi
exit $rc
