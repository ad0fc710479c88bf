#!/usr/bin/env bash
# Integration test: a generated federation on loopback as real processes —
# one node per agency and a coordinator, all over mutual TLS. Checks the
# incident_events query against the generator's ground truth, the refusals
# of wrong certificates, and a node killed and restarted mid-service.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init federation
FED_DEADLINE_MS=3000
it_federation --seed 5 --persons 800
fed_start_keyholder
fed_fill_tokens
fed_start

# Ground truth: the generator's M1 incident-event counts per municipality x agency type x quarter.
expected() {
  awk -F, '$4 != "*" && $6 == "incident_events" && $7 > 0 { print $3 "," $4 "," $5 "," $7 }' \
      "$work/fed/truth/expected/m1.csv" | LC_ALL=C sort
}
answer() {
  fed_query incident_events --from "$from" --to "$to" --by municipality,agency_type,quarter \
      --format csv | grep -v '^#' | tail -n +2 | LC_ALL=C sort
}
expected >"$work/expected.csv"
[ -s "$work/expected.csv" ] || fail "ground truth has no incident events"
answer >"$work/answer.csv"
it_released "$work/expected.csv" "$work/answer.csv" || fail "incident_events differs from ground truth"
pass "incident_events equals ground truth ($(wc -l <"$work/expected.csv") cells)"

# Linked measures: nodes send per-query tokens, the coordinator links and computes.
# Cells that do not depend on linkage must equal the ground truth exactly; the
# others may differ by linkage errors only (a few percent here).
linked() { # MEASURE -> "key,...,metric,value" lines, sorted
  fed_query "$1" --from "$from" --to "$to" --format csv | grep -v '^#' | tail -n +2 | LC_ALL=C sort
}
truth() { # FILE -> the same lines from the expected answers
  cut -d, -f3- "$work/fed/truth/expected/$1" | tail -n +2 | LC_ALL=C sort
}
linked M1 >"$work/m1.csv"
truth m1.csv >"$work/m1.truth"
it_released <(grep ',incident_events,' "$work/m1.truth" | grep -v '^\*' | awk -F, '$NF > 0') \
     <(grep ',incident_events,' "$work/m1.csv" | grep -v '^\*' | awk -F, '$NF != 0') \
  || fail "M1 incident_events (independent of linkage) differs from ground truth"
linked M3 >"$work/m3.csv"
it_released <(truth m3.csv | grep ',referrals,') <(grep ',referrals,' "$work/m3.csv") \
  || fail "M3 referrals (independent of linkage) differ from ground truth"
within() { # NAME EXPECTED GOT PERCENT
  awk -v e="$2" -v g="$3" -v p="$4" 'BEGIN { d = e - g; if (d < 0) d = -d; exit !(e > 0 && d * 100 <= e * p) }' \
    || fail "$1: $3 is not within $4% of the ground truth $2"
}
exp_v=$(truth m2.csv | grep '^\*,victims,' | cut -d, -f3)
got_v=$(linked M2 | grep '^\*,victims,' | cut -d, -f3)
within "M2 victims" "$exp_v" "$got_v" 10
exp_c=$(truth m6.csv | grep '^\*,\*,\*,children,' | cut -d, -f5)
got_c=$(linked M6 | grep '^\*,\*,\*,children,' | cut -d, -f5)
within "M6 children" "$exp_c" "$got_c" 10
# M4: the headline victims and those with any support against the ground truth (linkage
# errors only), every share the ratio of the answer's own counts; M5: the same cells as the
# truth, each released one equal to it and every small one suppressed.
linked M4 >"$work/m4.csv"
exp_m4v=$(truth m4.csv | grep '^\*,any,victims,' | cut -d, -f4)
got_m4v=$(grep '^\*,any,victims,' "$work/m4.csv" | cut -d, -f4)
exp_m4s=$(truth m4.csv | grep '^\*,any,with_support,' | cut -d, -f4)
got_m4s=$(grep '^\*,any,with_support,' "$work/m4.csv" | cut -d, -f4)
within "M4 victims" "$exp_m4v" "$got_m4v" 10
within "M4 with any support" "$exp_m4s" "$got_m4s" 10
awk -F, '{ k = $1 "," $2; v[k, $3] = $4; keys[k] = 1 }
  END { for (k in keys) {
          if (v[k, "share"] == "" || v[k, "share"] ~ /^suppressed/ || v[k, "victims"] ~ /^suppressed/ ||
              v[k, "with_support"] ~ /^suppressed/) continue
          n++; r = v[k, "victims"] > 0 ? v[k, "with_support"] / v[k, "victims"] : 0
          d = r - v[k, "share"]; if (d < 0) d = -d
          if (d > 0.000001 || v[k, "with_support"] > v[k, "victims"]) { print "inconsistent: " k; bad = 1 } }
        if (n < 1) { print "no released share"; bad = 1 }
        exit bad }' "$work/m4.csv" || fail "M4 shares are not the ratio of the released counts"
