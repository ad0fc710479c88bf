#!/bin/sh
# caselink-bootstrap — the demo federation's one-shot PKI job (containers/compose.yaml).
# Idempotent: what exists is kept, so it can run before every `docker compose up`.
#
#   CASELINK_CA       folder of the federation CA (ca.pem, ca.key, crl.pem); created once.
#                     Only this job mounts it.
#   CASELINK_OUT      folder with one sub-folder per party (each the party's own volume),
#                     filled with ca.pem, crl.pem, cert.pem and key.pem (0400), owned by
#                     CASELINK_UID:CASELINK_GID (default 10001, the images' user).
#   CASELINK_PARTIES  space-separated ID:ROLE pairs, e.g. "keyholder:keyholder
#                     coordinator:coordinator lv-liepaja-police:node national:user";
#                     each certificate carries DNS:ID (the party's host name in the demo).
#                     Every party of the role coordinator also gets the certificates of the
#                     parties of the role compute, as ID.pem (the coordinator's compute:
#                     section names them; the nodes get them from it to seal to).
#   CASELINK_LOOPBACK optional, for tests that run the parties as processes on one host
#                     (containers/validate.sh): 1 adds DNS:localhost and IP:127.0.0.1 to
#                     every certificate. Never set in a deployment.
#   CASELINK_DEMO_DATA  optional: a folder to fill once with `caselink synth` output.
# The CRL is copied to every party on each run: after `caselink pki revoke`, run the job
# again and restart the parties.
set -eu

ca=${CASELINK_CA:?CASELINK_CA is not set}
out=${CASELINK_OUT:?CASELINK_OUT is not set}
parties=${CASELINK_PARTIES:?CASELINK_PARTIES is not set}
owner=${CASELINK_UID:-10001}:${CASELINK_GID:-10001}
umask 077

if [ ! -f "$ca/ca.pem" ]; then
  caselink pki init-ca --out "$ca"
fi
for entry in $parties; do
  id=${entry%%:*}
  role=${entry#*:}
  dir=$out/$id
  mkdir -p "$dir"
  if [ ! -f "$dir/cert.pem" ] || [ ! -f "$dir/key.pem" ]; then
    tmp=$(mktemp -d)
    if [ "${CASELINK_LOOPBACK:-0}" = 1 ]; then
      caselink pki issue --ca "$ca" --name "$id" --role "$role" --dns "$id" --loopback --out "$tmp"
    else
      caselink pki issue --ca "$ca" --name "$id" --role "$role" --dns "$id" --out "$tmp"
    fi
    rm -f "$dir/cert.pem" "$dir/key.pem"
    cp "$tmp/$id.key" "$dir/key.pem"
    cp "$tmp/$id.pem" "$dir/cert.pem"
    rm -rf "$tmp"
  fi
  cp "$ca/ca.pem" "$dir/ca.pem.new" && mv -f "$dir/ca.pem.new" "$dir/ca.pem"
  cp "$ca/crl.pem" "$dir/crl.pem.new" && mv -f "$dir/crl.pem.new" "$dir/crl.pem"
  chmod 0444 "$dir/ca.pem" "$dir/crl.pem" "$dir/cert.pem"
  chmod 0400 "$dir/key.pem"
  chmod 0755 "$dir"
  chown -R "$owner" "$dir"
  echo "caselink-bootstrap: $id ($role) ready"
done
# The computing parties' certificates (public) to every coordinator, after all are issued.
for entry in $parties; do
  [ "${entry#*:}" = coordinator ] || continue
  dir=$out/${entry%%:*}
  for peer in $parties; do
    [ "${peer#*:}" = compute ] || continue
    id=${peer%%:*}
    cp "$out/$id/cert.pem" "$dir/$id.pem.new" && mv -f "$dir/$id.pem.new" "$dir/$id.pem"
    chmod 0444 "$dir/$id.pem"
    chown "$owner" "$dir/$id.pem"
    echo "caselink-bootstrap: $id's certificate to ${entry%%:*}"
  done
done
if [ -n "${CASELINK_DEMO_DATA:-}" ] && [ ! -f "$CASELINK_DEMO_DATA/federation.csv" ]; then
  caselink synth --out "$CASELINK_DEMO_DATA" --seed "${CASELINK_DEMO_SEED:-1}" \
    --persons "${CASELINK_DEMO_PERSONS:-1000}"
  chmod -R a+rX "$CASELINK_DEMO_DATA"
fi
