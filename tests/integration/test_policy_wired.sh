#!/usr/bin/env bash
# Integration test: policies enforced by the real daemons on loopback (docs/policy.md,
# "How the daemons enforce it"). Three nodes and a coordinator over mutual TLS:
#  - every refusal path of the coordinator's federation policy with its exact message and
#    gRPC code (role, measure, grouping, period, purpose, legal basis, rate limit);
#  - a node whose own policy is stricter than the federation's refuses ("policy:<rule>"), is
#    listed as failed in the coverage, and the other nodes answer;
#  - a node the federation policy leaves out is not asked ("not_participating");
#  - daemons refuse to start with a broken policy (located error), a policy of the wrong
#    scope, or none (unless insecure_demo, which logs a loud warning).
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init policy-wired
# A small federation: three agencies of Liepāja.
it_synth --seed 11 --persons 300
head -n 4 "$work/fed/federation.csv" >"$work/fed/federation.small"
mv "$work/fed/federation.small" "$work/fed/federation.csv"
strict=lv-liepaja-police           # its node policy is stricter than the federation's
answers=lv-liepaja-social-services # answers what the federation allows
left_out=lv-liepaja-ngo            # the federation policy leaves it out
it_setup
for id in researcher limited; do
  "$bin/caselink" pki issue --ca "$FED_PKI" --name "$id" --role user --out "$FED_PKI" \
      --loopback >/dev/null
done

fpol=$FED_WORK/federation-policy.yaml
cat >"$fpol" <<YAML
version: 1
scope: federation
roles:
  national_coordinator: {ou: user, identities: [national]}
  limited: {ou: user, identities: [limited]}
rules:
  - id: monitoring
    role: national_coordinator
    measures: [M1]
    group_by: [municipality, quarter, year]
    period: {min_days: 28, max_days: 366}
    purposes: [monitoring]
    legal_bases: [statistics]
  - id: limited-daily
    role: limited
    measures: [M1]
    period: {min_days: 28, max_days: 366}
    purposes: [monitoring]
    legal_bases: [statistics]
    rate: {per_day: 2}
participation:
  - measures: [M1]
    nodes: [$strict, $answers]
YAML
npol=$FED_WORK/nodes/$strict/policy.yaml
cat >"$npol" <<YAML
version: 1
scope: node
roles:
  national_coordinator: {ou: user, identities: [national]}
  limited: {ou: user, identities: [limited]}
rules:
  - id: quarterly-only
    role: national_coordinator
    measures: [M1]
    group_by: [quarter]
    period: {min_days: 28, max_days: 366}
    purposes: [monitoring]
    legal_bases: [statistics]
  - id: limited
    role: limited
    measures: [M1]
    period: {min_days: 28, max_days: 366}
    purposes: [monitoring]
    legal_bases: [statistics]
participation:
  - measures: [M1]
YAML

# ---- start-up refusals (the daemons stop before serving) ----
cfail() { # EXPECTED_TEXT CONFIG: caselink-coordinator serve must fail naming the text
  local want=$1 conf=$2 out
  if out=$(timeout 20 "$bin/caselink-coordinator" serve --data "$work/cdata" --config "$conf" \
             --foreground 2>&1); then
    fail "coordinator started with $conf"
  fi
  grep -qF -- "$want" <<<"$out" || fail "coordinator start-up error: want '$want', got: $out"
}
coord_conf() { # POLICY_LINE -> a coordinator configuration on stdout
  echo "listen: 127.0.0.1:0"
  echo "tls: {ca: pki/ca.pem, cert: pki/coordinator.pem, key: pki/coordinator.key}"
  [ -n "$1" ] && echo "$1"
  echo "nodes:"
  echo "  - {id: $answers, agency_type: social_services, municipality: X, country: LV," \
       "address: 127.0.0.1:1}"
}
printf 'version: 1\nscope: federation\nbogus: 1\nroles: {}\nrules: []\n' >"$FED_WORK/broken.yaml"
coord_conf "policy: broken.yaml" >"$FED_WORK/c-broken.yaml"
cfail "$FED_WORK/broken.yaml:3:1: unknown key 'bogus'" "$FED_WORK/c-broken.yaml"
coord_conf "policy: nodes/$strict/policy.yaml" >"$FED_WORK/c-scope.yaml"
cfail "$npol: scope is node, this daemon needs scope: federation" "$FED_WORK/c-scope.yaml"
coord_conf "" >"$FED_WORK/c-none.yaml"
cfail "c-none.yaml:1:1: missing 'policy' (running without one needs 'insecure_demo: true')" \
      "$FED_WORK/c-none.yaml"
