#!/bin/sh
# Prints the TLS Secrets of the given parties as Kubernetes manifests, from a PKI folder
# made by `caselink pki init-ca` and `caselink pki issue` (DIR/ca.pem, DIR/crl.pem,
# DIR/ID.pem, DIR/ID.key). Pipe straight into kubectl; never commit the output:
#
#   containers/k8s/secrets.sh pki keyholder coordinator lv-liepaja-police ... \
#     | kubectl apply -f -
#
# Each Secret tls-ID holds ca.pem, crl.pem, cert.pem and key.pem, the file names the
# images expect under /etc/caselink/tls. ID+PEER+... adds the certificates DIR/PEER.pem as
# PEER.pem (the coordinator's Secret carries the computing parties' certificates, which its
# compute: section names):
#
#   containers/k8s/secrets.sh pki coordinator+cp-1+cp-2 cp-1 cp-2 | kubectl apply -f -
#
# Exit status 1 if a file is missing.
set -eu

if [ "$#" -lt 2 ]; then
  echo "usage: secrets.sh PKI_DIR ID[+PEER...]..." >&2
  exit 2
fi
dir=$1
shift
b64() { base64 -w 0 <"$1"; }
for arg in "$@"; do
  id=${arg%%+*}
  peers=
  [ "$arg" = "$id" ] || peers=$(echo "${arg#*+}" | tr '+' ' ')
  for f in "$dir/ca.pem" "$dir/crl.pem" "$dir/$id.pem" "$dir/$id.key"; do
    if [ ! -r "$f" ]; then
      echo "secrets.sh: cannot read $f" >&2
      exit 1
    fi
  done
  for p in $peers; do
    if [ ! -r "$dir/$p.pem" ]; then
      echo "secrets.sh: cannot read $dir/$p.pem" >&2
      exit 1
    fi
  done
  cat <<YAML
---
apiVersion: v1
kind: Secret
metadata:
  name: tls-$id
  namespace: caselink
  labels: {app.kubernetes.io/name: caselink, caselink/id: $id}
type: Opaque
data:
  ca.pem: $(b64 "$dir/ca.pem")
  crl.pem: $(b64 "$dir/crl.pem")
  cert.pem: $(b64 "$dir/$id.pem")
  key.pem: $(b64 "$dir/$id.key")
YAML
  for p in $peers; do
    echo "  $p.pem: $(b64 "$dir/$p.pem")"
  done
done
