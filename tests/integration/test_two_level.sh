#!/usr/bin/env bash
# Integration test: two-level coordination (docs/two-level.md). One generated
# federation, its nodes served once; two national coordinators over them:
#   flat      — every node directly under the national coordinator;
#   two-level — the Liepāja nodes behind the regional coordinator
#               regional-kurzeme (a node of the national one), the rest direct.
# incident_events through both must equal the generator's ground truth, and the
# linked M2 must be the same through both (the national nonce reaches every
# node, the agencies behind the regional stay distinct agencies). A regional
# node killed: the national coverage names it as "regional-kurzeme/ID".
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init two_level
regional="regional-kurzeme"
FED_DEADLINE_MS=4000
it_federation --seed 7 --persons 1200

# The regional's nodes: Liepāja's agencies. They accept the regional as a coordinator too.
it_regional "$regional"
fed_start_keyholder
fed_fill_tokens
fed_start # the flat national coordinator over every node
flat=$FED_COORD

# The regional coordinator: Liepāja's nodes, answering the national coordinator as a node.
it_start_coordinator "$regional" "$regional" 127.0.0.1:0 "upstream: [coordinator]
nodes:
$(it_node_lines "${behind[@]}")"
raddr=$FED_ADDR
# The two-level national coordinator (the same certificate as the flat one): the regional in
# the place of the Liepāja nodes, every other node direct, in federation.csv order.
it_start_coordinator national-two-level coordinator 127.0.0.1:0 "$(it_two_level_body "$regional" "$raddr")"
twolevel=$FED_ADDR
total=$(( $(wc -l <"$work/fed/federation.csv") - 1 ))

query() { # COORDINATOR ARGS...
  local c=$1
  shift
  "$bin/caselink" query "$@" --coordinator "$c" --tls-dir "$FED_PKI" --name national
}
rows() { grep -v '^#' | tail -n +2 | LC_ALL=C sort; }
# TRUTH ANSWER: every published (not suppressed) cell of ANSWER equals TRUTH's (a cell TRUTH
# lacks is 0); both are CSV lines "key,...,value". Prints how many cells were checked.
published_equal() {
  awk -F, 'NR == FNR { k = $0; sub(/,[^,]*$/, "", k); t[k] = $NF; next }
           $NF ~ /^suppressed/ { next }
           { k = $0; sub(/,[^,]*$/, "", k); n++
             if ((k in t ? t[k] : 0) != $NF) { print "cell " k ": truth " t[k] ", answer " $NF >"/dev/stderr"; bad = 1 } }
           END { print n + 0; exit bad }' "$1" "$2"
}

# incident_events: ground truth, flat, two-level. The national answers are disclosure-controlled
# (docs/disclosure.md): every published cell must equal the truth, and the two answers must be
# the same, suppressed cells included.
awk -F, '$4 != "*" && $6 == "incident_events" && $7 > 0 { n[$3 "," $4] += $7 }
         END { for (k in n) print k "," n[k] }' "$work/fed/truth/expected/m1.csv" \
    | LC_ALL=C sort >"$work/truth.csv"
[ -s "$work/truth.csv" ] || fail "ground truth has no incident events"
by=(--from "$from" --to "$to" --by "municipality,agency_type" --format csv)
query "$flat" incident_events "${by[@]}" >"$work/flat.out"
query "$twolevel" incident_events "${by[@]}" >"$work/two.out"
rows <"$work/two.out" >"$work/two.csv"
published=$(grep -Evc ',suppressed( \(.*\))?$' "$work/two.csv" || true)
[ "$published" -ge 3 ] || fail "only $published cells published: $(cat "$work/two.csv")"
n=$(published_equal "$work/truth.csv" "$work/two.csv") \
  || fail "two-level incident_events differs from the truth"
[ "$n" -eq "$published" ] || fail "published cells: $n of $published checked"
diff -u <(grep -v '^# coverage' "$work/flat.out") <(grep -v '^# coverage' "$work/two.out") \
  || fail "two-level incident_events differs from flat"
grep -q "^# coverage: $total of $total nodes answered$" "$work/two.out" \
  || fail "two-level coverage: $(grep '^#' "$work/two.out")"
pass "incident_events through the regional coordinator: $published published cells equal the truth, the answer equals flat's, coverage $total of $total"

# Other groupings: the regional sums its nodes' rows before the national does.
for g in "" "--by municipality" "--by municipality,agency_type,quarter"; do
  # shellcheck disable=SC2086
  a=$(query "$flat" incident_events --from "$from" --to "$to" $g --format csv | grep -v '^# coverage')
  # shellcheck disable=SC2086
  b=$(query "$twolevel" incident_events --from "$from" --to "$to" $g --format csv | grep -v '^# coverage')
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "incident_events ${g:-ungrouped}: flat '$a' vs two-level '$b'"
done
pass "incident_events ungrouped, by municipality and by municipality,agency_type,quarter: flat = two-level"

# Linked measures (TOKENS mode): the regional forwards the national nonce and adds each record's
# agency (agency_id, agency_type, municipality). Cells that do not depend on linkage must equal
# the truth exactly through both: M1 incident events per municipality x agency type x quarter
# (the agency attributes at work) and M3 referrals.
truth() { cut -d, -f3- "$work/fed/truth/expected/$1" | tail -n +2 | LC_ALL=C sort; }
linked() { query "$1" "$2" --from "$from" --to "$to" --format csv | rows; }
for c in flat twolevel; do
  linked "${!c}" M1 | grep ',incident_events,' | grep -v '^\*' >"$work/m1.$c"
  n=$(published_equal <(truth m1.csv | grep ',incident_events,') "$work/m1.$c") \
    || fail "$c M1 incident_events differ from the truth"
  [ "$n" -ge 3 ] || fail "$c M1: only $n incident_events cells published"
  linked "${!c}" M3 | grep ',referrals,' >"$work/m3.$c"
  n3=$(published_equal <(truth m3.csv | grep ',referrals,') "$work/m3.$c") \
    || fail "$c M3 referrals differ from the truth"