coord_conf "policy: missing.yaml" >"$FED_WORK/c-missing.yaml"
cfail "$FED_WORK/missing.yaml" "$FED_WORK/c-missing.yaml"
# A node: no policy, and a policy of the wrong scope.
ndata=$FED_WORK/nodes/$answers
printf 'listen: 127.0.0.1:0\ntls: {ca: ../../pki/ca.pem, cert: ../../pki/%s.pem, key: ../../pki/%s.key}\ncoordinators: [coordinator]\n' \
    "$answers" "$answers" >"$ndata/none.yaml"
if out=$(timeout 20 "$bin/caselink-node" serve --data "$ndata" --config "$ndata/none.yaml" \
           --foreground 2>&1); then
  fail "node started without a policy"
fi
grep -qF "none.yaml:1:1: missing 'policy' (running without one needs 'insecure_demo: true')" \
    <<<"$out" || fail "node without policy: $out"
cp "$ndata/none.yaml" "$ndata/fedscope.yaml"
echo "policy: ../../federation-policy.yaml" >>"$ndata/fedscope.yaml"
if out=$(timeout 20 "$bin/caselink-node" serve --data "$ndata" --config "$ndata/fedscope.yaml" \
           --foreground 2>&1); then
  fail "node started with a federation policy"
fi
grep -qF "federation-policy.yaml: scope is federation, this daemon needs scope: node" \
    <<<"$out" || fail "node with federation policy: $out"
pass "start-up refused: broken policy (located), wrong scope, missing file, no policy"

# insecure_demo without a policy: serves, with a loud warning.
printf 'listen: 127.0.0.1:0\ninsecure_demo: true\ncoordinators: [coordinator]\n' \
    >"$ndata/insecure.yaml"
"$bin/caselink-node" serve --data "$ndata" --config "$ndata/insecure.yaml" --foreground \
    --ready-file "$FED_WORK/run/insecure.addr" </dev/null >/dev/null 2>"$FED_WORK/logs/insecure.log" &
ipid=$!
echo "$ipid" >"$FED_WORK/run/insecure.pid" # fed_stop's, should the test end before the kill
fed_wait_ready "$FED_WORK/run/insecure.addr" "$ipid" >/dev/null
kill -TERM "$ipid"
wait "$ipid" || fail "insecure node did not stop cleanly"
rm -f "$FED_WORK/run/insecure.pid"
grep -q 'event=policy_absent.*INSECURE DEMO WITHOUT A POLICY' "$FED_WORK/logs/insecure.log" \
  || fail "no loud warning without a policy: $(cat "$FED_WORK/logs/insecure.log")"
pass "insecure_demo without a policy serves with a loud warning"

fed_start
log=$FED_WORK/logs/coordinator.log

# ---- allowed: the strict node refuses, the left-out node is not asked ----
q() { fed_query incident_events --from "$from" --to "$to" "$@"; }
out=$(q --by municipality,quarter 2>&1) || fail "allowed query failed: $out"
grep -qF "coverage: 1 of 3 nodes answered" <<<"$out" || fail "coverage: $out"
grep -qF "failed: $strict (refused: policy:quarterly-only (policy.yaml))" <<<"$out" \
  || fail "node-local refusal not in coverage: $out"
grep -qF "failed: $left_out (not_participating)" <<<"$out" || fail "left-out node: $out"
rows=$(grep -vc '^#\|^municipality\|^$' <<<"$out" || true)
[ "$rows" -gt 0 ] || fail "no rows from $answers: $out"
pass "node-local refusal 'policy:quarterly-only (policy.yaml)' in coverage, $left_out not_participating, $answers answered ($rows rows)"
sql() { sqlite3 "$1" "$2"; }
n=$(sql "$FED_WORK/nodes/$strict/audit.db" \
      "SELECT count(*) FROM audit_log WHERE action='query_refused' AND details LIKE 'code=7 reason=\"policy:quarterly-only (policy.yaml)\"%'")
[ "$n" -eq 1 ] || fail "the strict node's audit log has $n policy refusals"
n=$(sql "$FED_WORK/nodes/$left_out/audit.db" "SELECT count(*) FROM audit_log" 2>/dev/null || echo 0)
[ "$n" -eq 0 ] || fail "the left-out node was asked ($n audit entries)"
pass "the strict node audited its refusal with the rule; the left-out node saw nothing"

