#!/usr/bin/env bash
# Integration test: M7 case_history and M8 high_risk_alerts through a generated federation
# (keyholder, filled token caches, one node per agency, coordinator, mutual TLS, policies).
# A node's case coordinator runs `caselink-node case-history` / `alerts` with the node's own
# certificate; the answers are compared with `caselink synth`'s ground truth:
#  - M7 exactly, for persons whose linkage is unambiguous (every row carries the same personal
#    code, so id tokens link them and nothing else can): general and child_protection, a
#    person with a restricted record elsewhere (left out, counted), and a restricted requester;
#  - M8 for every node: real linkage, so rows may differ by linkage errors only — every row
#    missing altogether belongs to a person whose linkage is ambiguous, at most 10 % extra or
#    changed rows; the differences are printed;
#  - refusals: a user asking M7, a node asking an aggregate.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# M7/M8 against the ground truth of every agency: nodes disclose every linked record
# (tests/integration/test_case_attack.sh runs the default case_disclosure policies).
export FED_CASE_DISCLOSURE=open
it_init cases
it_federation --seed 12 --persons 700
fed_start_keyholder
fed_fill_tokens
fed_start
exp=$work/fed/truth/expected

# Requests whose person's rows all carry one and the same code (unambiguous linkage), with the
# status truth gives them under general: prints "agency ref status" lines.
it_unambiguous "$work/unambiguous.rows" >"$work/unambiguous.txt"
[ -s "$work/unambiguous.txt" ] || fail "no unambiguously linked person in the generated data"

history() { # AGENCY REF BASIS -> the CLI's csv (comments kept); truth's "general" is any
  # legal basis other than child_protection: here the Latvian cooperation basis of the policy
  local basis=$3
  [ "$basis" = general ] && basis=lv_interinstitutional_cooperation
  "$bin/caselink-node" case-history --data "$work/run/nodes/$1" "$2" --purpose case_review \
      --legal-basis "$basis" --as-of "$as_of" --coordinator "$FED_COORD" --format csv
}
truth7() { # AGENCY REF BASIS -> truth rows seq,occurred_at,...
  awk -F, -v a="$1" -v r="$2" -v b="$3" '$2 == b && $3 == a && $4 == r' "$exp/m7.csv" |
      cut -d, -f5-
}
own_events() { # AGENCY REF -> events of the requester's own agency in its child_protection truth
  awk -F, -v a="$1" -v r="$2" '$2 == "child_protection" && $3 == a && $4 == r && $8 == a' \
      "$exp/m7.csv" | wc -l
}
check_history() { # AGENCY REF BASIS
  history "$1" "$2" "$3" >"$work/h.csv" || fail "case-history $1 $3 failed"
  diff <(truth7 "$1" "$2" "$3") <(grep -v '^#' "$work/h.csv" | tail -n +2) >"$work/h.diff" ||
      { cat "$work/h.diff" >&2; fail "M7 of a record of $1 ($3) differs from ground truth"; }
}

# Complete histories (several agencies' records), general basis.
n=0
while read -r agency ref status events; do
  [ "$status" = complete ] && [ "$events" -ge 3 ] && [ "$(own_events "$agency" "$ref")" -ge 1 ] ||
      continue
  check_history "$agency" "$ref" general
  grep -q '^# left out: nothing' "$work/h.csv" || fail "a complete history says something was left out"
  n=$((n + 1))
  [ $n -lt 4 ] || break
done <"$work/unambiguous.txt"
[ $n -ge 1 ] || fail "no complete history to compare"
pass "M7 equals ground truth for $n unambiguously linked persons"

# A person with a restricted record at another agency: left out and counted under general,
# shown under child_protection.
ref=
while read -r a r _ _; do
  [ "$(own_events "$a" "$r")" -ge 1 ] && { agency=$a; ref=$r; break; }
done < <(awk '$3 == "partial" && $4 > 0' "$work/unambiguous.txt")
if [ -n "${ref:-}" ]; then
  check_history "$agency" "$ref" general
  omitted=$(awk -F, -v a="$agency" -v r="$ref" '$2 == "general" && $3 == a && $4 == r { print $7 }' \
      "$exp/m7_requests.csv")
  grep -q "^# left out: $omitted restricted record" "$work/h.csv" ||
      fail "the partial history does not say that $omitted record(s) were left out"
  check_history "$agency" "$ref" child_protection
  grep -q '^# left out: nothing' "$work/h.csv" || fail "child_protection left something out"
  pass "M7 restricted records: left out and counted under general, shown under child_protection"
else
  fail "no unambiguously linked person with a restricted record elsewhere (seed changed?)"
fi

# The requester's own record restricted: absent, no rows; child_protection shows the history.
ref=
while read -r a r _ _; do
  [ "$(own_events "$a" "$r")" -ge 1 ] && { agency=$a; ref=$r; break; }
