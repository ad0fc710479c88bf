#!/usr/bin/env bash
# Offline validation of containers/ (there is no container engine or cluster here):
#   1. yamllint on every YAML file; `docker-compose config` (Debian's docker-compose, which
#      validates against the Compose schema without an engine); shellcheck on every script.
#   2. validate.py: Dockerfiles (stages, user, health check, runtime libraries vs ldd),
#      compose.yaml (hardening, networks, ids, the computing parties' and the coordinator's
#      compute configuration), Kubernetes manifests (API models of
#      python3-kubernetes, hardening, NetworkPolicies evaluated against the expected matrix).
#   3. k8s/secrets.sh on a throw-away PKI gives Secrets that decode to the files.
#   4. The demo federation of compose.yaml without an engine: the bootstrap job, the
#      entrypoint and the health check of the images run as plain processes on loopback
#      with the demo configurations (paths and ports rewritten); the user's query is
#      compared with the generator's ground truth; a linked M2 is computed with the two
#      computing parties (cp-1, cp-2), both audit it, and its counts equal the plaintext
#      reference path's; a restarted node neither re-creates nor re-imports its store.
# usage: validate.sh SRC_DIR BIN_DIR WORK_DIR   (ctest: tests/containers.cmake)
set -euo pipefail

src=${1:?usage: validate.sh SRC_DIR BIN_DIR WORK_DIR}
bin=${2:?}
work=${3:?}/containers.$$
ct=$src/containers
py=/usr/bin/python3
# fail, pass and it_released (answers under disclosure control against the ground truth)
export CASELINK_BIN=$bin CASELINK_SRC=$src
# shellcheck source=../tests/integration/lib.sh disable=SC1091
source "$src/tests/integration/lib.sh"
passed=0

