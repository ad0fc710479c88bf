#!/usr/bin/env bash
# Transport benchmark (issue: federation transport): p50/p99 latency of
# incident_events through the coordinator with 5, 20 and 100 nodes on
# loopback over mutual TLS, each node holding EVENTS events, and queries per
# second with 8 concurrent clients. Prints one line per run.
#
# usage: bench/bench_transport.sh [BUILD_DIR] [EVENTS_PER_NODE] [NODE_COUNTS...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
events=${2:-100000}
shift $(( $# > 2 ? 2 : $# ))
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(5 20 100)
bin=$PWD/$build/bin
work=$(mktemp -d "${TMPDIR:-/tmp}/caselink-bench-transport.XXXXXX")
trap 'fed_stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
trap 'exit 143' TERM # the EXIT trap runs on SIGTERM and SIGINT too
trap 'exit 130' INT
source scripts/lib/federation.sh

echo "# bench_transport: $events events per node, node counts: ${counts[*]}"
echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m)"

# One agency's export: persons and events spread over 5 municipalities and 2023-2025.
persons=$(( events / 5 ))
awk -v n="$persons" 'BEGIN { print "person_ref,sex"; for (i = 0; i < n; i++) printf "P%07d,F\n", i }' \
    >"$work/persons.csv"
awk -v n="$events" -v p="$persons" 'BEGIN {
  srand(1); split("police_callout crime_report medical_injury ngo_disclosure counselling intake", t, " ")
  split("Liepaja Tukums Riga Ventspils Jelgava", m, " ")
  print "event_ref,person_ref,event_type,occurred_at,role,municipality"
  for (i = 0; i < n; i++) {
    d = int(rand() * 1095); y = 2023 + int(d / 365); doy = d % 365
    mo = int(doy / 31) + 1; if (mo > 12) mo = 12; dd = doy % 28 + 1
    printf "E%08d,P%07d,%s,%04d-%02d-%02dT%02d:%02d,victim,%s\n", i, int(rand() * p), t[int(rand() * 6) + 1], y, mo, dd, int(rand() * 24), int(rand() * 60), m[int(rand() * 5) + 1]
  }
}' >"$work/events.csv"
"$bin/caselink-node" init --data "$work/template" --agency template --type police \
    --municipality Liepaja --country LV >/dev/null
t0=$(date +%s.%N)
"$bin/caselink-node" import --data "$work/template" --persons "$work/persons.csv" \
    --events "$work/events.csv" >/dev/null
echo "# template node imported in $(echo "$(date +%s.%N) - $t0" | bc) s"

for n in "${counts[@]}"; do
  fw=$work/fed-$n
  mkdir -p "$fw/src/agencies"
  echo "agency_id,agency_type,municipality,country" >"$fw/src/federation.csv"
  for i in $(seq 1 "$n"); do echo "bench-$i,police,Liepaja,LV"; done >>"$fw/src/federation.csv"
  # fed_setup imports per node; copying the template store is the same data, far faster.
  FED_BIN=$bin; FED_SRC=$fw/src; FED_WORK=$fw/run; FED_PKI=$FED_WORK/pki
  mkdir -p "$FED_WORK/logs" "$FED_WORK/run" "$FED_WORK/nodes"
  "$bin/caselink" pki init-ca --out "$FED_PKI" >/dev/null
  "$bin/caselink" pki issue --ca "$FED_PKI" --name coordinator --role coordinator --out "$FED_PKI" --loopback >/dev/null
  "$bin/caselink" pki issue --ca "$FED_PKI" --name national --role user --out "$FED_PKI" --loopback >/dev/null
  FED_IDS=()
  for i in $(seq 1 "$n"); do
    id=bench-$i; FED_IDS+=("$id"); d=$FED_WORK/nodes/$id
    "$bin/caselink" pki issue --ca "$FED_PKI" --name "$id" --role node --out "$FED_PKI" --loopback >/dev/null
    mkdir -p "$d"; chmod 700 "$d"
    sqlite3 "$work/template/node.db" ".backup '$d/node.db'"
    sqlite3 "$d/node.db" "UPDATE meta SET value='$id' WHERE key='agency_id'"
    printf 'listen: 127.0.0.1:0\ntls: {ca: ../../pki/ca.pem, cert: ../../pki/%s.pem, key: ../../pki/%s.key}\ncoordinators: [coordinator]\npolicy: policy.yaml\n' "$id" "$id" >"$d/node.yaml"
  done
  # Policies on, as in production (scripts/lib/federation.sh generates them).
  fed_policy federation >"$FED_WORK/federation-policy.yaml"
  for id in "${FED_IDS[@]}"; do fed_policy node >"$FED_WORK/nodes/$id/policy.yaml"; done
  FED_DEADLINE_MS=10000
  fed_start
  for c in 1 8; do
    req=$(( c == 1 ? 200 : 50 ))
    printf 'nodes=%d events_per_node=%d ' "$n" "$events"
    "$bin/bench_query" --coordinator "$FED_COORD" --tls-dir "$FED_PKI" --name national \
        --clients "$c" --requests "$req" --from 2024-01-01 --to 2025-01-01 \
        --by municipality,agency_type,quarter
  done
  fed_stop
  rm -rf "$fw"
done