done < <(awk '$3 == "requester_restricted"' "$work/unambiguous.txt")
if [ -n "${ref:-}" ]; then
  history "$agency" "$ref" general >"$work/h.csv" || fail "case-history of a restricted record failed"
  grep -q '^# this agency restricted the record' "$work/h.csv" || fail "no restricted-record notice"
  [ "$(grep -vc '^#' "$work/h.csv")" -le 1 ] || fail "a restricted requester record got rows"
  check_history "$agency" "$ref" child_protection
  pass "M7 of a restricted record: nothing under general, the history under child_protection"
else
  fail "no unambiguously linked restricted requester record (seed changed?)"
fi

# M8: every node's alerts against the truth (real linkage).
: >"$work/m8.got"
for id in "${FED_IDS[@]}"; do
  "$bin/caselink-node" alerts --data "$work/run/nodes/$id" --as-of "$as_of" \
      --purpose marac_preparation --legal-basis lv_interinstitutional_cooperation --coordinator "$FED_COORD" \
      --format csv >"$work/a.csv" || fail "alerts of $id failed"
  grep -q '^# coverage: [0-9]* of [0-9]* nodes answered' "$work/a.csv" || fail "alerts without coverage"
  grep -v '^#' "$work/a.csv" | tail -n +2 | sed "s/^/$id,/" >>"$work/m8.got"
done
awk -F, '$2 == "general"' "$exp/m8.csv" | cut -d, -f3- | LC_ALL=C sort >"$work/m8.want"
LC_ALL=C sort -o "$work/m8.got" "$work/m8.got"
want=$(wc -l <"$work/m8.want")
[ "$want" -gt 0 ] || fail "the ground truth has no M8 alert"
missing=$(LC_ALL=C comm -23 "$work/m8.want" "$work/m8.got" | wc -l)
extra=$(LC_ALL=C comm -13 "$work/m8.want" "$work/m8.got" | wc -l)
LC_ALL=C comm -3 "$work/m8.want" "$work/m8.got" | head -n 10 | sed 's/^/  differs: /'
# A row absent altogether is explained by linkage only when its person is not unambiguously
# linked (a row without the common code, an NGO's second file, a swapped birth date, ...); a
# row present with other reasons or agency types means a record linked to the wrong person.
LC_ALL=C comm -23 "$work/m8.want" "$work/m8.got" | cut -d, -f1,2 | LC_ALL=C sort -u >"$work/m8.miss"
cut -d, -f1,2 "$work/m8.got" | LC_ALL=C sort -u >"$work/m8.gotrows"
LC_ALL=C comm -23 "$work/m8.miss" "$work/m8.gotrows" >"$work/m8.absent"
changed=$(LC_ALL=C comm -12 "$work/m8.miss" "$work/m8.gotrows" | wc -l)
unexplained=$(LC_ALL=C comm -12 "$work/m8.absent" <(LC_ALL=C sort "$work/unambiguous.rows") | wc -l)
[ "$unexplained" -eq 0 ] || fail "M8: $unexplained absent alert row(s) of unambiguously linked persons"
[ $(((extra + changed) * 10)) -le "$want" ] ||
    fail "M8: $extra extra and $changed changed rows of $want (over 10 %)"
pass "M8 alerts of all ${#FED_IDS[@]} nodes: $want expected rows, $missing missing ($changed with other reasons/types, the rest of persons with ambiguous linkage), $extra extra"

# Refusals: M7/M8 only from agency nodes; nodes ask nothing else.
if fed_query M7 --from 1900-01-01 --to 2026-01-01 >"$work/r.out" 2>&1; then
  fail "a user was answered M7"
fi
grep -q "only by agency nodes" "$work/r.out" || { cat "$work/r.out" >&2; fail "wrong refusal of M7 to a user"; }
if "$bin/caselink" query M1 --from 2025-01-01 --to 2026-01-01 --coordinator "$FED_COORD" \
    --tls-dir "$FED_PKI" --name "${FED_IDS[0]}" >"$work/r.out" 2>&1; then
  fail "a node was answered an aggregate"
fi
grep -q "ask only the case measures" "$work/r.out" || { cat "$work/r.out" >&2; fail "wrong refusal of M1 to a node"; }
pass "refusals: M7 to a user, M1 to a node"

# The as-of date is bounded by the policies (max_days_ahead 1 in the generated ones), for M8
# and for M7 alike: an answer "as of" years ahead is refused before any node is asked.
for cmd in alerts case-history; do
  args=(); [ "$cmd" = case-history ] &&
      args=("$(awk -F, 'NR == 2 { print $1 }' "$work/fed/agencies/${FED_IDS[0]}/persons.csv")")
  if "$bin/caselink-node" "$cmd" --data "$work/run/nodes/${FED_IDS[0]}" "${args[@]}" \
      --as-of 2030-01-01 --purpose case_review --legal-basis lv_interinstitutional_cooperation \
      --coordinator "$FED_COORD" >"$work/r.out" 2>&1; then
    fail "$cmd --as-of 2030-01-01 was answered"
  fi
  grep -q "as-of date [0-9]* days after today, at most 1" "$work/r.out" ||
      { cat "$work/r.out" >&2; fail "wrong refusal of $cmd --as-of 2030-01-01"; }
done
pass "as-of beyond max_days_ahead refused: alerts and case-history --as-of 2030-01-01"
