#!/usr/bin/env bash
# Integration test of disclosure control through the daemons, on one small federation
# (2 municipalities x 3 agency types = 6 nodes) shared by every case and one coordinator
# restart. Researchers have DP (epsilon 0.4 per query, budget 1.0 per year), each researcher
# identity its own budget and history:
#   - the national user's answers state their settings and mark suppressed cells;
#   - researcher1: noisy answers with their scale, event counts withheld under DP (no
#     per-person bound), the SAME linked question asked twice is answered twice (not a
#     differencing pair), the budget exhausted after a restart is refused before any node is
#     asked (the ledger survives, 0600);
#   - --nodes: an unknown id refused, unlisted nodes reported as not_requested;
#   - researcher2: the "all minus one" pair in period (a period and the same less a few days);
#   - researcher3: the "all minus one" pair in node set (all nodes, then all but one node).
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init release
it_federation --seed 3 --municipalities liepaja,klaipeda \
  --agency-types police,social_services,health --persons 400 --years 2
for r in researcher1 researcher2 researcher3; do
  "$bin/caselink" pki issue --ca "$FED_PKI" --name "$r" --role user --out "$FED_PKI" \
    --loopback >/dev/null
done

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
    identities: [researcher1, researcher2, researcher3]
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
research() { # NAME ARGS...
  local who=$1
  shift
  "$bin/caselink" query "$@" --coordinator "$FED_COORD" --tls-dir "$FED_PKI" --name "$who"
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
grep -q '^# definitions: caselink-measures-' <<<"$out" || fail "no definitions line: $out"
grep -q '^# disclosure: threshold 5, rounding none' <<<"$out" || fail "no disclosure line: $out"
grep -q '^# noise: none' <<<"$out" || fail "national answer says noise: $out"
grep -q ',gap_days_max,suppressed (derived)$' <<<"$out" || fail "maxima are not withheld: $out"
grep -q ',suppressed (small)$' <<<"$out" || fail "no small cell marked with its reason: $out"
grep -Eq ',gap_count,[0-9]+$' <<<"$out" || fail "national gap_count not published: $out"
pass "national answer states definitions and disclosure, marks suppressed cells"

# Researcher: epsilon 0.4 of 1.0, noise scale per value; counts one person can add without
# bound (gaps, episodes) withheld under DP.
out=$(research researcher1 M2 --from "$from" --to "$to" --format csv) \
  || fail "first researcher query"
grep -q '^# noise: discrete_laplace, scale .* (epsilon 0.4 charged; 0.6 of 1 left' <<<"$out" \
  || fail "noise line: $(head -5 <<<"$out")"
grep -q '^municipality,metric,value,noise_scale$' <<<"$out" || fail "no noise_scale column: $out"
grep -q '^\*,gap_count,suppressed (no per-person bound),' <<<"$out" \
  || fail "gap_count released under DP: $out"
grep -q '^\*,repeat_victim_episodes,suppressed (no per-person bound),' <<<"$out" \
  || fail "repeat_victim_episodes released under DP: $out"
grep -Eq '^\*,victims,[0-9]+,15$' <<<"$out" \
  || fail "victims without the per-person scale 15 (2 rows x 3 counts / 0.4): $out"
pass "researcher answer: DP noise with its scale, unbounded counts withheld"

# M3 under DP releases no count (referrals are events): refused before anything is charged.
if research researcher1 M3 --from "$from" --to "$to" --format csv >"$work/out" 2>"$work/err"
then
  fail "M3 under DP was answered: $(head -3 "$work/out")"
fi
grep -q "PERMISSION_DENIED" "$work/err" && grep -q "nothing was charged" "$work/err" \
  || fail "M3 under DP refusal unclear: $(cat "$work/err")"
pass "a DP query that would release nothing is refused, uncharged"

# The same linked question again: per-query tokens may link a few persons differently, but it
# is the same population — answered (and charged) again.
out=$(research researcher1 M2 --from "$from" --to "$to" --format json) \
  || fail "the same question asked again was refused"
grep -q '"budget_remaining": 0.2' <<<"$out" || fail "json budget: $out"
grep -q '"budget_unit": "epsilon"' <<<"$out" || fail "json budget unit: $out"
pass "the same question asked twice is answered twice; 0.2 of 1.0 left"

# --nodes: an unknown id is refused up front; unlisted nodes are not asked.
if fed_query M2 --from "$from" --to "$to" --nodes "${FED_IDS[0]},no-such-node" \
  >"$work/out" 2>"$work/err"; then
  fail "an unknown node id was accepted"
fi
grep -q "INVALID_ARGUMENT" "$work/err" || fail "unknown node refusal: $(cat "$work/err")"
out=$(fed_query M1 --from "$from" --to "$to" --format csv --nodes "${FED_IDS[0]},${FED_IDS[1]}")
n=$(grep -c "(not_requested)" <<<"$out" || true)
[ "$n" = $((${#FED_IDS[@]} - 2)) ] || fail "expected $((${#FED_IDS[@]} - 2)) not_requested: $out"
pass "--nodes: unknown id refused, $n unlisted nodes not_requested"

# Restart the coordinator alone (bounded stop, new pid recorded): the ledger is kept.
fed_restart_coordinator
[ "$(stat -c %a "$FED_WORK/coordinator/ledger.db")" = 600 ] || fail "ledger.db is not 0600"
before=$(node_queries)
if research researcher1 M2 --from "$from" --to "$to" --format csv >"$work/out" 2>"$work/err"
then
  fail "a third query of epsilon 0.4 was answered after a restart: $(head -3 "$work/out")"
fi
grep -q "privacy budget exceeded: the query needs epsilon 0.400000, 0.200000 of 1.000000 is left" \
  "$work/err" || fail "budget refusal unclear: $(cat "$work/err")"
after=$(node_queries)
[ "$before" = "$after" ] || fail "a node was asked before the budget refusal ($before -> $after)"
pass "budget exhausted after a restart: refused before any node was asked"

# Incident events (M1's population; independent of linkage) in [from, TO) by the ground-truth
# engine, over the agencies of federation file $2 (default: all).
pop() { # TO [NODE]
  local data=$work/fed
  if [ -n "${2:-}" ]; then
    data=$work/one
    rm -rf "$data"
    mkdir -p "$data/truth"
    { head -n 1 "$work/fed/federation.csv"; grep "^$2," "$work/fed/federation.csv"; } \
      >"$data/federation.csv"
    { head -n 1 "$work/fed/truth/links.csv"; grep "^$2," "$work/fed/truth/links.csv" || true; } \
      >"$data/truth/links.csv"
    ln -s "$work/fed/agencies" "$data/agencies"
  fi
  rm -rf "$work/truth"
  "$bin/caselink" truth --data "$data" --from "$from" --to "$1" --out "$work/truth" >/dev/null
  awk -F, '$4 == "*" && $6 == "incident_events" { s += $7 } END { print s + 0 }' \
    "$work/truth/m1.csv"
}

# Differencing by period (researcher2): an end date whose period holds 1..4 fewer events.
full=$(pop "$to")
found=0
for k in $(seq 1 60); do
  end=$(date -u -d "$to - $k day" +%F)
  d=$((full - $(pop "$end")))
  if [ $d -ge 1 ] && [ $d -le 4 ]; then found=1; break; fi
  [ $d -ge 5 ] && break
done
[ $found = 1 ] || fail "no end date near $to removes 1..4 incident events (test data)"
research researcher2 M1 --from "$from" --to "$to" --format csv >/dev/null \
  || fail "M1 for the full period"
if research researcher2 M1 --from "$from" --to "$end" --format csv >"$work/out" 2>"$work/err"
then
  fail "all-minus-one pair in period answered ($d incident events apart)"
fi
grep -q "refused: differencing" "$work/err" || fail "differencing refusal unclear: $(cat "$work/err")"
pass "all-minus-one pair in period refused ($d events apart)"

# The national user has no noise: the same pair would give the difference exactly. The check
# applies to every role unless its policy says differencing: false (docs/disclosure.md).
fed_query M1 --from "$from" --to "$to" --format csv >/dev/null || fail "national M1, full period"
if fed_query M1 --from "$from" --to "$end" --format csv >"$work/out" 2>"$work/err"; then
  fail "national all-minus-one pair in period answered ($d incident events apart)"
fi
grep -q "refused: differencing" "$work/err" \
  || fail "national differencing refusal unclear: $(cat "$work/err")"
pass "national all-minus-one pair in period refused by default ($d events apart)"

# Differencing by node set (researcher3): a node and a short period in which that node
# recorded 1..4 incident events; all nodes, then all but that node.
found=0
for node in "${FED_IDS[@]}"; do
  for k in 2 4 7 10 14 21 31 45 60; do
    end=$(date -u -d "$from + $k day" +%F)
    d=$(pop "$end" "$node")
    if [ "$d" -ge 1 ] && [ "$d" -le 4 ]; then found=1; break 2; fi
    [ "$d" -ge 5 ] && break
  done
done
[ $found = 1 ] || fail "no node records 1..4 incident events in a short period (test data)"
others=$(printf '%s\n' "${FED_IDS[@]}" | grep -vx "$node" | paste -sd, -)
research researcher3 M1 --from "$from" --to "$end" --format csv >/dev/null \
  || fail "M1 at every node"
if research researcher3 M1 --from "$from" --to "$end" --format csv --nodes "$others" \
  >"$work/out" 2>"$work/err"; then
  fail "all-minus-one pair in node set answered ($node left out, $d events)"
fi
grep -q "refused: differencing" "$work/err" || fail "differencing refusal unclear: $(cat "$work/err")"
pass "all-minus-one pair in node set refused ($node left out: $d events)"

fed_stop
rm -rf "$work"
echo "$passed passed, 0 failed"