linked M5 >"$work/m5.csv"
it_released <(truth m5.csv) "$work/m5.csv" 0 || fail "M5 differs from ground truth"
# The period's programme cells are all small: M5 again over the generated data's whole span
# (the generator's defaults, 3 years to 2026-06-30), its truth from caselink truth, where the
# perpetrators of both outcomes are released.
"$bin/caselink" truth --data "$work/fed" --from 2023-07-01 --to 2026-06-30 --out "$work/truth3" \
  >/dev/null || fail "caselink truth over the whole span"
fed_query M5 --from 2023-07-01 --to 2026-06-30 --format csv | grep -v '^#' | tail -n +2 \
  | LC_ALL=C sort >"$work/m5long.csv"
it_released <(tail -n +2 "$work/truth3/m5.csv" | cut -d, -f3- | LC_ALL=C sort) "$work/m5long.csv" 2 \
  || fail "M5 over the whole span differs from ground truth"
pass "M4 victims $got_m4v (truth $exp_m4v), with support $got_m4s (truth $exp_m4s), shares consistent; M5 as the ground truth ($(grep -vc suppressed "$work/m5.csv") cells released; over 3 years $(grep -vc suppressed "$work/m5long.csv"))"
pass "linked M1-M6 through the federation: M1 and M3 exact, M2 victims $got_v (truth $exp_v), M6 children $got_c (truth $exp_c)"

out=$(fed_query incident_events --from "$from" --to "$to" --format csv)
grep -q "^# coverage: ${#FED_IDS[@]} of ${#FED_IDS[@]} nodes answered$" <<<"$out" \
  || fail "coverage line missing: $out"
pass "coverage: all ${#FED_IDS[@]} nodes answered"

# Interop: the same query through gRPC's own Python stack (Debian python3-grpcio) and
# message classes generated by protoc from our .proto, over mutual TLS.
if /usr/bin/python3 -c 'import grpc, google.protobuf, cryptography' 2>/dev/null && command -v protoc >/dev/null; then
  mkdir -p "$work/pb2"
  protoc -I "$src/protocol" --python_out="$work/pb2" "$src/protocol/caselink.proto"
  /usr/bin/python3 "$src/tests/integration/interop_client.py" "$work/pb2" "$FED_COORD" \
      "$FED_PKI/ca.pem" "$FED_PKI/national.pem" "$FED_PKI/national.key" "$from" "$to" \
      municipality,agency_type,quarter >"$work/interop.out" || fail "interop client failed"
  grep -q "^# coverage: ${#FED_IDS[@]} of ${#FED_IDS[@]}$" "$work/interop.out" \
    || fail "interop coverage: $(tail -n 1 "$work/interop.out")"
  it_released "$work/expected.csv" <(grep -v '^#' "$work/interop.out" | LC_ALL=C sort) \
    || fail "interop answer differs from ground truth"
  pass "interop: python3-grpcio client gets the same answer over mutual TLS"
else
  echo "skip: interop client needs python3-grpcio, python3-protobuf and protoc (scripts/deps)"
