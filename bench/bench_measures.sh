#!/usr/bin/env bash
# Measures benchmark (issue 5 "Benchmark"): for each federation size, every
# measure end to end through the coordinator (incident_events, M1-M6, and any
# further aggregate measure the coordinator lists), with the nodes' token
# caches filled beforehand (not timed). Per measure it prints the client's
# wall time, the coordinator's peak memory (VmHWM, reset before the query),
# the coordinator's and all nodes' CPU seconds for the query, and the bytes
# the nodes put on the wire (TCP payload: TLS + HTTP/2 + protobuf, from
# `ss -ti` bytes_sent on each node's socket to the coordinator).
#
# usage: bench/bench_measures.sh [BUILD_DIR] [NODESxEVENTS_PER_NODE...]
#   default: build-bench 20x100000 100x20000
# env:   BENCH_MEASURES  measures to run (default: incident_events M1 M2 M3 M4 M5 M6,
#                        then M8 and M7 (alerts and a case history, asked by the first
#                        police node) when caselink-node has them)
#        BENCH_PERIODS   "FROM TO[;FROM TO...]" (default: the whole generated range, so
#                        every event is in the query)
#        BENCH_PERSONS   generate this many persons instead of NODES*EVENTS_PER_NODE events
#        BENCH_SEED      synth seed (default 1)
#        BENCH_TYPES     agency types per municipality (default: five types when the node
#                        count divides by 5, else police,social_services)
#        BENCH_MUNIS     municipality list for synth (default: the first NODES/TYPES of
#                        20 municipalities of equal weight in the generator's table,
#                        Latvian and Lithuanian alternating, so that nodes of one type
#                        hold about as many events; beyond 20, the generator's table;
#                        "all": every municipality, NODES is then only a label)
#        BENCH_YEARS     years of data (default 3)
#        BENCH_KEEP=1    keep the work folder
#        BENCH_ROOT=DIR  work folder (kept); a federation already set up and filled there
#                        for the same config is reused (its nodes restarted), e.g. to profile
#        BENCH_PERF=1    perf record -g on the coordinator during each query
#                        (FED_WORK/perf-MEASURE.data; see `perf report -i`)
#        BENCH_LABEL     name of the run in the result lines (default NODESxEVENTS)
#        BENCH_DEADLINE_MS coordinator's node deadline (default 120000)
# Exit status 1 when any query failed, lost a node or returned no rows.
# Each result line: config=... period=... measure=... seconds=... coord_peak_mib=... ok=1
# (node_peak_max_mib: the largest node's VmHWM during the query; nodes_rss_mib: all nodes'
# resident memory after it; coord_fds: the coordinator's open file descriptors)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
shift $(($# > 0 ? 1 : 0))
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(20x100000 100x20000)
case $build in /*) bin=$build/bin ;; *) bin=$PWD/$build/bin ;; esac
[ -x "$bin/caselink-coordinator" ] || { echo "no programs in $bin" >&2; exit 1; }
if [ -n "${BENCH_ROOT:-}" ]; then
  root=$BENCH_ROOT; BENCH_KEEP=1; mkdir -p "$root"
else
  root=$(mktemp -d "${TMPDIR:-/tmp}/caselink-bench-measures.XXXXXX")
fi
source scripts/lib/federation.sh
bench_cleanup() {
  if [ -n "${FED_WORK:-}" ]; then fed_stop >/dev/null 2>&1 || true; fi
  if [ -z "${BENCH_KEEP:-}" ]; then rm -rf "$root"; else echo "# kept $root" >&2; fi
}
trap bench_cleanup EXIT
trap 'exit 143' TERM # the EXIT trap runs on SIGTERM and SIGINT too
trap 'exit 130' INT

bench_now() { date +%s.%N; }
bench_sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }

# CPU seconds (user + system) of the processes whose pids are given.
bench_cpu() {
  local pid sum=0 t
  for pid in "$@"; do
    t=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    sum=$((sum + t))
  done
  awk -v t="$sum" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}

# "PORT BYTES_SENT" for every established TCP socket (local port, bytes sent).
bench_sockets() {
  ss -tinH state established 2>/dev/null | awk '
    /^[^ \t]/ { n = split($3, a, ":"); port = a[n]; next }
    { for (i = 1; i <= NF; i++) if ($i ~ /^bytes_sent:/) { split($i, b, ":"); print port, b[2] } }'
}

# The keyholder with limits that do not bite a benchmark's fill (fed_start_keyholder's
# defaults: 100 000 elements per node per minute).
bench_start_keyholder() {
  local data=$FED_WORK/keyholder
  "$FED_BIN/caselink" pki issue --ca "$FED_PKI" --name keyholder --role keyholder \
      --out "$FED_PKI" --loopback >/dev/null
  "$FED_BIN/caselink-keyholder" init --data "$data" >"$FED_WORK/logs/keyholder.init"
  {
    echo "listen: 127.0.0.1:0"
    echo "tls: {ca: pki/ca.pem, cert: pki/keyholder.pem, key: pki/keyholder.key, crl: pki/crl.pem}"
    echo "nodes: [$(IFS=,; echo "${FED_IDS[*]}")]"
    echo "rate_per_minute: 100000000"
    echo "daily_quota: 10000000000"
    echo "max_batch: 10000"
    echo "workers: 2"
  } >"$FED_WORK/keyholder.yaml"
  rm -f "$FED_WORK/run/keyholder.addr"
  "$FED_BIN/caselink-keyholder" serve --data "$data" --config "$FED_WORK/keyholder.yaml" \
      --foreground --ready-file "$FED_WORK/run/keyholder.addr" 2>>"$FED_WORK/logs/keyholder.log" &
  echo $! >"$FED_WORK/run/keyholder.pid"
  FED_KEYHOLDER=$(fed_wait_ready "$FED_WORK/run/keyholder.addr" "$(cat "$FED_WORK/run/keyholder.pid")")
}

# Every node's token cache, two nodes at a time (2 cores), batches of 10 000 elements.
bench_fill_tokens() {
  local id data
  for id in "${FED_IDS[@]}"; do
    data=$FED_WORK/nodes/$id
    grep -q '^keyholder:' "$data/node.yaml" || echo "keyholder: $FED_KEYHOLDER" >>"$data/node.yaml"
  done
  printf '%s\n' "${FED_IDS[@]}" | xargs -P 2 -I{} sh -c \
    '"$0/caselink-node" tokens --data "$1/nodes/$2" --config "$1/nodes/$2/node.yaml" --batch 10000 \
       >>"$1/logs/$2.tokens" 2>&1 || { echo "token fill of $2 failed" >&2; exit 255; }' \
    "$FED_BIN" "$FED_WORK" {}
}

bench_coord_pid() { cat "$FED_WORK/run/coordinator.pid"; }

bench_coord_stop() {
  local pid
  pid=$(bench_coord_pid)
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

bench_coord_start() {
  rm -f "$FED_WORK/run/coordinator.addr"
  "$FED_BIN/caselink-coordinator" serve --data "$FED_WORK/coordinator" \
      --config "$FED_WORK/coordinator.yaml" --foreground \
      --ready-file "$FED_WORK/run/coordinator.addr" 2>>"$FED_WORK/logs/coordinator.log" &
  echo $! >"$FED_WORK/run/coordinator.pid"
  FED_COORD=$(fed_wait_ready "$FED_WORK/run/coordinator.addr" "$(bench_coord_pid)")
}

# Runs one measure with a fresh coordinator; prints one result line.
bench_measure() {
  local cfg=$1 m=$2 from=$3 to=$4 out cpid t0 t1 c0 c1 n0 n1 ok rows cov hwm pid nodemem fds by=()
  local -a npids=()
  out=$FED_WORK/out-$m.csv
  bench_coord_stop
  bench_coord_start
  cpid=$(bench_coord_pid)
  # Warm-up: the coordinator dials every node (TLS) before the timed query.
  fed_query incident_events --from "$from" --to "$to" --format csv >/dev/null 2>&1 || true
  for id in "${FED_IDS[@]}"; do npids+=("$(cat "$FED_WORK/run/$id.pid")"); done
  bench_sockets >"$FED_WORK/sock0"
  echo 5 >"/proc/$cpid/clear_refs" # resets VmHWM to the current RSS
  for pid in "${npids[@]}"; do echo 5 >"/proc/$pid/clear_refs"; done
  # shellcheck disable=SC2054 # one --by value with commas
  [ "$m" = incident_events ] && by=(--by municipality,agency_type,quarter)
  c0=$(bench_cpu "$cpid"); n0=$(bench_cpu "${npids[@]}")
  local perf=
  if [ -n "${BENCH_PERF:-}" ]; then
    perf record -q -g -p "$cpid" -o "$FED_WORK/perf-$m.data" >/dev/null 2>&1 &
    perf=$!; sleep 0.5
  fi
  t0=$(bench_now)
  if [ "$m" = M7 ] || [ "$m" = M8 ]; then
    # Not aggregates: a case coordinator at the first police node asks with its certificate
    # (M8 as of the period's last day; M7 for the first person M8 named, else its first).
    local node=${FED_IDS[0]} asof lb=lv_interinstitutional_cooperation ref
    for id in "${FED_IDS[@]}"; do case $id in *police) node=$id; break ;; esac; done
    case $node in lt-*) lb=lt_domestic_violence_law ;; esac
    asof=$(date -u -d "$to -1 day" +%F)
    if [ "$m" = M8 ]; then
      "$FED_BIN/caselink-node" alerts --data "$FED_WORK/nodes/$node" --as-of "$asof" \
          --purpose marac_preparation --legal-basis "$lb" --coordinator "$FED_COORD" \
          --format csv >"$out" 2>"$out.err" && ok=1 || ok=0
    else
      ref=$(awk -F, 'NR > 1 && $1 !~ /^#/ && $1 != "person_ref" { print $1; exit }' \
            "$FED_WORK/out-M8.csv" 2>/dev/null || true)
      [ -n "$ref" ] || ref=$(awk -F, 'NR == 2 { print $1 }' "$FED_SRC/agencies/$node/persons.csv")
      "$FED_BIN/caselink-node" case-history --data "$FED_WORK/nodes/$node" "$ref" \
          --as-of "$asof" --purpose case_review --legal-basis "$lb" \
          --coordinator "$FED_COORD" --format csv >"$out" 2>"$out.err" && ok=1 || ok=0
    fi
  elif fed_query "$m" --from "$from" --to "$to" "${by[@]}" --format csv >"$out" 2>"$out.err"; then
    ok=1
  else
    ok=0
  fi
  t1=$(bench_now)
  if [ -n "$perf" ]; then kill -INT "$perf"; wait "$perf" || true; fi
  c1=$(bench_cpu "$cpid"); n1=$(bench_cpu "${npids[@]}")
  hwm=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$cpid/status")
  fds=$(find "/proc/$cpid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
  nodemem=$(for pid in "${npids[@]}"; do cat "/proc/$pid/status"; done | awk '
    /^VmHWM/ { if ($2 > mx) mx = $2 } /^VmRSS/ { s += $2 }
    END { printf "node_peak_max_mib=%.1f nodes_rss_mib=%.0f", mx / 1024, s / 1024 }')
  bench_sockets >"$FED_WORK/sock1"
  rows=$(grep -vc '^#' "$out" || true)
  cov=$(sed -n 's/^# coverage: \([0-9]*\) of \([0-9]*\).*/\1\/\2/p' "$out" | head -n 1)
  # Bytes each node sent during the query: node ports only, per connection delta.
  awk -v ports="$FED_WORK/ports" -v s0="$FED_WORK/sock0" '
    BEGIN { while ((getline l < ports) > 0) { split(l, a, " "); node[a[1]] = a[2] }
            while ((getline l < s0) > 0) { split(l, a, " "); before[a[1]] += a[2] } }
    ($1 in node) { after[$1] += $2 }
    END { for (p in node) { d = after[p] - before[p]; print (d < 0 ? 0 : d), node[p] } }' \
    "$FED_WORK/sock1" | sort -n >"$FED_WORK/wire-$m.txt"
  awk '{ v[++n] = $1; sum += $1 }
    END { printf "wire_total_mib=%.2f wire_per_node_kib_min=%.1f wire_per_node_kib_median=%.1f wire_per_node_kib_mean=%.1f wire_per_node_kib_max=%.1f",
                 sum / 1048576, v[1] / 1024, v[int((n + 1) / 2)] / 1024, n ? sum / n / 1024 : 0, v[n] / 1024 }' \
    "$FED_WORK/wire-$m.txt" >"$FED_WORK/wire"
  echo "config=$cfg period=$from/$to measure=$m seconds=$(bench_sub "$t1" "$t0")" \
       "coord_peak_mib=$hwm coord_cpu_s=$(bench_sub "$c1" "$c0") coord_fds=$fds" \
       "nodes_cpu_s=$(bench_sub "$n1" "$n0") $nodemem" \
       "$(cat "$FED_WORK/wire") rows=$rows coverage=${cov:-?} ok=$ok"
  [ "$ok" = 1 ] || sed 's/^/#   /' "$out.err" >&2
  if [ "$ok" != 1 ] || { [ "${m#M[78]}" = "$m" ] &&
    { [ "$rows" -lt 2 ] || [ "$cov" != "${#FED_IDS[@]}/${#FED_IDS[@]}" ]; }; }; then
    bench_failed=1
  fi
}

bench_failed=0
echo "# bench_measures: configs ${configs[*]}"
echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -m); load: $(cut -d' ' -f1-3 /proc/loadavg)"

