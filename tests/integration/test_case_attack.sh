#!/usr/bin/env bash
# Integration test: the fabricated-record attack on case answers (issue 12 §1) against the
# DEFAULT case_disclosure policies (docs/policy.md "Case answers"), and a real shared case
# still answered. One generated federation (seed 12, 700 persons, 18 nodes), real daemons on
# loopback, mutual TLS, generated policies without FED_CASE_DISCLOSURE.
#  - attack: lt-klaipeda-police, which holds no record of a Liepāja victim, imports a made-up
#    person carrying only her personal code and one invented high-risk event, fills its token
#    cache and asks case-history (its usual basis and child_protection) and alerts: it gets no
#    row of any other agency, the coverage names the holders that withheld her records, their
#    audit chains hold the refusals and no disclosure to it;
#  - real case: Liepāja police referred her to Liepāja social services; the social services'
#    case coordinator asks her history: the police rows are there (evidence: referral), the
#    police node's `audit disclosures` names its own person_ref, the asking agency, purpose,
#    legal basis, rule and evidence; holders without evidence withhold theirs (coverage).
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
it_init case_attack
unset FED_CASE_DISCLOSURE # the defaults every node policy gets
it_federation --seed 12 --persons 700
police=lv-liepaja-police
social=lv-liepaja-social-services
attacker=lt-klaipeda-police

# The victim: a valid Latvian code held, not restricted, by Liepāja police with a referral to
# social services and by Liepāja social services. Prints: code police_ref social_ref events
# (her events at every agency but the attacker's: what a leak would hand over).
python3 - "$work/fed/agencies" "$police" "$social" "$attacker" >"$work/victim.txt" <<'PY'
import csv, sys, os
root, police, social, attacker = sys.argv[1:]
def persons(a):
    return list(csv.DictReader(open(os.path.join(root, a, "persons.csv"), encoding="utf-8")))
def events(a):
    return list(csv.DictReader(open(os.path.join(root, a, "events.csv"), encoding="utf-8")))
ev_police = events(police)
referred = {e["person_ref"] for e in ev_police
            if e["event_type"] == "referral_sent" and e["referral_to"] == "social_services"}
by_code = {}
for a in os.listdir(root):
    for p in persons(a):
        if p["national_id"] and p["sharing"] != "restricted":
            by_code.setdefault(p["national_id"], []).append((a, p["person_ref"]))
for p in persons(police):
    code = p["national_id"]
    if p["person_ref"] not in referred or not code or p["sharing"] == "restricted":
        continue
    held = by_code.get(code, [])
    socials = [r for a, r in held if a == social]
    if len(socials) != 1 or any(a == attacker for a, _ in held):
        continue
    # her social-services record holds no evidence for police (no referral to it, no MARAC)
    if any(e["person_ref"] == socials[0] and (e["event_type"] == "marac_case_review" or
           e["referral_to"] == "police") for e in events(social)):
        continue
    n = 0
    for a, r in held:
        n += sum(1 for e in events(a) if e["person_ref"] == r)
    print(code, p["person_ref"], socials[0], n)
    break
PY
read -r code pref sref leak <"$work/victim.txt" || fail "no referred victim held by $police and $social (seed changed?)"
[ "$leak" -ge 3 ] || fail "the victim has only $leak events"

# The attacker's fabricated record: her code only, one invented high-risk event.
printf 'person_ref,national_id,id_country,given_name,family_name,birth_date,sex,sharing\nFAKE0001,%s,LV,,,,F,\n' \
    "$code" >"$work/fake-persons.csv"
printf 'event_ref,person_ref,event_type,occurred_at,role,other_person_ref,relationship,violence_forms,risk_level,risk_score,risk_instrument,child_threat_level,referral_to,municipality\nFAKE-E1,FAKE0001,police_callout,%sT10:00:00Z,victim,,,,high,,,,,\n' \
    "$as_of" >"$work/fake-events.csv"
"$bin/caselink-node" import --data "$work/run/nodes/$attacker" --persons "$work/fake-persons.csv" \
    --events "$work/fake-events.csv" >"$work/fake.import" || { cat "$work/fake.import" >&2; fail "fabricated import refused"; }
fed_start_keyholder
fed_fill_tokens
fed_start

ask() { # NODE CMD [REF] BASIS -> csv answer (comments kept)
  local node=$1 cmd=$2 ref=() basis
  if [ "$cmd" = case-history ]; then ref=("$3"); basis=$4; else basis=$3; fi
  "$bin/caselink-node" "$cmd" --data "$work/run/nodes/$node" "${ref[@]}" --as-of "$as_of" \
      --purpose case_review --legal-basis "$basis" --coordinator "$FED_COORD" --format csv
}
others() { # CSV-FILE AGENCY -> rows of agencies other than AGENCY (agency_id is column 4)
  grep -v '^#' "$1" | tail -n +2 | awk -F, -v a="$2" '$4 != a' | wc -l
}