fi

# Status RPC: the coordinator answers a user, a node answers its coordinator.
out=$("$bin/caselink" status --target "$FED_COORD" --service coordinator --tls-dir "$FED_PKI" \
        --name national) || fail "coordinator status: $out"
grep -q "^party=coordinator role=coordinator .* ready=yes$" <<<"$out" || fail "status: $out"
node0=${FED_IDS[0]}
out=$("$bin/caselink" status --target "$(cat "$FED_WORK/run/$node0.addr")" --service node \
        --tls-dir "$FED_PKI" --name coordinator --server-name "$node0") || fail "node status: $out"
grep -q "^party=$node0 role=node .* ready=yes$" <<<"$out" || fail "node status: $out"
pass "status RPC: $out"

# A node's certificate has the wrong role for the coordinator's Query.
node0=${FED_IDS[0]}
if "$bin/caselink" query incident_events --from "$from" --to "$to" \
     --coordinator "$FED_COORD" --tls-dir "$FED_PKI" --name "$node0" 2>"$work/err"; then
  fail "a node certificate was allowed to query the coordinator"
fi
grep -qi "permission\|denied\|refused" "$work/err" || fail "wrong-role refusal unclear: $(cat "$work/err")"
pass "wrong role refused: $(head -c 120 "$work/err")"

# A user certificate from another CA never gets through the handshake.
"$bin/caselink" pki init-ca --out "$work/otherca" >/dev/null
"$bin/caselink" pki issue --ca "$work/otherca" --name national --role user --out "$work/otherca" \
    --loopback >/dev/null
cp "$FED_PKI/ca.pem" "$work/otherca/fedca.pem"
audited=$(sqlite3 "$FED_WORK/coordinator/audit.db" "SELECT count(*) FROM audit_log")
if "$bin/caselink" query incident_events --from "$from" --to "$to" --coordinator "$FED_COORD" \
     --ca "$work/otherca/fedca.pem" --cert "$work/otherca/national.pem" \
     --key "$work/otherca/national.key" 2>"$work/err"; then
  fail "a certificate from another CA was accepted"
fi
# refused by the handshake (the client cannot connect), not later by the coordinator's
# handler (which would audit the refusal) nor for any other reason
grep -q "UNAVAILABLE" "$work/err" || fail "other-CA refusal is not the handshake's: $(cat "$work/err")"
[ "$(sqlite3 "$FED_WORK/coordinator/audit.db" "SELECT count(*) FROM audit_log")" = "$audited" ] \
  || fail "a request with a certificate from another CA reached the coordinator's handler"
pass "certificate from another CA refused by the handshake: $(head -c 120 "$work/err")"

# The daemons are still serving after the refusals.
it_released "$work/expected.csv" <(answer) >/dev/null || fail "federation stopped answering after refusals"

# Kill one node: the answer arrives with that node listed as failed.
victim=${FED_IDS[1]}
addr=$(cat "$FED_WORK/run/$victim.addr")
kill -KILL "$(cat "$FED_WORK/run/$victim.pid")"
wait "$(cat "$FED_WORK/run/$victim.pid")" 2>/dev/null || true
rm -f "$FED_WORK/run/$victim.pid"
out=$(fed_query incident_events --from "$from" --to "$to" --format csv)
grep -q "^# coverage: $(( ${#FED_IDS[@]} - 1 )) of ${#FED_IDS[@]} nodes answered$" <<<"$out" \
  || fail "coverage after a killed node is wrong: $out"
grep -q "^#   failed: $victim (" <<<"$out" || fail "killed node not listed as failed: $out"
pass "killed node reported: $(echo "$out" | grep failed)"

# Restart it on the same address: the federation answers in full again.
sed -i "s/^listen: .*/listen: $addr/" "$FED_WORK/nodes/$victim/node.yaml"
fed_start_node "$victim"
fed_wait_ready "$FED_WORK/run/$victim.addr" "$(cat "$FED_WORK/run/$victim.pid")" >/dev/null
answer >"$work/answer2.csv"
it_released "$work/expected.csv" "$work/answer2.csv" || fail "restarted node not answering"
pass "restarted node answers again"