all_munis=$root/all
"$bin/caselink" synth --out "$all_munis" --municipalities all --agency-types police \
    --persons 1 --no-truth 2>/dev/null
# weight 3 (about 30 000 inhabitants) each in tools/synth_names.c
equal_munis="tukums kaisiadorys ventspils raseiniai saldus vilkaviskis dobele rokiskis rezekne
  kelme kuldiga radviliskis talsi plunge aizkraukle salcininkai dienvidkurzeme trakai
  jelgavas-novads ukmerge"

for cfg in "${configs[@]}"; do
  nodes=${cfg%x*}; per=${cfg#*x}
  label=${BENCH_LABEL:-$cfg}
  types=${BENCH_TYPES:-}
  if [ -z "$types" ]; then
    if ((nodes % 5 == 0)); then types=police,social_services,ngo,health,probation
    else types=police,social_services; fi
  fi
  ntypes=$(awk -F, '{ print NF }' <<<"$types")
  if [ "${BENCH_MUNIS:-}" != all ] && ((nodes % ntypes != 0)); then
    echo "$nodes nodes do not divide into $ntypes types" >&2; exit 1
  fi
  if ((nodes / ntypes <= 20)); then
    munis=$(tr -s ' \n' '\n' <<<"$equal_munis" | grep . | head -n $((nodes / ntypes)) | paste -sd,)
  else
    munis=$(tail -n +2 "$all_munis/federation.csv" | cut -d, -f3 | head -n $((nodes / ntypes)) | paste -sd,)
  fi
  munis=${BENCH_MUNIS:-$munis}
  work=$root/$cfg
  if [ -f "$work/run/filled" ]; then
    FED_BIN=$bin; FED_SRC=$work/src; FED_WORK=$work/run; FED_PKI=$FED_WORK/pki; FED_IDS=()
    while IFS=, read -r id _; do [ "$id" = agency_id ] || FED_IDS+=("$id"); done <"$FED_SRC/federation.csv"
    events=$(tail -n +2 -q "$work"/src/agencies/*/events.csv | wc -l)
    echo "# $cfg: reusing the federation in $work"
  else
  rm -rf "$work"; mkdir -p "$work"
  t0=$(bench_now)
  # shellcheck disable=SC2046 # two words: the option and its value
  "$bin/caselink" synth --out "$work/src" --seed "${BENCH_SEED:-1}" --municipalities "$munis" \
      --agency-types "$types" $([ -n "${BENCH_PERSONS:-}" ] && echo "--persons $BENCH_PERSONS" ||
        echo "--events $((nodes * per))") --years "${BENCH_YEARS:-3}" --no-truth \
      2>"$work/synth.log"
  events=$(tail -n +2 -q "$work"/src/agencies/*/events.csv | wc -l)
  echo "# $cfg: $(cat "$work/synth.log") in $(bench_sub "$(bench_now)" "$t0") s; types $types"
  awk 'FNR > 1 { n[FILENAME]++ } END { for (f in n) { c++; s += n[f]; if (n[f] > mx) mx = n[f]; if (mn == "" || n[f] < mn) mn = n[f] }
       printf "# %s: events per node min %d mean %.0f max %d\n", "'"$cfg"'", mn, s / c, mx }' \
      "$work"/src/agencies/*/events.csv
  t0=$(bench_now)
  fed_setup "$bin" "$work/src" "$work/run"
  echo "# $cfg: PKI, init and import of ${#FED_IDS[@]} nodes in $(bench_sub "$(bench_now)" "$t0") s"
  t0=$(bench_now)
  bench_start_keyholder
  bench_fill_tokens
  echo "# $cfg: token caches filled in $(bench_sub "$(bench_now)" "$t0") s (not timed below)"
  kill -TERM "$(cat "$FED_WORK/run/keyholder.pid")"; rm -f "$FED_WORK/run/keyholder.pid"
  touch "$FED_WORK/filled"
  fi
  FED_DEADLINE_MS=${BENCH_DEADLINE_MS:-120000}
  export FED_DEADLINE_MS
  fed_start
  for id in "${FED_IDS[@]}"; do
    echo "$(cut -d: -f2 "$FED_WORK/run/$id.addr") $id"
  done >"$FED_WORK/ports"
  # default: the whole generated range (synth's end date 2026-06-30, BENCH_YEARS years back)
  periods=${BENCH_PERIODS:-$((2026 - ${BENCH_YEARS:-3}))-07-01 2026-07-01}
  measures=${BENCH_MEASURES:-}
  if [ -z "$measures" ]; then
    measures="incident_events M1 M2 M3 M4 M5 M6"
    # M8 before M7: the case history asks about a person the alerts named
    # (|| true: caselink-node without arguments exits non-zero, which pipefail would keep)
    if { "$bin/caselink-node" 2>&1 || true; } | grep -q alerts; then measures="$measures M8 M7"; fi
  fi
  echo "# $cfg: $events events on ${#FED_IDS[@]} nodes; ulimit -n $(ulimit -n)"
  IFS=';' read -ra plist <<<"$periods"
  for p in "${plist[@]}"; do
    read -r from to <<<"$p"
    echo "# $cfg: period [$from, $to), load $(cut -d' ' -f1-3 /proc/loadavg)"
    for m in $measures; do bench_measure "$label" "$m" "$from" "$to"; done
  done
  fed_stop
  FED_WORK=
  [ -n "${BENCH_KEEP:-}" ] || rm -rf "$work"
done
exit "$bench_failed"
