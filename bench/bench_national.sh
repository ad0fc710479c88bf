#!/usr/bin/env bash
# National scale benchmark (issue 7 item 6): Latvia's 43 and Lithuania's 60
# municipalities with police and social services each (206 nodes) on one
# machine, 10 years of data at Lithuanian volumes (about 40 000 police events a
# year; `--persons 136000` gives ~400 000 police events and ~580 000 in all),
# every measure end to end through one coordinator, for the whole 10 years and
# for the last full calendar year. Figures per measure as bench_measures.sh
# prints them (time, coordinator peak memory, CPU, bytes on the wire per node).
#
# usage: bench/bench_national.sh [BUILD_DIR] [PERSONS]
#   default: build-bench 136000
# Needs about 250 processes and 2 file descriptors per node at the coordinator;
# the coordinator's node deadline is 300 s (BENCH_DEADLINE_MS).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
persons=${2:-136000}
need=$((206 * 8 + 256))
if [ "$(ulimit -n)" != unlimited ] && (($(ulimit -n) < need)); then
  ulimit -n "$need" 2>/dev/null || { echo "ulimit -n $(ulimit -n) is below $need" >&2; exit 1; }
fi
echo "# bench_national: 103 municipalities x {police, social_services}, 10 years, $persons persons"
echo "# free memory before: $(free -m | awk '/Mem:/ { print $7 }') MiB available"
BENCH_MUNIS=all BENCH_TYPES=police,social_services BENCH_YEARS=10 BENCH_PERSONS=$persons \
  BENCH_LABEL=national BENCH_DEADLINE_MS=${BENCH_DEADLINE_MS:-300000} \
  BENCH_PERIODS=${BENCH_PERIODS:-"2016-07-01 2026-07-01;2025-01-01 2026-01-01"} \
  exec bench/bench_measures.sh "$build" 206x0
