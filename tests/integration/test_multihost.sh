#!/usr/bin/env bash
# Integration test: a federation spread over separate "hosts" — the keyholder,
# the coordinator, three nodes and a user each in its own network namespace
# with its own address in 10.77.0.0/24 (only inside namespaces this test
# creates, joined by a bridge in a further namespace; the host's own network
# is never touched). Every party dials the others by name (a per-namespace
# /etc/hosts from iproute2's /etc/netns mechanism), every connection is mutual
# TLS checked against the party's name, and the user's `caselink query
# incident_events` is compared with the generator's ground truth.
#
# Needs root with CAP_NET_ADMIN (tried with a throw-away namespace); exits 77
# (skipped) elsewhere. Every namespace, hosts file and process is removed on
# exit, also on failure. Every wait is bounded.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tmp=${CASELINK_TMP:?}
skip() { echo "SKIP: $*"; exit 77; }

command -v ip >/dev/null || skip "iproute2 (ip) is not installed"
[ "$(id -u)" -eq 0 ] || skip "needs root with CAP_NET_ADMIN for network namespaces"
tag=clmh$$
if ! ip netns add "${tag}probe" 2>/dev/null; then
  skip "cannot create network namespaces here (no CAP_NET_ADMIN)"
fi
if ! ip netns exec "${tag}probe" true 2>/dev/null; then
  ip netns del "${tag}probe" 2>/dev/null || true
  skip "cannot enter network namespaces here (ip netns exec failed)"
fi
ip netns del "${tag}probe"

# No proxy may divert the test's connections.
unset http_proxy https_proxy grpc_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY

work=$tmp/multihost.$$
rm -rf "$work"
mkdir -p "$work/logs" "$work/run"
pki=$work/pki

# The hosts: namespace suffix, party id (= host name = certificate name), address.
nodes=(lv-liepaja-police lt-klaipeda-health lv-tukums-ngo)
hosts=(kh coord n1 n2 n3 user)
declare -A host_id=([kh]=keyholder [coord]=coordinator [n1]=${nodes[0]} [n2]=${nodes[1]}
                    [n3]=${nodes[2]} [user]=national)
declare -A host_ip=([kh]=10.77.0.10 [coord]=10.77.0.20 [n1]=10.77.0.31 [n2]=10.77.0.32
                    [n3]=10.77.0.33 [user]=10.77.0.40)
sw=${tag}sw
created=()
pids=()
made_etc_netns=0
[ -d /etc/netns ] || made_etc_netns=1
declare -A pid_of

