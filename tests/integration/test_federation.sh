#!/usr/bin/env bash
# Integration test: a generated federation on loopback as real processes —
# one node per agency and a coordinator, all over mutual TLS. Checks the
# incident_events query against the generator's ground truth, the refusals
# of wrong certificates, and a node killed and restarted mid-service.
set -euo pipefail

bin=${CASELINK_BIN:?}
src=${CASELINK_SRC:?}
work=${CASELINK_TMP:?}/federation.$$
rm -rf "$work"
mkdir -p "$work"
# shellcheck source=../../scripts/lib/federation.sh
source "$src/scripts/lib/federation.sh"
trap 'fed_stop >/dev/null 2>&1 || true' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
pass() { echo "ok: $*"; }

"$bin/caselink" synth --out "$work/fed" --seed 5 --persons 800 >/dev/null
FED_DEADLINE_MS=3000
fed_setup "$bin" "$work/fed" "$work/run"
fed_start
read -r from to _ < <(tail -n 1 "$work/fed/truth/expected/period.csv" | tr ',' ' ')

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
diff -u "$work/expected.csv" "$work/answer.csv" || fail "incident_events differs from ground truth"
pass "incident_events equals ground truth ($(wc -l <"$work/expected.csv") cells)"

out=$(fed_query incident_events --from "$from" --to "$to" --format csv)
echo "$out" | grep -q "^# coverage: ${#FED_IDS[@]} of ${#FED_IDS[@]} nodes answered$" \
  || fail "coverage line missing: $out"
pass "coverage: all ${#FED_IDS[@]} nodes answered"

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
if "$bin/caselink" query incident_events --from "$from" --to "$to" --coordinator "$FED_COORD" \
     --ca "$work/otherca/fedca.pem" --cert "$work/otherca/national.pem" \
     --key "$work/otherca/national.key" 2>"$work/err"; then
  fail "a certificate from another CA was accepted"
fi
pass "certificate from another CA refused"

# The daemons are still serving after the refusals.
answer | diff -q - "$work/expected.csv" >/dev/null || fail "federation stopped answering after refusals"

# Kill one node: the answer arrives with that node listed as failed.
victim=${FED_IDS[1]}
addr=$(cat "$FED_WORK/run/$victim.addr")
kill -KILL "$(cat "$FED_WORK/run/$victim.pid")"
wait "$(cat "$FED_WORK/run/$victim.pid")" 2>/dev/null || true
rm -f "$FED_WORK/run/$victim.pid"
out=$(fed_query incident_events --from "$from" --to "$to" --format csv)
echo "$out" | grep -q "^# coverage: $(( ${#FED_IDS[@]} - 1 )) of ${#FED_IDS[@]} nodes answered$" \
  || fail "coverage after a killed node is wrong: $out"
echo "$out" | grep -q "^#   failed: $victim (" || fail "killed node not listed as failed: $out"
pass "killed node reported: $(echo "$out" | grep failed)"

# Restart it on the same address: the federation answers in full again.
sed -i "s/^listen: .*/listen: $addr/" "$FED_WORK/nodes/$victim/node.yaml"
fed_start_node "$victim"
fed_wait_ready "$FED_WORK/run/$victim.addr" "$(cat "$FED_WORK/run/$victim.pid")" >/dev/null
answer >"$work/answer2.csv"
diff -u "$work/expected.csv" "$work/answer2.csv" || fail "restarted node not answering"
pass "restarted node answers again"

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
echo "7 passed, 0 failed"