missing=()
command -v yamllint >/dev/null || missing+=(yamllint)
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v shellcheck >/dev/null || missing+=(shellcheck)
$py -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
$py -c 'import kubernetes' 2>/dev/null || missing+=(python3-kubernetes)
$py -c 'import grpc' 2>/dev/null || missing+=(python3-grpcio)
[ ${#missing[@]} -eq 0 ] || fail "missing Debian packages: ${missing[*]} (run scripts/deps as root)"

# ---- 1. linters ----
yamllint -s -c "$ct/yamllint.yaml" "$ct/compose.yaml" "$ct/demo" "$ct/k8s" "$ct/yamllint.yaml" \
  || fail "yamllint"
pass "yamllint: compose.yaml, demo/, k8s/"
out=$(cd "$ct" && docker-compose -f compose.yaml config -q 2>&1) || fail "docker-compose config: $out"
[ -z "$out" ] || fail "docker-compose config warns: $out"
pass "docker-compose config: compose.yaml is a valid Compose file"
shellcheck "$ct"/*.sh "$ct"/tools/*.sh "$ct"/k8s/*.sh || fail "shellcheck"
for f in "$ct"/*.py; do
  $py -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' "$f" \
    || fail "python syntax: $f"
done
pass "shellcheck and python syntax"

# ---- 2. structure ----
$py "$ct/validate.py" "$src" "$bin" || fail "validate.py"
pass "Dockerfiles, compose.yaml and k8s/ manifests (validate.py)"

rm -rf "$work"
mkdir -p "$work"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

# ---- 3. k8s/secrets.sh ----
"$bin/caselink" pki init-ca --out "$work/pki" >/dev/null
"$bin/caselink" pki issue --ca "$work/pki" --name coordinator --role coordinator \
    --out "$work/pki" >/dev/null
for p in cp-1 cp-2; do
  "$bin/caselink" pki issue --ca "$work/pki" --name $p --role compute --out "$work/pki" >/dev/null
done
"$ct/k8s/secrets.sh" "$work/pki" coordinator+cp-1+cp-2 >"$work/secrets.yaml"
$py - "$work/secrets.yaml" "$work/pki" <<'EOF' || fail "secrets.sh output"
import base64, sys, yaml
from kubernetes import client
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
assert len(docs) == 1 and docs[0]["kind"] == "Secret", docs
client.ApiClient()._ApiClient__deserialize(docs[0], "V1Secret")
d = docs[0]
assert d["metadata"]["name"] == "tls-coordinator", d["metadata"]
files = {"ca.pem": "ca.pem", "crl.pem": "crl.pem", "cert.pem": "coordinator.pem",
         "key.pem": "coordinator.key", "cp-1.pem": "cp-1.pem", "cp-2.pem": "cp-2.pem"}
assert sorted(d["data"]) == sorted(files), d["data"].keys()
for k, f in files.items():
    assert base64.b64decode(d["data"][k]) == open(sys.argv[2] + "/" + f, "rb").read(), k
EOF
if "$ct/k8s/secrets.sh" "$work/pki" nobody >/dev/null 2>&1; then
  fail "secrets.sh accepted a party without certificate"
fi
if "$ct/k8s/secrets.sh" "$work/pki" coordinator+cp-1+cp-3 >/dev/null 2>&1; then
  fail "secrets.sh accepted a peer without certificate"
fi
pass "k8s/secrets.sh: Secrets decode to the PKI files (the coordinator's with cp-1.pem and cp-2.pem); a missing party or peer is refused"

# ---- 4. the compose demo as plain processes ----
export PATH="$bin:$PATH"
unset http_proxy https_proxy grpc_proxy HTTP_PROXY HTTPS_PROXY
# The bootstrap job's parties and the node services' environment, from compose.yaml.
$py - "$ct/compose.yaml" >"$work/plan" <<'EOF'
import re, sys, yaml
cf = yaml.safe_load(open(sys.argv[1]))
print("PARTIES %s" % cf["services"]["bootstrap"]["environment"]["CASELINK_PARTIES"])
for name, s in cf["services"].items():
    m = re.match(r"containers/(\w+)/Dockerfile$", (s.get("build") or {}).get("dockerfile", ""))
    if not m or m.group(1) == "tools":
        continue
    conf = [v.split(":")[0] for v in s.get("volumes", []) if v.split(":")[1].endswith(".yaml")]
    env = s.get("environment") or {}
    print("SERVICE %s %s %s %s" % (m.group(1), name, conf[0],
          " ".join("%s=%s" % (k, v) for k, v in env.items())))
EOF
parties=$(sed -n 's/^PARTIES //p' "$work/plan")
mkdir -p "$work/demo" "$work/run" "$work/logs"
CASELINK_CA=$work/ca CASELINK_OUT=$work/out CASELINK_PARTIES=$parties \
CASELINK_UID=$(id -u) CASELINK_GID=$(id -g) CASELINK_DEMO_DATA=$work/demo CASELINK_LOOPBACK=1 \
CASELINK_DEMO_PERSONS=300 CASELINK_DEMO_SEED=7 \
  sh "$ct/tools/bootstrap.sh" >"$work/logs/bootstrap" 2>&1 || fail "bootstrap: $(tail -n 3 "$work/logs/bootstrap")"
[ "$(stat -c %a "$work/out/coordinator/key.pem")" = 400 ] || fail "bootstrap: key not 0400"
for p in cp-1 cp-2; do
  cmp -s "$work/out/$p/cert.pem" "$work/out/coordinator/$p.pem" \
    || fail "bootstrap: the coordinator lacks $p's certificate"
  openssl x509 -in "$work/out/$p/cert.pem" -noout -subject | grep -q "OU *= *compute" \
    || fail "bootstrap: $p's certificate is not of the role compute"
done
CASELINK_CA=$work/ca CASELINK_OUT=$work/out CASELINK_PARTIES=$parties \
CASELINK_UID=$(id -u) CASELINK_GID=$(id -g) \
  sh "$ct/tools/bootstrap.sh" >>"$work/logs/bootstrap" 2>&1 || fail "bootstrap run twice"
pass "bootstrap job: CA, $(echo "$parties" | wc -w) party certificates, demo data; idempotent"

declare -A addr pid_of
wait_ready() {
  local f=$1 pid=$2 what=$3
  for _ in $(seq 1 150); do
    [ -s "$f" ] && return 0
    kill -0 "$pid" 2>/dev/null || fail "$what exited early: $(tail -n 5 "$work/logs/$what.log")"
    sleep 0.1
  done
  fail "$what not ready after 15 s"
}
# The coordinator and the computing parties dial each other: fixed loopback ports for them.
declare -A fixed
while read -r _ kind name _; do
  case $kind in coordinator | compute)
    fixed[$name]=127.0.0.1:$($py -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  esac
done < <(grep '^SERVICE ' "$work/plan")
# start KIND NAME CONF ENV...: the image's entrypoint with the image's environment.
start() {
  local kind=$1 name=$2 conf=$3 k v
  shift 3
  sed -e "s|/etc/caselink/tls/|$work/out/$name/|" \
      -e "s|^listen: 0.0.0.0:.*|listen: ${fixed[$name]:-127.0.0.1:0}|" \
      -e "s|^keyholder: .*|keyholder: \"${addr[keyholder]:-}\"|" \
      -e "s|^policy: /etc/caselink/policy.yaml|policy: $ct/demo/policy-$name.yaml|" \
      "$ct/$conf" >"$work/$name.yaml"
  for k in "${!addr[@]}"; do sed -i "s|\"$k:7101\"|\"${addr[$k]}\"|" "$work/$name.yaml"; done
  for k in "${!fixed[@]}"; do sed -i -E "s|\"$k:[0-9]+\"|\"${fixed[$k]}\"|" "$work/$name.yaml"; done
  rm -f "$work/run/$name.addr"
  (
    export CASELINK_PARTY=$kind CASELINK_DATA=$work/data/$name CASELINK_CONFIG=$work/$name.yaml
    export CASELINK_READY_FILE=$work/run/$name.addr
    for kv in "$@"; do
      k=${kv%%=*}
      v=${kv#*=}
      [ "$k" = CASELINK_IMPORT_DIR ] && v=$work/demo/${v#/demo/}
      export "$k=$v"
    done
    exec sh "$ct/entrypoint.sh" serve
  ) >>"$work/logs/$name.log" 2>&1 &
  pids+=($!)
  pid_of[$name]=$!
  wait_ready "$work/run/$name.addr" "$!" "$name"
  addr[$name]=$(cat "$work/run/$name.addr")
}
mkdir -p "$work/data"
nodes=()
while read -r _ kind name conf envs; do
  [ "$kind" = keyholder ] || continue
  # shellcheck disable=SC2086
  start "$kind" "$name" "$conf" $envs
done < <(grep '^SERVICE ' "$work/plan")
declare -A node_env node_conf
while read -r _ kind name conf envs; do
  [ "$kind" = node ] || continue
  nodes+=("$name")
  node_env[$name]=$envs
  node_conf[$name]=$conf
  # shellcheck disable=SC2086
  start "$kind" "$name" "$conf" $envs
done < <(grep '^SERVICE ' "$work/plan")
cps=()
while read -r _ kind name conf envs; do
  [ "$kind" = compute ] || continue
  cps+=("$name")
  # shellcheck disable=SC2086
  start "$kind" "$name" "$conf" $envs
done < <(grep '^SERVICE ' "$work/plan")
while read -r _ kind name conf envs; do
  [ "$kind" = coordinator ] || continue
  # shellcheck disable=SC2086
  start "$kind" "$name" "$conf" $envs
done < <(grep '^SERVICE ' "$work/plan")
[ ${#nodes[@]} -eq 3 ] || fail "compose.yaml has ${#nodes[@]} nodes"
[ "${cps[*]}" = "cp-1 cp-2" ] || fail "compose.yaml's computing parties: ${cps[*]}"
for name in "${cps[@]}"; do
  [ -f "$work/data/$name/compute.db" ] || fail "entrypoint: $name has no audit log"
done
pass "entrypoint: keyholder init, 3 node stores created and imported, 2 computing parties initialised, coordinator; all serving"

# The images' health check against each party, with the party's own certificate.
for name in keyholder coordinator "${nodes[@]}" "${cps[@]}"; do
  kind=node
  [ "$name" = keyholder ] && kind=keyholder
  [ "$name" = coordinator ] && kind=coordinator
  case $name in cp-*) kind=compute ;; esac
  out=$(CASELINK_PARTY=$kind CASELINK_ID=$name CASELINK_PORT=${addr[$name]##*:} \
        CASELINK_TLS=$work/out/$name CASELINK_HEALTHCHECK_PY=$ct/healthcheck.py \
        sh "$ct/health.sh") || fail "health of $name: $out"
  case $kind in
    compute) [[ $out == "status: party=$name role=compute "*"ready=true" ]] \
               || fail "health of $name: $out" ;;
  esac
done
out=$(CASELINK_PARTY=node CASELINK_ID=${nodes[0]} CASELINK_PORT=1 CASELINK_TLS=$work/out/${nodes[0]} \
      CASELINK_HEALTHCHECK_PY=$ct/healthcheck.py sh "$ct/health.sh") \
  && fail "health check passed with nothing listening: $out"
pass "health.sh: every party healthy; nothing listening is unhealthy"

read -r from to _ < <(tail -n 1 "$work/demo/truth/expected/period.csv" | tr ',' ' ')
grep -q "\"$from\", --to, \"$to\"" "$ct/compose.yaml" \
  || fail "compose.yaml's query service does not ask for the demo's period $from..$to"
for name in "${nodes[@]}"; do
  awk -F, -v id="$name" '$1 == id { gsub(/"/, "", $3); print $3 "," $2 }' "$work/demo/federation.csv"
done >"$work/cells"
awk -F, 'NR == FNR { want[$1 "," $2] = 1; next }
         $4 != "*" && $6 == "incident_events" && $7 > 0 && (($3 "," $4) in want) {
           print $3 "," $4 "," $5 "," $7 }' "$work/cells" "$work/demo/truth/expected/m1.csv" \
  | LC_ALL=C sort >"$work/expected.csv"
[ -s "$work/expected.csv" ] || fail "no ground truth for the demo's nodes"
query() {
  timeout 30 caselink query incident_events --from "$from" --to "$to" \
    --by municipality,agency_type,quarter --format csv --coordinator "${addr[coordinator]}" \
    --ca "$work/out/national/ca.pem" --cert "$work/out/national/cert.pem" \
    --key "$work/out/national/key.pem"
}
query >"$work/answer.out" || fail "query: $(cat "$work/answer.out")"
grep -q "^# coverage: 3 of 3 nodes answered$" "$work/answer.out" || fail "coverage: $(cat "$work/answer.out")"
grep -v '^#' "$work/answer.out" | tail -n +2 | LC_ALL=C sort >"$work/answer.csv"
it_released "$work/expected.csv" "$work/answer.csv" || fail "the demo's answer differs from ground truth"
pass "demo query as the national user equals ground truth under disclosure control ($(wc -l <"$work/expected.csv") cells)"

# A linked M2 goes through the computing parties: the coordinator computes it with them
# (secure_computed), each party audits the computation.
timeout 60 caselink query M2 --from "$from" --to "$to" --format csv \
  --coordinator "${addr[coordinator]}" --ca "$work/out/national/ca.pem" \
  --cert "$work/out/national/cert.pem" --key "$work/out/national/key.pem" >"$work/m2.out" 2>&1 \
  || fail "M2: $(tail -n 3 "$work/m2.out")"
grep -q secure_computed "$work/logs/coordinator.log" || fail "the coordinator computed no secure M2"
for name in "${cps[@]}"; do
  caselink-compute audit verify --data "$work/data/$name" >/dev/null || fail "audit of $name broken"
  $py -c "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); sys.exit(0 if c.execute(\"select count(*) from audit_log where action = 'compute_start'\").fetchone()[0] else 1)" \
      "$work/data/$name/compute.db" || fail "$name audited no computation"
done
pass "linked M2 computed with cp-1 and cp-2 ($(grep -vc '^#' "$work/m2.out") lines), both audited it"
# The same M2 on the plaintext reference path (the coordinator without its compute section).
stop_party() {
  local p=${pid_of[$1]}
  kill -TERM "$p"
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && fail "$1 did not stop on SIGTERM"
  return 0
}
nsecure=$(grep -c secure_computed "$work/logs/coordinator.log")
stop_party coordinator
sed '/^compute:/,/^  - {party: 2/d' "$work/coordinator.yaml" >"$work/coordinator-plain.yaml"
grep -q '^compute:' "$work/coordinator-plain.yaml" && fail "compute section not removed"
while read -r _ kind name conf envs; do
  [ "$kind" = coordinator ] || continue
  # shellcheck disable=SC2086
  start "$kind" "$name" "$conf" $envs CASELINK_CONFIG="$work/coordinator-plain.yaml"
done < <(grep '^SERVICE ' "$work/plan")
timeout 60 caselink query M2 --from "$from" --to "$to" --format csv \
  --coordinator "${addr[coordinator]}" --ca "$work/out/national/ca.pem" \
  --cert "$work/out/national/cert.pem" --key "$work/out/national/key.pem" >"$work/m2-plain.out" 2>&1 \
  || fail "plaintext M2: $(tail -n 3 "$work/m2-plain.out")"
[ "$(grep -c secure_computed "$work/logs/coordinator.log")" = "$nsecure" ] \
  || fail "the plaintext M2 went through the computing parties"
grep -q "^# coverage: 3 of 3 nodes answered$" "$work/m2.out" || fail "M2 coverage: $(grep '^#' "$work/m2.out")"
grep -Eq '^\*,victims,[1-9]' "$work/m2.out" || fail "M2 counted no victim: $(grep -v '^#' "$work/m2.out" | head -n 3)"
# the count metrics, as integration_secure compares them (the secure path has no gap quantiles)
m2_counts() { grep -E ',(victims|repeat_victims|repeat_victim_episodes|hidden_repeats|gap_count),' "$1" | sort; }
[ "$(m2_counts "$work/m2.out" | wc -l)" -ge 10 ] || fail "secure M2: too few count rows"
diff <(m2_counts "$work/m2.out") <(m2_counts "$work/m2-plain.out") >"$work/m2.diff" \
  || fail "secure and plaintext M2 differ: $(head -n 5 "$work/m2.diff")"
stop_party coordinator
while read -r _ kind name conf envs; do
  [ "$kind" = coordinator ] || continue
  # shellcheck disable=SC2086
  start "$kind" "$name" "$conf" $envs
done < <(grep '^SERVICE ' "$work/plan")
pass "the secure M2's counts equal the plaintext reference path's ($(m2_counts "$work/m2.out" | wc -l) rows)"

# Restart a node the way a container restarts: same volume, same environment.
victim=${nodes[0]}
vpid=${pid_of[$victim]}
[ -n "$vpid" ] || fail "cannot find $victim's process"
kill -TERM "$vpid"
for _ in $(seq 1 100); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$vpid" 2>/dev/null && fail "$victim did not stop on SIGTERM"
port=${addr[$victim]##*:}
# shellcheck disable=SC2086
start node "$victim" "${node_conf[$victim]}" ${node_env[$victim]}
if [ "${addr[$victim]##*:}" != "$port" ]; then
  # a new ephemeral port: tell the coordinator by restarting it too
  cpid=${pid_of[coordinator]}
  kill -TERM "$cpid"
  for _ in $(seq 1 100); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
  while read -r _ kind name conf envs; do
    [ "$kind" = coordinator ] || continue
    # shellcheck disable=SC2086
    start "$kind" "$name" "$conf" $envs
  done < <(grep '^SERVICE ' "$work/plan")
fi
grep -q "a store already exists" "$work/logs/$victim.log" && fail "restart tried to re-create the store"
query >"$work/answer2.out" || fail "query after restart: $(cat "$work/answer2.out")"
grep -v '^#' "$work/answer2.out" | tail -n +2 | LC_ALL=C sort >"$work/answer2.csv"
it_released "$work/expected.csv" "$work/answer2.csv" \
  || fail "after a node restart the answer differs (imported twice?)"
pass "restarted node keeps its store and does not import again"

[ -n "${CASELINK_KEEP_WORK:-}" ] || rm -rf "$work"
echo "$passed passed, 0 failed"