cleanup() {
  local pid ns
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  for ns in "${created[@]}"; do
    # anything still running inside a namespace this test made is this test's
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  if [ "$made_etc_netns" = 1 ]; then rmdir /etc/netns 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the network: a switch namespace with a bridge, one veth pair per host ----
ip netns add "$sw"
created+=("$sw")
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 up
ip -n "$sw" link set lo up
for h in "${hosts[@]}"; do
  ns=$tag$h
  ip netns add "$ns"
  created+=("$ns")
  ip -n "$sw" link add "p-$h" type veth peer name eth0 netns "$ns"
  ip -n "$sw" link set "p-$h" master br0 up
  ip -n "$ns" addr add "${host_ip[$h]}/24" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set lo up
done
# Names: every host gets the same hosts file (bind-mounted over /etc/hosts by `ip netns exec`).
hostsfile=$work/hosts
{
  echo "127.0.0.1 localhost"
  for h in "${hosts[@]}"; do echo "${host_ip[$h]} ${host_id[$h]}"; done
} >"$hostsfile"
for h in "${hosts[@]}"; do
  mkdir -p "/etc/netns/$tag$h"
  cp "$hostsfile" "/etc/netns/$tag$h/hosts"
done
on() { local h=$1; shift; ip netns exec "$tag$h" "$@"; }

on user ip -br addr show dev eth0 | grep -q "${host_ip[user]}/24" || fail "user host has no address"
pass "6 hosts on 10.77.0.0/24 behind a bridge, each with its own hosts file"

# ---- data, PKI (names and addresses in every certificate), stores ----
"$bin/caselink" synth --out "$work/fed" --seed 11 --persons 1000 >/dev/null
read -r from to _ < <(tail -n 1 "$work/fed/truth/expected/period.csv" | tr ',' ' ')
"$bin/caselink" pki init-ca --out "$pki" >/dev/null
declare -A host_role=([kh]=keyholder [coord]=coordinator [n1]=node [n2]=node [n3]=node
                      [user]=user)
for h in "${hosts[@]}"; do
  "$bin/caselink" pki issue --ca "$pki" --name "${host_id[$h]}" --role "${host_role[$h]}" \
      --dns "${host_id[$h]}" --ip "${host_ip[$h]}" --out "$pki" >/dev/null
done
openssl x509 -in "$pki/${nodes[0]}.pem" -noout -ext subjectAltName 2>/dev/null \
  | grep -q "IP Address:${host_ip[n1]}" || fail "node certificate lacks its address"

declare -A node_type node_muni node_country
while IFS=, read -r id type municipality country; do
  node_type[$id]=$type
  node_muni[$id]=${municipality//\"/}
  node_country[$id]=$country
done < <(tail -n +2 "$work/fed/federation.csv")
for id in "${nodes[@]}"; do
  [ -n "${node_type[$id]:-}" ] || fail "synth made no agency $id"
  "$bin/caselink-node" init --data "$work/$id" --agency "$id" --type "${node_type[$id]}" \
      --municipality "${node_muni[$id]}" --country "${node_country[$id]}" >/dev/null
  "$bin/caselink-node" import --data "$work/$id" \
      --persons "$work/fed/agencies/$id/persons.csv" \
      --events "$work/fed/agencies/$id/events.csv" >"$work/logs/$id.import" \
      || fail "import of $id failed: $(tail -n 3 "$work/logs/$id.import")"
done
"$bin/caselink-keyholder" init --data "$work/keyholder" >/dev/null

# ---- configurations: every address is a host name ----
tls() { echo "tls: {ca: $pki/ca.pem, cert: $pki/$1.pem, key: $pki/$1.key, crl: $pki/crl.pem}"; }
{
  echo "listen: ${host_ip[kh]}:7000"
  tls keyholder
  echo "nodes: [$(IFS=,; echo "${nodes[*]}")]"
} >"$work/keyholder.yaml"
i=0
for id in "${nodes[@]}"; do
  i=$((i + 1))
  {
    echo "listen: ${host_ip[n$i]}:7101"
    tls "$id"
    echo "coordinators: [coordinator]"
    echo "keyholder: keyholder:7000"
    echo "policy: $id-policy.yaml"
  } >"$work/$id.yaml"
done
# Policies on (scripts/lib/federation.sh's generator).
# shellcheck source=../../scripts/lib/federation.sh
source "$src/scripts/lib/federation.sh"
FED_IDS=("${nodes[@]}")
fed_policy federation >"$work/federation-policy.yaml"
for id in "${nodes[@]}"; do fed_policy node >"$work/$id-policy.yaml"; done
{
  echo "listen: ${host_ip[coord]}:7200"
  tls coordinator
  echo "policy: federation-policy.yaml"
  echo "deadline_ms: 4000"
  echo "nodes:"
  for id in "${nodes[@]}"; do
    echo "  - {id: $id, agency_type: ${node_type[$id]}, municipality: \"${node_muni[$id]}\"," \
         "country: ${node_country[$id]}, address: $id:7101}"
  done
} >"$work/coordinator.yaml"

# ---- start each party on its own host ----
wait_ready() {
  local f=$1 pid=$2 what=$3
  for _ in $(seq 1 150); do
    [ -s "$f" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "$what exited early: $(tail -n 5 "$work/logs/$what.log")"
    sleep 0.1
  done
  fail "$what not ready after 15 s"
}
start() {
  local h=$1 what=$2; shift 2
  ip netns exec "$tag$h" "$@" --foreground --ready-file "$work/run/$what.addr" \
      </dev/null >/dev/null 2>>"$work/logs/$what.log" &
  pids+=($!)
  pid_of[$what]=$!
  wait_ready "$work/run/$what.addr" "$!" "$what"
}
start kh keyholder "$bin/caselink-keyholder" serve --data "$work/keyholder" \
    --config "$work/keyholder.yaml"
i=0
for id in "${nodes[@]}"; do
  i=$((i + 1))
  start "n$i" "$id" "$bin/caselink-node" serve --data "$work/$id" --config "$work/$id.yaml"
done
start coord coordinator "$bin/caselink-coordinator" serve --data "$work/coordinator" \
    --config "$work/coordinator.yaml"
[ "$(cat "$work/run/coordinator.addr")" = "${host_ip[coord]}:7200" ] \
  || fail "coordinator serves on $(cat "$work/run/coordinator.addr")"
pass "keyholder, coordinator and 3 nodes serving, each on its own host"

# ---- the query, from the user's host, against ground truth ----
# Ground truth: the generator's M1 counts for the three agencies of this federation
# (one agency per municipality x agency type).
for id in "${nodes[@]}"; do echo "${node_muni[$id]},${node_type[$id]}"; done >"$work/cells"
awk -F, 'NR == FNR { want[$1 "," $2] = 1; next }
         $4 != "*" && $6 == "incident_events" && $7 > 0 && (($3 "," $4) in want) {
           print $3 "," $4 "," $5 "," $7 }' "$work/cells" "$work/fed/truth/expected/m1.csv" \
  | LC_ALL=C sort >"$work/expected.csv"
[ -s "$work/expected.csv" ] || fail "ground truth has no incident events for the three agencies"
query() {
  on user timeout 30 "$bin/caselink" query incident_events --from "$from" --to "$to" \
      --coordinator coordinator:7200 --tls-dir "$pki" --name national "$@"
}
query --by municipality,agency_type,quarter --format csv >"$work/answer.out" \
  || fail "query failed: $(cat "$work/answer.out")"
grep -q "^# coverage: 3 of 3 nodes answered$" "$work/answer.out" \
  || fail "coverage: $(grep '^#' "$work/answer.out")"
grep -v '^#' "$work/answer.out" | tail -n +2 | LC_ALL=C sort >"$work/answer.csv"
# Under disclosure control: equal in every published cell, counts of 1..4 suppressed.
it_released "$work/expected.csv" "$work/answer.csv" || fail "incident_events differs from ground truth"
pass "incident_events across hosts equals ground truth under disclosure control ($(wc -l <"$work/expected.csv") cells, $(grep -Ec ',suppressed( \(.*\))?$' "$work/answer.csv" || true) suppressed, 3 of 3 nodes)"

# ---- names are checked: the coordinator's certificate is not the keyholder's ----
if on user timeout 30 "$bin/caselink" query incident_events --from "$from" --to "$to" \
     --coordinator keyholder:7000 --tls-dir "$pki" --name national >/dev/null 2>"$work/err"; then
  fail "the user's query was answered by the keyholder's host"
fi
# Refused in the handshake (the name), not by the keyholder's gRPC server (a method it lacks).
if ! grep -qi "unavailable\|handshake\|connect" "$work/err" || grep -qi "unimplemented" "$work/err"; then
  fail "refusal of the wrong host is not a TLS name failure: $(cat "$work/err")"
fi
pass "a host whose certificate is not the coordinator's fails the handshake: $(head -c 100 "$work/err")"

# ---- Status RPCs across hosts with the containers' health check (python3-grpcio) ----
hc=$src/containers/healthcheck.py
if /usr/bin/python3 -c 'import grpc' 2>/dev/null; then
  out=$(on user /usr/bin/python3 "$hc" coordinator coordinator:7200 coordinator \
        "$pki/ca.pem" "$pki/national.pem" "$pki/national.key" --strict) \
    || fail "coordinator health: $out"
  echo "$out" | grep -q "party=coordinator role=coordinator .* ready=true" \
    || fail "coordinator status: $out"
  out=$(on n1 /usr/bin/python3 "$hc" keyholder keyholder:7000 keyholder \
        "$pki/ca.pem" "$pki/${nodes[0]}.pem" "$pki/${nodes[0]}.key" --strict) \
    || fail "keyholder health from a node: $out"
  echo "$out" | grep -q "party=keyholder .*key_epoch=1 ready=true" || fail "keyholder status: $out"
  i=0
  for id in "${nodes[@]}"; do
    i=$((i + 1))
    out=$(on coord /usr/bin/python3 "$hc" node "$id:7101" "$id" "$pki/ca.pem" \
          "$pki/coordinator.pem" "$pki/coordinator.key" --strict) || fail "$id health: $out"
    echo "$out" | grep -q "party=$id role=node" || fail "$id status: $out"
  done
  # Inside its own container a node can only show that it serves (Status is the coordinator's).
  out=$(on n2 /usr/bin/python3 "$hc" node "${host_ip[n2]}:7101" "${nodes[1]}" "$pki/ca.pem" \
        "$pki/${nodes[1]}.pem" "$pki/${nodes[1]}.key") || fail "node self check: $out"
  echo "$out" | grep -q "^serving: " || fail "node self check: $out"
  if on n2 /usr/bin/python3 "$hc" node "${host_ip[n2]}:7101" "${nodes[1]}" "$pki/ca.pem" \
       "$pki/${nodes[1]}.pem" "$pki/${nodes[1]}.key" --strict >/dev/null; then
    fail "--strict accepted a refused Status"
  fi
  # The wrong name: the coordinator's address with a node's name fails the handshake.
  if out=$(on user /usr/bin/python3 "$hc" coordinator coordinator:7200 "${nodes[0]}" \
           "$pki/ca.pem" "$pki/national.pem" "$pki/national.key" --timeout 3); then
    fail "health check passed against the wrong name: $out"
  fi
  echo "$out" | grep -q "UNAVAILABLE" || fail "wrong-name check: $out"
  pass "Status over mutual TLS: user->coordinator, node->keyholder, coordinator->nodes; wrong name refused"
else
  echo "skip: Status checks need python3-grpcio (scripts/deps)"
fi

# ---- a node host goes away: the answer states it ----
kill -KILL "${pid_of[${nodes[1]}]}"
wait "${pid_of[${nodes[1]}]}" 2>/dev/null || true
query --format csv >"$work/down.out" || fail "query with a node down failed"
grep -q "^# coverage: 2 of 3 nodes answered$" "$work/down.out" \
  || fail "coverage with a node down: $(grep '^#' "$work/down.out")"
grep -q "^#   failed: ${nodes[1]} (" "$work/down.out" || fail "downed node not listed"
pass "node host down: $(grep 'failed:' "$work/down.out")"

# ---- clean shutdown: every remaining daemon exits 0 on SIGTERM ----
for what in keyholder "${nodes[0]}" "${nodes[2]}" coordinator; do
  pid=${pid_of[$what]}
  kill -TERM "$pid"
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && fail "$what did not stop within 10 s of SIGTERM"
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 0 ] || fail "$what exited $status on SIGTERM"
done
pids=()
pass "every daemon stopped cleanly on SIGTERM"
rm -rf "$work"
echo "$passed passed, 0 failed"
