#!/usr/bin/env bash
# A linked M2 under secure computation through real processes on loopback: nodes, keyholder,
# two caselink-compute parties and the coordinator over mutual TLS (docs/secure-computation.md).
# The secure answer's counts equal the plaintext path's on the same nodes (the coordinator
# restarted without computing parties); the nodes' audits record share answers, each
# computing party's audit the computation; a computing party down gives a clear failure
# naming it and releases nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init secure
FED_COMPUTE=1
it_synth --seed 41 --persons 1500 --municipalities liepaja,klaipeda
# Linkage by personal code alone, so that two queries link alike (fuzzy links of the
# re-keyed filters can differ from query to query): every row of a person carries the code
# at least two of its rows agree on; persons without one, and their events, are left out.
python3 - "$work/fed" <<'PY'
import csv, sys, collections
d = sys.argv[1]
truth = {(r["agency_id"], r["person_ref"]): r["true_person_id"]
         for r in csv.DictReader(open(d + "/truth/links.csv"))}
agencies = [r["agency_id"] for r in csv.DictReader(open(d + "/federation.csv"))]
codes = collections.defaultdict(collections.Counter)
for a in agencies:
    for p in csv.DictReader(open(f"{d}/agencies/{a}/persons.csv")):
        if p["national_id"]:
            codes[truth[(a, p["person_ref"])]][(p["national_id"], p["id_country"])] += 1
best = {t: c.most_common(1)[0][0] for t, c in codes.items() if c.most_common(1)[0][1] >= 2}
for a in agencies:
    pf = f"{d}/agencies/{a}/persons.csv"
    rows = list(csv.DictReader(open(pf)))
    keep = set()
    with open(pf, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys() if rows else [], lineterminator="\n")
        w.writeheader()
        for p in rows:
            t = truth[(a, p["person_ref"])]
            if t in best:
                p["national_id"], p["id_country"] = best[t]
                w.writerow(p)
                keep.add(p["person_ref"])
    ef = f"{d}/agencies/{a}/events.csv"
    evs = list(csv.DictReader(open(ef)))
    with open(ef, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=evs[0].keys() if evs else [], lineterminator="\n")
        w.writeheader()
        for e in evs:
            if e["person_ref"] in keep:
                if e.get("other_person_ref") and e["other_person_ref"] not in keep:
                    e["other_person_ref"] = ""
                w.writerow(e)
PY
it_setup
# A researcher under DP besides the national user, for the budget refund below.
"$bin/caselink" pki issue --ca "$FED_PKI" --name researcher1 --role user --out "$FED_PKI" \
  --loopback >/dev/null
policy() { # SCOPE
  cat <<YAML
version: 1
scope: $1
description: secure computation test federation
roles:
  national_coordinator: {ou: user, identities: [national]}
  researcher: {ou: user, identities: [researcher1]}
disclosure:
  national_coordinator: {threshold: 5, rounding: 1}
  researcher:
    threshold: 5
    rounding: 1
    dp: {mechanism: discrete_laplace, epsilon_per_query: 0.4, budget: 1.0, budget_period_days: 365}
rules:
  - {id: national, role: national_coordinator, measures: [M1, M2, M3, M4, M5, M6],
     period: {min_days: 1, max_days: 3660}, purposes: [monitoring], legal_bases: [statistics]}
  - {id: research, role: researcher, measures: [M1, M2, M3, M4, M5, M6],
     period: {min_days: 1, max_days: 3660}, purposes: [monitoring], legal_bases: [statistics]}
participation:
  - measures: [M1, M2, M3, M4, M5, M6]
YAML
}
policy federation >"$FED_WORK/federation-policy.yaml"
for id in "${FED_IDS[@]}"; do policy node >"$FED_WORK/nodes/$id/policy.yaml"; done
research() { "$bin/caselink" query "$@" --coordinator "$FED_COORD" --tls-dir "$FED_PKI" --name researcher1; }
fed_start
fed_start_keyholder
fed_fill_tokens

counts() { # the count metrics of an M2 CSV answer, sorted
  grep -E ',(victims|repeat_victims|repeat_victim_episodes|hidden_repeats|gap_count),' "$1" | sort
}

fed_query M2 --from "$from" --to "$to" --format csv >"$work/secure.csv" 2>"$work/secure.err" \
  || fail "secure M2: $(cat "$work/secure.err")"
for m in M4 M5; do
  fed_query $m --from "$from" --to "$to" --format csv >"$work/secure-$m.csv" 2>"$work/secure.err" \
    || fail "secure $m: $(cat "$work/secure.err")"
done
n=$(counts "$work/secure.csv" | wc -l)
[ "$n" -ge 10 ] || fail "secure M2 answered only $n count rows"
grep -q 'secure_computed' "$work/run/logs/coordinator.log" || fail "coordinator computed no secure M2"
for id in "${FED_IDS[@]}"; do
  "$bin/caselink-node" audit verify --data "$work/run/nodes/$id" >/dev/null \
    || fail "audit of $id broken"