# The same question grouped by quarter only: both participating nodes answer.
out=$(q --by quarter 2>&1) || fail "quarterly query failed: $out"
grep -qF "coverage: 2 of 3 nodes answered" <<<"$out" || fail "quarterly coverage: $out"
pass "grouped by quarter: the strict node answers too"

# ---- each refusal of the federation policy, exact message and code ----
refused() { # WHAT EXPECTED_MESSAGE ARGS...: the query must fail with exactly this message
  local what=$1 want=$2 err
  shift 2
  if err=$("$@" 2>&1 >/dev/null); then fail "$what: allowed"; fi
  grep -qF "caselink query: refused or failed: $want (" <<<"$err" \
    || fail "$what: want '$want', got: $err"
  pass "$what: $want"
}
asker() { # NAME ARGS...: caselink query as NAME
  local name=$1
  shift
  "$bin/caselink" query "$@" --coordinator "$FED_COORD" --tls-dir "$FED_PKI" --name "$name"
}
refused "role" "refused by federation-policy.yaml roles: identity 'researcher' with OU 'user' holds no role" \
    asker researcher incident_events --from "$from" --to "$to"
refused "measure" \
    "refused by federation-policy.yaml rule 'monitoring': measure M2 not allowed for role national_coordinator" \
    fed_query M2 --from "$from" --to "$to"
refused "grouping" "refused by federation-policy.yaml rule 'monitoring': group-by column 'agency_type' not allowed" \
    q --by agency_type
refused "period" "refused by federation-policy.yaml rule 'monitoring': period of 10 days is shorter than 28" \
    fed_query incident_events --from 2025-03-01 --to 2025-03-11
refused "purpose" "refused by federation-policy.yaml rule 'monitoring': purpose 'research' not allowed" \
    q --purpose research
refused "legal basis" "refused by federation-policy.yaml rule 'monitoring': legal basis 'consent' not allowed" \
    q --legal-basis consent
# Rate limit: two queries a day for `limited`, counted only when allowed; the third is refused.
for i in 1 2; do
  out=$(asker limited incident_events --from "$from" --to "$to" 2>&1) \
    || fail "limited query $i refused: $out"
done
refused "rate limit" "refused by federation-policy.yaml rule 'limited-daily': rate limit of 2 queries per day reached" \
    asker limited incident_events --from "$from" --to "$to"
# Audited with their codes: PERMISSION_DENIED (7) for the rules, RESOURCE_EXHAUSTED (8) for the rate.
caudit=$FED_WORK/coordinator/audit.db
n=$(sql "$caudit" "SELECT count(*) FROM audit_log WHERE action='query_refused' AND details LIKE 'code=7 reason=\"refused by %'")
[ "$n" -eq 6 ] || fail "coordinator audit: $n policy refusals with PERMISSION_DENIED, want 6"
n=$(sql "$caudit" "SELECT count(*) FROM audit_log WHERE action='query_refused' AND details LIKE 'code=8 reason=\"refused by %rate limit%'")
[ "$n" -eq 1 ] || fail "coordinator audit: $n rate refusals with RESOURCE_EXHAUSTED, want 1"
grep -q 'event=refused .*code=8 .*rate limit of 2 queries per day reached' "$log" \
  || fail "rate refusal not logged with RESOURCE_EXHAUSTED"
pass "refusals audited: 6 PERMISSION_DENIED, 1 RESOURCE_EXHAUSTED"

# No node saw any of the refused questions: only the two allowed queries of `national`
# reached the participating nodes, and the two of `limited`, which $answers's own policy
# (no such role there) refuses.
n=$(sql "$FED_WORK/nodes/$answers/audit.db" "SELECT count(*) FROM audit_log WHERE action='query_answered'")
[ "$n" -eq 2 ] || fail "$answers answered $n queries, want 2"
n=$(sql "$FED_WORK/nodes/$answers/audit.db" \
      "SELECT count(*) FROM audit_log WHERE action='query_refused' AND details LIKE 'code=7 reason=\"policy:roles (policy.yaml)\"%requester=limited%'")
[ "$n" -eq 2 ] || fail "$answers refused $n queries of limited by its roles, want 2"
n=$(sql "$FED_WORK/nodes/$strict/audit.db" "SELECT count(*) FROM audit_log WHERE action='query_answered'")
[ "$n" -eq 3 ] || fail "$strict answered $n queries, want 3"
pass "refused questions never reached a node; $answers refused 'limited' by its own roles"

fed_stop
rm -rf "$work"
echo "passed: $passed"