# A node that hangs (stopped, connection open): the answer still arrives, after the
# per-node deadline, with that node failed for "deadline".
hung=${FED_IDS[2]}
kill -STOP "$(cat "$FED_WORK/run/$hung.pid")"
t0=$(date +%s%N)
out=$(fed_query incident_events --from "$from" --to "$to" --format csv)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
kill -CONT "$(cat "$FED_WORK/run/$hung.pid")"
grep -q "^#   failed: $hung (deadline" <<<"$out" || fail "hung node not failed by deadline: $out"
[ "$ms" -lt $(( FED_DEADLINE_MS + 5000 )) ] || fail "answer with a hung node took $ms ms"
pass "hung node failed by its deadline; answer after $ms ms (deadline $FED_DEADLINE_MS ms)"

# A node killed while a query is waiting for it: stopped, then killed once the query's request
# is in its socket (bytes unread at its port), so the kill is always mid-query.
kill -STOP "$(cat "$FED_WORK/run/$hung.pid")"
hung_port=$(sed 's/.*://' "$FED_WORK/run/$hung.addr")
unread=$(it_unread "$hung_port")
fed_query incident_events --from "$from" --to "$to" --format csv >"$work/during.out" &
qpid=$!
it_wait_unread "$hung_port" "$unread"
kill -KILL "$(cat "$FED_WORK/run/$hung.pid")"
wait "$(cat "$FED_WORK/run/$hung.pid")" 2>/dev/null || true
rm -f "$FED_WORK/run/$hung.pid"
wait "$qpid" || fail "query failed when a node was killed during it"
grep -q "^# coverage: $(( ${#FED_IDS[@]} - 1 )) of ${#FED_IDS[@]} nodes answered$" "$work/during.out" \
  || fail "coverage after a node killed mid-query: $(cat "$work/during.out")"
grep -q "^#   failed: $hung (" "$work/during.out" || fail "node killed mid-query not listed"
! grep -q "^#   failed: $hung (deadline" "$work/during.out" \
  || fail "node killed mid-query failed by the deadline instead: $(cat "$work/during.out")"
pass "node killed mid-query: $(grep failed "$work/during.out")"

# Every party's audit chain is intact and holds what happened; tampering is named.
out=$("$bin/caselink-coordinator" audit verify --data "$FED_WORK/coordinator") \
  || fail "coordinator audit: $out"
for id in "${FED_IDS[@]}"; do
  "$bin/caselink-node" audit verify --data "$FED_WORK/nodes/$id" >/dev/null \
    || fail "audit of $id broken"
done
answers=$(sqlite3 "$FED_WORK/coordinator/audit.db" \
  "SELECT count(*) FROM audit_log WHERE action='query_answered' AND details LIKE '%failed=$victim%'")
[ "$answers" -ge 1 ] || fail "coordinator audit lacks the answer with $victim failed"
pass "audit chains intact ($out); coordinator recorded the answers with their coverage"
sqlite3 "$FED_WORK/coordinator/audit.db" "DELETE FROM audit_log WHERE seq = 2"
if out=$("$bin/caselink-coordinator" audit verify --data "$FED_WORK/coordinator"); then
  fail "a removed audit entry went unnoticed"
fi
grep -q "BROKEN at entry 2" <<<"$out" || fail "removed entry not named: $out"
pass "removed audit entry named: $out"

# Clean shutdown on SIGTERM: every daemon exits 0.
for f in "$FED_WORK"/run/*.pid; do
  pid=$(cat "$f")
  kill -TERM "$pid"
  status=0
  wait "$pid" || status=$?
  [ "$status" -eq 0 ] || fail "$(basename "$f" .pid) exited $status on SIGTERM"
  rm -f "$f"
done
pass "every daemon stopped cleanly on SIGTERM"
rm -rf "$work"
echo "$passed passed, 0 failed"