done
for p in 1 2; do
  "$bin/caselink-compute" audit verify --data "$work/run/cp-$p" >/dev/null || fail "audit of cp-$p broken"
  python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); sys.exit(0 if c.execute(\"select count(*) from audit_log where action='compute_start'\").fetchone()[0] else 1)" "$work/run/cp-$p/compute.db" || fail "party $p audited no computation"
  grep -q "compute_end.*outcome=ok" "$work/run/logs/cp-$p.log" || fail "party $p ran no computation"
done
pass "secure M2: $n count rows; the computing parties and the nodes audited it"

# What a node sends the coordinator for a secure M2 (the bytes as received, decoded by
# tests/it_request): records with slots and no event, one ShareUpload.
tool=${CASELINK_IT_TOOLS:?}/it_request
node=${FED_IDS[0]}
"$tool" secure "$FED_PKI" national coordinator "$from" "$to" "$work/secure-req.bin"
got=$("$tool" send "$FED_PKI" coordinator node \
  "$(fed_wait_ready "$FED_WORK/run/$node.addr" "$(cat "$FED_WORK/run/$node.pid")")" \
  "$work/secure-req.bin") || fail "node $node refused the secure request: $got"
[[ $got == *" with_events=0 events=0 "* ]] || fail "node $node sent events: $got"
[[ $got == *" shares=1 "* ]] || fail "node $node sent no ShareUpload: $got"
records=$(sed 's/.* records=\([0-9]*\).*/\1/' <<<"$got")
slots=$(sed 's/.* slots=\([0-9]*\).*/\1/' <<<"$got")
[ "$records" -gt 10 ] && [ "$slots" -ge "$records" ] || fail "node $node: records and slots: $got"
pass "node $node to the coordinator: $records records, no event, $slots slots, one ShareUpload"

# The same question on the plaintext path: the coordinator alone, events sent to it.
sed -i '/^compute:/,/^  - {party: 2/d' "$work/run/coordinator.yaml"
fed_restart_coordinator
fed_query M2 --from "$from" --to "$to" --format csv >"$work/plain.csv" 2>"$work/plain.err" \
  || fail "plaintext M2: $(cat "$work/plain.err")"
diff <(counts "$work/secure.csv") <(counts "$work/plain.csv") >"$work/diff" \
  || fail "secure and plaintext M2 differ: $(head -5 "$work/diff")"
pass "secure M2 equals the plaintext path's counts ($n rows)"
for m in M4 M5; do
  fed_query $m --from "$from" --to "$to" --format csv >"$work/plain-$m.csv" 2>"$work/plain.err" \
    || fail "plaintext $m: $(cat "$work/plain.err")"
  rows=$(grep -vc '^#' "$work/secure-$m.csv")
  [ "$rows" -ge 6 ] || fail "secure $m answered $rows lines"
  diff <(grep -v '^#' "$work/secure-$m.csv") <(grep -v '^#' "$work/plain-$m.csv") >"$work/diff-$m" \
    || fail "secure and plaintext $m differ: $(head -5 "$work/diff-$m")"
  pass "secure $m equals the plaintext path ($rows lines)"
done

# A computing party down: refused, naming it, nothing released.
cat >>"$work/run/coordinator.yaml" <<YAML
compute:
  - {party: 1, id: cp-1, address: ${FED_COMPUTE_ADDR[1]}, cert: pki/cp-1.pem}
  - {party: 2, id: cp-2, address: ${FED_COMPUTE_ADDR[2]}, cert: pki/cp-2.pem}
YAML
fed_restart_coordinator
fed_stop_one cp-2
rc=0
fed_query M2 --from "$from" --to "$to" --format csv >"$work/down.csv" 2>"$work/down.err" || rc=$?
[ "$rc" != 0 ] || fail "M2 answered with party 2 down"
grep -q 'party 2' "$work/down.err" || fail "the failure does not name party 2: $(cat "$work/down.err")"
if counts "$work/down.csv" | grep -q .; then fail "rows released with party 2 down"; fi
pass "party 2 down: refused naming it, nothing released"

# The researcher's budget (1.0, 0.4 a query): a query that fails with party 2 down is refunded,
# so two more queries (0.8) still fit once it is back; the one after them does not.
rc=0
research M2 --from "$from" --to "$to" --format csv >/dev/null 2>"$work/r0.err" || rc=$?
[ "$rc" != 0 ] || fail "researcher: M2 answered with party 2 down"
fed_daemon cp-2 "$bin/caselink-compute" serve --data "$FED_WORK/cp-2" --config "$FED_WORK/cp-2.yaml"
research M2 --from "$from" --to "$to" --format json >"$work/r1.json" 2>"$work/r1.err" \
  || fail "researcher: first M2 after the failure refused: $(cat "$work/r1.err")"
research M4 --from "$from" --to "$to" --format json >"$work/r2.json" 2>"$work/r2.err" \
  || fail "researcher: second query refused (the failed one was charged?): $(cat "$work/r2.err")"
grep -q '"budget_remaining": 0.2' "$work/r2.json" || fail "researcher: budget after two queries: $(grep -o '"budget_remaining": [0-9.]*' "$work/r2.json")"
if research M5 --from "$from" --to "$to" --format csv >/dev/null 2>"$work/r3.err"; then
  fail "researcher: a third query beyond the budget was answered"
fi
pass "researcher: the query that failed with party 2 down was refunded (0.2 left after two more)"
echo "$passed passed, 0 failed"
