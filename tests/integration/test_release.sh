#!/usr/bin/env bash
# Integration test of disclosure control through the daemons: a researcher with DP
# (ε 0.4 per query, budget 1.0 per year) — the budget exhausted is refused before any node
# is asked, with a message naming what is left; the ledger survives a coordinator restart;
# the "all minus one" pair (a period and the same period less a day) is refused by the
# differencing check; the national user's answers mark suppressed cells.
set -euo pipefail

bin=${CASELINK_BIN:?}
src=${CASELINK_SRC:?}
work=${CASELINK_TMP:?}/release.$$
rm -rf "$work"
mkdir -p "$work"
# shellcheck source=../../scripts/lib/federation.sh
source "$src/scripts/lib/federation.sh"
trap 'fed_stop >/dev/null 2>&1 || true' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
passed=0
pass() { echo "ok: $*"; passed=$((passed + 1)); }

"$bin/caselink" synth --out "$work/fed" --seed 3 --persons 500 >/dev/null
fed_setup "$bin" "$work/fed" "$work/run"
"$bin/caselink" pki issue --ca "$FED_PKI" --name researcher1 --role user --out "$FED_PKI" \
    --loopback >/dev/null

# Policies with a researcher role (the generated ones know only the national user).
policy() { # SCOPE
  cat <<YAML
version: 1
scope: $1
description: disclosure test federation
roles:
  national_coordinator:
    ou: user
    identities: [national]
  researcher:
    ou: user
    identities: [researcher1]
disclosure:
  national_coordinator:
    threshold: 5
    rounding: 1
  researcher:
    threshold: 5
    rounding: 1
    dp:
      mechanism: discrete_laplace
      epsilon_per_query: 0.4
      budget: 1.0
      budget_period_days: 365
rules:
  - id: national-monitoring
    role: national_coordinator
    measures: [M1, M2, M3, M4, M5, M6]
    period: {min_days: 1, max_days: 3660}
    purposes: [monitoring]
    legal_bases: [statistics]
  - id: researchers-aggregates
    role: researcher
    measures: [M1, M2, M3, M4, M5, M6]
    period: {min_days: 1, max_days: 3660}
    purposes: [monitoring]
    legal_bases: [statistics]
participation:
  - measures: [M1, M2, M3, M4, M5, M6]
YAML
}
policy federation >"$FED_WORK/federation-policy.yaml"
for id in "${FED_IDS[@]}"; do policy node >"$FED_WORK/nodes/$id/policy.yaml"; done
fed_start_keyholder
fed_fill_tokens
fed_start
read -r from to _ < <(tail -n 1 "$work/fed/truth/expected/period.csv" | tr ',' ' ')
research() {
  "$bin/caselink" query "$@" --coordinator "$FED_COORD" --tls-dir "$FED_PKI" --name researcher1
}
node_queries() { # how many Query calls the nodes have audited
  local id n=0
  for id in "${FED_IDS[@]}"; do
    n=$((n + $(sqlite3 "$FED_WORK/nodes/$id/audit.db" \
      "SELECT count(*) FROM audit_log WHERE action LIKE 'query%'")))
  done
  echo "$n"
}

# The national user: threshold 5, no noise; small cells marked, settings stated.
out=$(fed_query M2 --from "$from" --to "$to" --format csv)
echo "$out" | grep -q '^# definitions: caselink-measures-' || fail "no definitions line: $out"
echo "$out" | grep -q '^# disclosure: threshold 5, rounding none' || fail "no disclosure line: $out"
echo "$out" | grep -q '^# noise: none' || fail "national answer says noise: $out"
echo "$out" | grep -q ',gap_days_max,suppressed$' || fail "maxima are not withheld: $out"
pass "national answer states definitions and disclosure, marks suppressed cells"

# Researcher: two queries of epsilon 0.4 fit in 1.0; each states its noise scale per value.
out=$(research M2 --from "$from" --to "$to" --format csv) || fail "first researcher query"
echo "$out" | grep -q '^# noise: discrete_laplace, scale .* (epsilon 0.4 charged; 0.6 of 1 left' \
  || fail "noise line: $(echo "$out" | head -5)"
echo "$out" | grep -q '^municipality,metric,value,noise_scale$' || fail "no noise_scale column: $out"
# (another measure: a repeat of the same linked query can differ by a few linked persons,
# per-query tokens, which the differencing check would refuse — see docs/disclosure.md)
out=$(research M3 --from "$from" --to "$to" --format json) || fail "second researcher query"
echo "$out" | grep -q '"budget_remaining": 0.2' || fail "json budget: $out"
pass "researcher answers carry DP noise with their scale; 0.2 of 1.0 left"

# Restart the coordinator: the ledger is kept.
kill -TERM "$(cat "$FED_WORK/run/coordinator.pid")"
wait "$(cat "$FED_WORK/run/coordinator.pid")" 2>/dev/null || true
rm -f "$FED_WORK/run/coordinator.pid"
fed_start
[ "$(stat -c %a "$FED_WORK/coordinator/ledger.db")" = 600 ] || fail "ledger.db is not 0600"
before=$(node_queries)
if research M2 --from "$from" --to "$to" --format csv >"$work/out" 2>"$work/err"; then
  fail "a third query of epsilon 0.4 was answered after a restart: $(head -3 "$work/out")"
fi
grep -q "privacy budget exceeded: the query needs epsilon 0.400000, 0.200000 of 1.000000 is left" "$work/err" \
  || fail "budget refusal unclear: $(cat "$work/err")"
after=$(node_queries)
[ "$before" = "$after" ] || fail "a node was asked before the budget refusal ($before -> $after)"
pass "budget exhausted after a restart: refused before any node was asked: $(head -c 160 "$work/err")"

# Differencing: a fresh researcher budget is needed; a second researcher identity would
# have its own history: raise the budget (the policy is read at start) and restart.
sed -i 's/budget: 1.0/budget: 50.0/' "$FED_WORK/federation-policy.yaml"
kill -TERM "$(cat "$FED_WORK/run/coordinator.pid")"
wait "$(cat "$FED_WORK/run/coordinator.pid")" 2>/dev/null || true
rm -f "$FED_WORK/run/coordinator.pid"
fed_start
# The population of M1 is its incident events (independent of linkage): the ground truth
# engine finds an end date whose period holds 1..4 fewer events than the full period.
pop() { # TO -> incident events in [from, TO) by the truth engine
  rm -rf "$work/truth"
  "$bin/caselink" truth --data "$work/fed" --from "$from" --to "$1" --out "$work/truth" >/dev/null
  awk -F, '$4 == "*" && $6 == "incident_events" { s += $7 } END { print s + 0 }' "$work/truth/m1.csv"
}
full=$(pop "$to")
found=0
for k in $(seq 1 60); do
  end=$(date -u -d "$to - $k day" +%F)
  d=$((full - $(pop "$end")))
  if [ $d -ge 1 ] && [ $d -le 4 ]; then found=1; break; fi
  [ $d -ge 5 ] && break
done
[ $found = 1 ] || fail "no end date near $to removes 1..4 incident events (test data)"
research M1 --from "$from" --to "$to" --format csv >/dev/null || fail "M1 for the full period"
if research M1 --from "$from" --to "$end" --format csv >"$work/out" 2>"$work/err"; then
  fail "all-minus-one pair answered ($d incident events apart)"
fi
grep -q "refused: differencing" "$work/err" || fail "differencing refusal unclear: $(cat "$work/err")"
pass "all-minus-one pair refused: $(head -c 160 "$work/err")"

fed_stop
rm -rf "$work"
echo "$passed passed, 0 failed"
