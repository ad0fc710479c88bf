#!/usr/bin/env bash
# Integration test: M7 case_history and M8 high_risk_alerts through a regional coordinator
# (docs/two-level.md "Case requests"). One generated federation (seed 12, 700 persons), its
# nodes served once, two national coordinators over them — flat, and with Liepāja's six
# agencies behind regional-kurzeme — plus the keyholder and token caches. The regional's
# `coordinator_address` is the two-level national: its nodes' case requests go up.
#  - a node behind the regional asks through the regional: its M7 for unambiguously linked
#    persons equals the ground truth and its own answer through the flat national; its M8
#    equals flat on every row of an unambiguously linked person and the truth as
#    tests/integration/test_cases.sh requires (linkage errors only);
#  - a direct node asks the two-level national: histories with records behind the regional
#    name their real agencies (truth, exactly); its M8 as above;
#  - the regional audits what it relayed; a national that does not know the regional refuses
#    the forwarded request, and the regional relays the refusal.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# M7/M8 against the ground truth of every agency: nodes disclose every linked record
# (tests/integration/test_case_attack.sh runs the default case_disclosure policies).
export FED_CASE_DISCLOSURE=open
it_init two_level_cases
regional="regional-kurzeme"
basis=lv_interinstitutional_cooperation # truth's "general": any basis but child_protection
FED_DEADLINE_MS=4000
it_federation --seed 12 --persons 700
exp=$work/fed/truth/expected
it_regional "$regional"
fed_start_keyholder
fed_fill_tokens
fed_start # the flat national coordinator; every node.yaml's coordinator_address is it
flat=$FED_COORD
total=${#FED_IDS[@]}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The regional listens on a port chosen now, so that the national can name it before it runs;
# the regional's coordinator_address is the national's, known once the national is up.
raddr=127.0.0.1:$(free_port)
it_start_coordinator national-two-level coordinator 127.0.0.1:0 "$(it_two_level_body "$regional" "$raddr")"
twolevel=$FED_ADDR
it_start_coordinator "$regional" "$regional" "$raddr" "upstream: [coordinator]
coordinator_address: $twolevel
nodes:
$(it_node_lines "${behind[@]}")"
got=$FED_ADDR
[ "$got" = "$raddr" ] || fail "regional listens on $got, not $raddr"

# A node behind the regional asks its regional: coordinators[0] is the regional's name.
for id in "${behind[@]}"; do
  d=$FED_WORK/nodes/$id
  sed -e "s/^coordinators: .*/coordinators: [$regional, coordinator]/" \
      -e "s/^coordinator_address: .*/coordinator_address: $raddr/" "$d/node.yaml" >"$d/node-regional.yaml"
done

# Persons whose rows all carry one and the same code (unambiguous linkage): "agency,ref" lines
# in unambiguous.rows, and their general M7 requests ("agency ref status events").
it_unambiguous "$work/unambiguous.rows" >"$work/unambiguous.txt"
[ -s "$work/unambiguous.txt" ] || fail "no unambiguously linked person in the generated data"
LC_ALL=C sort -o "$work/unambiguous.rows" "$work/unambiguous.rows"

cli() { # COMMAND AGENCY CONFIG-NAME ARGS...: caselink-node case-history / alerts, csv
  local cmd=$1 id=$2 cfg=$3
  shift 3
  "$bin/caselink-node" "$cmd" --data "$FED_WORK/nodes/$id" --config "$FED_WORK/nodes/$id/$cfg" \
      --as-of "$as_of" --legal-basis "$basis" --format csv "$@"
}
truth7() { # AGENCY REF -> general truth rows seq,occurred_at,...
  awk -F, -v a="$1" -v r="$2" '$2 == "general" && $3 == a && $4 == r' "$exp/m7.csv" | cut -d, -f5-
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# M7 of a node behind the regional: through the regional (up to the national and back) and
# through the flat national, for complete histories of unambiguously linked persons.
n=0; t_two=0; t_flat=0
while read -r agency ref status events; do
  if ! [[ " ${behind[*]} " == *" $agency "* ]] || [ "$status" != complete ] || [ "$events" -lt 2 ]; then
    continue
  fi
  truth7 "$agency" "$ref" >"$work/t7"
  t0=$(ms)
  cli case-history "$agency" node-regional.yaml "$ref" --purpose case_review >"$work/two7" \
      || fail "case-history of $agency through the regional failed"
  t1=$(ms)
  cli case-history "$agency" node.yaml "$ref" --purpose case_review >"$work/flat7" \
      || fail "case-history of $agency through the flat national failed"
  t2=$(ms)
  t_two=$((t_two + t1 - t0)); t_flat=$((t_flat + t2 - t1))
  diff "$work/t7" <(grep -v '^#' "$work/two7" | tail -n +2) >&2 \
      || fail "M7 of $agency through the regional differs from the truth"
  diff <(grep -v '^#' "$work/flat7") <(grep -v '^#' "$work/two7") >&2 \
      || fail "M7 of $agency through the regional differs from flat"
  grep -q "^# coverage: $total of $total nodes answered$" "$work/two7" \
      || fail "M7 through the regional: $(grep '^#' "$work/two7")"
  grep -q '^# left out: nothing' "$work/two7" || fail "a complete history says something was left out"
  n=$((n + 1))
  [ $n -lt 3 ] || break
done <"$work/unambiguous.txt"
[ $n -ge 1 ] || fail "no complete history of an unambiguously linked Liepāja record"
pass "M7 of Liepāja nodes through the regional: $n histories equal the truth and flat, coverage $total of $total"
echo "figure: M7 end to end, $n requests: through the regional $t_two ms, flat $t_flat ms"

# Histories that cross the regional's border (cross-border movers: no common code, so fuzzy
# linkage decides). ASKER-SIDE PATTERN CFG-ARGS...: for every general request of the truth
# whose asker matches ASKER-SIDE and whose history has a row of an agency matching PATTERN,
# ask and count exact answers; prints "exact of all". At least one must be exact, and every
# answer's rows beyond the asker's side must name agencies of federation.csv.
cross() {
  local side=$1 pat=$2 cfg=$3 all=0 exact=0 agency ref
  shift 3
  while read -r agency ref; do
    truth7 "$agency" "$ref" >"$work/t7"
    cli case-history "$agency" "$cfg" "$ref" --purpose case_review "$@" >"$work/x7" \
        || fail "case-history of $agency ($cfg $*) failed"
    grep -v '^#' "$work/x7" | tail -n +2 >"$work/x7.rows"
    all=$((all + 1))
    if diff -q "$work/t7" "$work/x7.rows" >/dev/null; then exact=$((exact + 1)); fi
    cut -d, -f4 "$work/x7.rows" | sort -u | while read -r a; do
      grep -q "^$a," "$work/fed/federation.csv" || fail "M7 row of unknown agency '$a'"
    done
  done < <(awk -F, -v s="$side" -v p="$pat" '$2 == "general" && $3 ~ s && $8 ~ p { print $3, $4 }' \
               "$exp/m7.csv" | LC_ALL=C sort -u | head -n 6)
  [ "$all" -ge 1 ] || fail "no history crosses the regional's border"
  [ "$exact" -ge 1 ] || fail "no history across the regional's border is exact ($cfg $*)"
  echo "$exact of $all"
}
two=$(cross '^lv-liepaja-' '^(lt|lv-[a-km-z])' node-regional.yaml)
fl=$(cross '^lv-liepaja-' '^(lt|lv-[a-km-z])' node.yaml)
pass "M7 of Liepāja nodes across the border: through the regional $two exactly the truth, flat $fl"

# M8 of every node behind the regional, through the regional and flat.
alerts() { # AGENCY CONFIG-NAME -> "agency,person_ref,reasons,types" lines
  cli alerts "$1" "$2" --purpose marac_preparation >"$work/a.csv" || fail "alerts of $1 ($2) failed"
  grep -q '^# coverage: [0-9]* of [0-9]* nodes answered' "$work/a.csv" || fail "alerts without coverage"
  grep -v '^#' "$work/a.csv" | tail -n +2 | sed "s/^/$1,/"
}
# WANT GOT NAME: rows of unambiguously linked persons equal; the rest within 10 % (linkage)
m8_check() {
  local want=$1 got=$2 name=$3 rows missing extra changed unexplained
  LC_ALL=C sort -o "$got" "$got"
  rows=$(wc -l <"$want")
  [ "$rows" -gt 0 ] || fail "$name: no expected alert"
  LC_ALL=C comm -3 "$want" "$got" | head -n 10 | sed 's/^/  differs: /'
  missing=$(LC_ALL=C comm -23 "$want" "$got" | cut -d, -f1,2 | LC_ALL=C sort -u)
  extra=$(LC_ALL=C comm -13 "$want" "$got" | wc -l)
  changed=$(LC_ALL=C comm -12 <(echo "$missing") <(cut -d, -f1,2 "$got" | LC_ALL=C sort -u) | grep -c . || true)
  unexplained=$(LC_ALL=C comm -12 <(echo "$missing") "$work/unambiguous.rows" | grep -c . || true)
  [ "$unexplained" -eq 0 ] || fail "$name: $unexplained absent row(s) of unambiguously linked persons"
  [ $(((extra + changed) * 10)) -le "$rows" ] || fail "$name: $extra extra and $changed changed rows of $rows"
  echo "$rows rows, $(echo "$missing" | grep -c . || true) missing, $extra extra"
}
: >"$work/m8.two"; : >"$work/m8.flat"
for id in "${behind[@]}"; do
  alerts "$id" node-regional.yaml >>"$work/m8.two"
  alerts "$id" node.yaml >>"$work/m8.flat"
done
LC_ALL=C sort -o "$work/m8.flat" "$work/m8.flat"
awk -F, -v re="^lv-liepaja-" '$2 == "general" && $3 ~ re' "$exp/m8.csv" | cut -d, -f3- \
    | LC_ALL=C sort >"$work/m8.want"
[ "$(grep -c . "$work/m8.two")" -ge 1 ] || fail "no alert through the regional"
s=$(m8_check "$work/m8.want" "$work/m8.two" "M8 through the regional")
# Flat and two-level agree on every row of an unambiguously linked person.
keep() { awk -F, 'NR == FNR { u[$1 "," $2] = 1; next } ($1 "," $2) in u' "$work/unambiguous.rows" "$1"; }
diff <(keep "$work/m8.flat") <(keep "$work/m8.two") >&2 \
    || fail "M8 of unambiguously linked persons: flat and through the regional differ"
pass "M8 of the ${#behind[@]} Liepāja nodes through the regional: $s; flat = two-level on $(keep "$work/m8.two" | wc -l) rows of unambiguously linked persons"

# A direct node asks the two-level national about persons with records behind the regional:
# the rows name their real agencies (attributes carried through the regional).
d2=$(cross '^(lt|lv-[a-km-z])' '^lv-liepaja-' node.yaml --coordinator "$twolevel")
df=$(cross '^(lt|lv-[a-km-z])' '^lv-liepaja-' node.yaml)
pass "M7 of direct nodes with records behind the regional: two-level $d2 exactly the truth (real agencies), flat $df"
: >"$work/m8.direct"
direct=()
for id in "${FED_IDS[@]}"; do [[ " ${behind[*]} " == *" $id "* ]] || direct+=("$id"); done
for id in "${direct[@]:0:6}"; do
  cli alerts "$id" node.yaml --purpose marac_preparation --coordinator "$twolevel" >"$work/a.csv" \
      || fail "alerts of $id through the two-level national failed"
  grep -v '^#' "$work/a.csv" | tail -n +2 | sed "s/^/$id,/" >>"$work/m8.direct"
done
awk -F, 'NR == FNR { d[$1] = 1; next } $2 == "general" && ($3 in d)' \
    <(printf '%s\n' "${direct[@]:0:6}") "$exp/m8.csv" | cut -d, -f3- | LC_ALL=C sort >"$work/m8.dwant"
s=$(m8_check "$work/m8.dwant" "$work/m8.direct" "M8 of direct nodes")
pass "M8 of ${#direct[@]} direct nodes (first 6) through the two-level national: $s"

# The regional relayed and audited; the national saw the regional's nodes' requests.
grep -q 'level=regional-up' "$FED_WORK/logs/$regional.log" || fail "regional log has no case relay"
"$bin/caselink-coordinator" audit verify --data "$FED_WORK/$regional" >/dev/null \
  || fail "regional audit chain broken"
sqlite3 "$FED_WORK/$regional/audit.db" .dump >"$work/audit.dump" # no grep -q on a pipe (pipefail)
grep -q 'level=regional-up measure=M8' "$work/audit.dump" \
  || fail "regional audit has no relayed M8 answer"
pass "regional logged and audited the case answers it relayed; audit chain intact"

# A regional whose national does not list it: the national refuses the forwarded request and
# the node reads why.
it_start_coordinator regional-stray "$regional" 127.0.0.1:0 "upstream: [coordinator]
coordinator_address: $flat
nodes:
$(it_node_lines "${behind[@]}")"
stray=$FED_ADDR
id=${behind[0]}
if cli alerts "$id" node-regional.yaml --purpose marac_preparation --coordinator "$stray" \
    >"$work/r.out" 2>&1; then
  fail "a national answered a case request forwarded by a regional it does not know"
fi
grep -q "national coordinator: a coordinator only forwards case requests of its own nodes" "$work/r.out" \
  || { cat "$work/r.out" >&2; fail "wrong refusal of a stray regional's case request"; }
pass "a national refuses a case request from a regional it does not list: $(grep -o 'national coordinator: [^(]*' "$work/r.out")"
echo "all two-level case checks passed"
