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

# Researcher: two queries of ε 0.4 fit in 1.0; each states its noise scale per value.
out=$(research M2 --from "$from" --to "$to" --format csv) || fail "first researcher query"
echo "$out" | grep -q '^# noise: discrete_laplace, scale .* (epsilon 0.4 charged; 0.6 of 1 left' \
  || fail "noise line: $(echo "$out" | head -5)"
echo "$out" | grep -q '^municipality,metric,value,noise_scale$' || fail "no noise_scale column: $out"
out=$(research M2 --from "$from" --to "$to" --format json) || fail "second researcher query"
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
# have its own history, so reset the ledger's budget by a new period policy: use 3660 days.
sed -i 's/budget: 1.0/budget: 100.0/' "$FED_WORK/federation-policy.yaml"
kill -TERM "$(cat "$FED_WORK/run/coordinator.pid")"
wait "$(cat "$FED_WORK/run/coordinator.pid")" 2>/dev/null || true
rm -f "$FED_WORK/run/coordinator.pid"
fed_start
less=$(date -u -d "$to - 1 day" +%F)
research M6 --from "$from" --to "$to" --format csv >/dev/null || fail "M6 for the full period"
if research M6 --from "$from" --to "$less" --format csv >"$work/out" 2>"$work/err"; then
  # Allowed only when the one day changed the population by 0 or by >= 5 persons.
  full=$(fed_query M6 --from "$from" --to "$to" --format csv | grep '^\*,\*,\*,children,' | cut -d, -f5)
  part=$(fed_query M6 --from "$from" --to "$less" --format csv | grep '^\*,\*,\*,children,' | cut -d, -f5)
  d=$((full - part)); [ $d -lt 0 ] && d=$((-d))
  { [ $d -eq 0 ] || [ $d -ge 5 ]; } || fail "all-minus-one pair answered (difference $d)"
  echo "note: the last day changed M6 by $d persons; trying a period less the days up to one change"
  # Find a shorter period that differs by 1..4 persons: move the end back day by day.
  found=0
  for k in $(seq 2 60); do
    end=$(date -u -d "$to - $k day" +%F)
    part=$(fed_query M6 --from "$from" --to "$end" --format csv | grep '^\*,\*,\*,children,' | cut -d, -f5)
    d=$((full - part))
    if [ $d -ge 1 ] && [ $d -le 4 ]; then found=1; break; fi
  done
  [ $found = 1 ] || fail "no period near the end differs by 1..4 children"
  if research M6 --from "$from" --to "$end" --format csv >"$work/out" 2>"$work/err"; then
    fail "all-minus-one pair answered ($d persons apart)"
  fi
fi
grep -q "refused: differencing" "$work/err" || fail "differencing refusal unclear: $(cat "$work/err")"
pass "all-minus-one pair refused: $(head -c 160 "$work/err")"

fed_stop
rm -rf "$work"
echo "$passed passed, 0 failed"