# The attack, refused by default: no row of another agency, whatever the legal basis.
for basis in lt_domestic_violence_law child_protection; do
  ask "$attacker" case-history FAKE0001 "$basis" >"$work/attack.csv" ||
      { cat "$work/attack.csv" >&2; fail "the attacker's case-history failed ($basis)"; }
  [ "$(others "$work/attack.csv" "$attacker")" -eq 0 ] ||
      { cat "$work/attack.csv" >&2; fail "the fabricated record got other agencies' rows ($basis)"; }
  grep -q "^#   withheld: $police kept [0-9]* linked record(s) out (policy:case_disclosure (policy.yaml))" \
      "$work/attack.csv" || { cat "$work/attack.csv" >&2; fail "coverage does not show $police's refusal ($basis)"; }
  grep -q '^# left out: [0-9]* linked record(s) of other agencies, withheld' "$work/attack.csv" ||
      fail "the answer does not say records were withheld ($basis)"
done
grep -c '^#   withheld:' "$work/attack.csv" >"$work/holders.txt"
pass "fabricated record: 0 of the victim's $leak events (basis lt_domestic_violence_law and child_protection), $(cat "$work/holders.txt") holder(s) withheld, named in the coverage"

ask "$attacker" alerts lt_domestic_violence_law >"$work/alerts.csv" || fail "the attacker's alerts failed"
if grep -v '^#' "$work/alerts.csv" | grep -q '^FAKE0001,'; then
  cat "$work/alerts.csv" >&2; fail "the fabricated record was alerted"
fi
pass "fabricated record: no high-risk alert (M8), no other agency type named"

# The holders' audit: refusals recorded, no disclosure to the attacker; chains intact.
"$bin/caselink-node" audit disclosures --data "$work/run/nodes/$police" --format csv >"$work/police.disc"
if grep -q ",$attacker," "$work/police.disc"; then fail "$police audited a disclosure to $attacker"; fi
refused=$(python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("SELECT count(*) FROM audit_log WHERE action = ? AND details LIKE ?",
                 ("case_disclosure_refused", "%police%Klaip%(LT)%")).fetchone()[0])' \
    "$work/run/nodes/$police/audit.db")
[ "$refused" -ge 3 ] || fail "$police audited $refused refusal(s) of the attacker's 3 requests, not 3"

# The real case: social services asks about the woman police referred to it.
ask "$social" case-history "$sref" lv_interinstitutional_cooperation >"$work/real.csv" ||
    { cat "$work/real.csv" >&2; fail "the real case's history failed"; }
np=$(grep -v '^#' "$work/real.csv" | tail -n +2 | awk -F, -v a="$police" '$4 == a' | wc -l)
want=$(awk -F, -v r="$pref" -v d="$as_of" '$2 == r && substr($4, 1, 10) <= d' \
    "$work/fed/agencies/$police/events.csv" | wc -l)
[ "$np" -eq "$want" ] || { cat "$work/real.csv" >&2; fail "the real case shows $np of police's $want events"; }
"$bin/caselink-node" audit disclosures --data "$work/run/nodes/$police" --format csv >"$work/police.disc"
grep -q "^[0-9]*,[^,]*,$pref,$social,M7,case_review,lv_interinstitutional_cooperation,default-shared-case,referral$" \
    "$work/police.disc" || { cat "$work/police.disc" >&2; fail "$police's audit does not list its disclosure of $pref"; }
"$bin/caselink-node" audit verify --data "$work/run/nodes/$police" | grep -q "audit log intact" ||
    fail "$police's audit chain is broken"
pass "real case: $social sees police's $np event(s) of the woman it referred (evidence referral); $police's audit disclosures names $pref, $social, purpose, basis, rule"

# Police asking about the same woman: social services holds no referral to police, so it
# withholds (no evidence) — the referral is evidence in one direction only.
ask "$police" case-history "$pref" lv_interinstitutional_cooperation >"$work/back.csv" ||
    fail "police's history failed"
[ "$(grep -v '^#' "$work/back.csv" | tail -n +2 | awk -F, -v a="$social" '$4 == a' | wc -l)" -eq 0 ] ||
    fail "social services disclosed without evidence"
grep -q "^#   withheld: $social kept [0-9]* linked record(s) out (no_evidence)" "$work/back.csv" ||
    { cat "$work/back.csv" >&2; fail "coverage does not show social services' no_evidence"; }
pass "no evidence, no disclosure: $social withholds from $police (no_evidence in the coverage)"

# The coordinator never received an M7 event: every node's TOKENS answers to the case
# histories above carried linkage material only (its audit: events=0); the rows went sealed
# from holder to asker in phase 2 (the asking node opened them: the real case above).
python3 - "$work/run/nodes" >"$work/m7events.txt" <<'PY'
import os, sqlite3, sys
root = sys.argv[1]
answers = events = 0
for node in sorted(os.listdir(root)):
    db = sqlite3.connect(os.path.join(root, node, "audit.db"))
    for (d,) in db.execute("SELECT details FROM audit_log WHERE action = 'query_answered'"):
        if "mode=tokens" in d and "measure=M7" in d:
            answers += 1
            events += int(d.split(" events=")[1].split(" ")[0])
print(answers, events)
PY
read -r answers events <"$work/m7events.txt"
[ "$answers" -ge 18 ] || fail "only $answers M7 TOKENS answers audited"
[ "$events" -eq 0 ] || fail "the nodes sent the coordinator $events M7 event(s)"
pass "M7: $answers TOKENS answers of the nodes carried 0 events to the coordinator (rows sealed holder to asker)"