done
pass "linked M1 incident_events ($n cells) and M3 referrals ($n3 cells) equal the truth, flat and two-level"

# M2 depends on fuzzy linkage, and fuzzy linkage differs between ANY two queries (a fresh nonce
# makes fresh Bloom filters: two flat queries differ too). Two-level must be as close to flat as
# flat is to itself: within 3 % (at least 3 persons); victims within 10 % of the truth.
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms); linked "$flat" M2 >"$work/m2.flat"
t1=$(ms); linked "$twolevel" M2 >"$work/m2.two"
t2=$(ms); linked "$flat" M2 >"$work/m2.flat2"
t3=$(ms)
# A figure, not a check (timing is never asserted): the regional's extra hop in a linked query.
echo "figure: M2 end to end: flat $((t1 - t0)) ms and $((t3 - t2)) ms, two-level $((t2 - t1)) ms"
[ -s "$work/m2.flat" ] || fail "flat M2 answered no rows"
close() { # NAME A B PERCENT
  awk -v a="$2" -v b="$3" -v p="$4" 'BEGIN { d = a - b; if (d < 0) d = -d; t = a * p / 100; if (t < 3) t = 3
                                          exit !(a > 0 && d <= t) }' \
    || fail "$1: $3 is not within $4 % of $2"
}
summary=""
for metric in victims repeat_victims hidden_repeats; do
  f=$(grep "^\*,$metric," "$work/m2.flat" | cut -d, -f3)
  f2=$(grep "^\*,$metric," "$work/m2.flat2" | cut -d, -f3)
  t=$(grep "^\*,$metric," "$work/m2.two" | cut -d, -f3)
  e=$(truth m2.csv | grep "^\*,$metric," | cut -d, -f3)
  close "M2 $metric two-level vs flat" "$f" "$t" 3
  [ "$metric" != victims ] || close "M2 $metric two-level vs truth" "$e" "$t" 10
  summary+=" $metric: two-level $t, flat $f and $f2, truth $e;"
done
pass "M2 through the regional coordinator:$summary"

# The records did pass through the regional, with its own envelope, and it audited them.
grep -q 'level=regional' "$FED_WORK/logs/$regional.log" || fail "regional log has no answer"
grep -q 'mode=tokens' "$FED_WORK/logs/$regional.log" || fail "regional never answered TOKENS"
"$bin/caselink-coordinator" audit verify --data "$FED_WORK/$regional" >/dev/null \
  || fail "regional audit chain broken"
sqlite3 "$FED_WORK/$regional/audit.db" .dump | grep -q 'level=regional mode=tokens' \
  || fail "regional audit has no TOKENS answer"
pass "regional coordinator logged and audited its answers; audit chain intact"

# A regional answers only the coordinators in its `upstream:` list: the same regional
# configured for another national coordinator refuses this one, and says so in the coverage.
sed 's/^upstream: .*/upstream: [national-elsewhere]/' "$FED_WORK/$regional.yaml" \
    | grep -v '^#' >"$work/other.body"
it_start_coordinator regional-other "$regional" 127.0.0.1:0 \
    "$(grep -v '^listen:\|^tls:\|^policy:\|^deadline_ms:' "$work/other.body")"
oaddr=$FED_ADDR
it_start_coordinator national-lone coordinator 127.0.0.1:0 "nodes:
  - {id: $regional, kind: coordinator, address: $oaddr}"
lone=$FED_ADDR
out=$(query "$lone" incident_events --from "$from" --to "$to" --format csv 2>&1 || true)
grep -q "^#   failed: $regional (refused: peer is not an upstream coordinator" <<<"$out" \
  || fail "a regional answered a coordinator not in its upstream list: $out"
pass "regional refuses a national coordinator not in its upstream list: $(echo "$out" | grep failed)"

# Kill a node behind the regional: the national coverage names it under the regional.
victim=${behind[1]}
kill -KILL "$(cat "$FED_WORK/run/$victim.pid")"
wait "$(cat "$FED_WORK/run/$victim.pid")" 2>/dev/null || true
rm -f "$FED_WORK/run/$victim.pid"
out=$(query "$twolevel" incident_events --from "$from" --to "$to" --format csv)
grep -q "^# coverage: $((total - 1)) of $total nodes answered$" <<<"$out" \
  || fail "coverage after a killed regional node: $out"
grep -q "^#   failed: $regional/$victim (unavailable: " <<<"$out" \
  || fail "killed regional node not named: $out"
pass "killed regional node reported: $(echo "$out" | grep failed)"

# Kill the regional itself: its place in the coverage is the regional as one node.
kill -TERM "$(cat "$FED_WORK/run/$regional.pid")"
wait "$(cat "$FED_WORK/run/$regional.pid")" 2>/dev/null || true
rm -f "$FED_WORK/run/$regional.pid"
out=$(query "$twolevel" incident_events --from "$from" --to "$to" --format csv)
grep -q "^#   failed: $regional (unavailable: " <<<"$out" \
  || fail "stopped regional not named: $out"
pass "stopped regional reported: $(echo "$out" | grep failed)"
echo "all two-level checks passed"
