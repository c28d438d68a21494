#!/bin/sh
# One-shot: wait for the Temporal frontend, make sure the namespace exists, then register the
# custom search attributes Commons workflows set (contracts/search-attributes.ts). Idempotent:
# attributes already present are left alone, so it is safe to run on every deploy.
# Needs the `temporal` CLI (temporalio/admin-tools image) and TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE.
set -eu
# TLS settings arrive as empty strings when unused (one ConfigMap for the app and this Job): the CLI
# must not see an empty TEMPORAL_TLS as a value, so drop the empty ones.
for v in TEMPORAL_TLS TEMPORAL_TLS_CERT TEMPORAL_TLS_KEY TEMPORAL_TLS_CA TEMPORAL_TLS_SERVER_NAME TEMPORAL_API_KEY; do
  eval "[ -n \"\${$v:-}\" ]" || unset "$v"
done
[ "${TEMPORAL_TLS:-}" = 1 ] && export TEMPORAL_TLS=true
addr="${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS is not set}"
ns="${TEMPORAL_NAMESPACE:-default}"
retention="${TEMPORAL_NAMESPACE_RETENTION:-720h}"
tries=0
until temporal operator cluster health --address "$addr" >/dev/null 2>&1; do
  tries=$((tries + 1)); [ "$tries" -gt 100 ] && { echo "Temporal at $addr never became healthy" >&2; exit 1; }
  echo "waiting for Temporal at $addr"; sleep 3
done
if ! temporal operator namespace describe --address "$addr" --namespace "$ns" >/dev/null 2>&1; then
  echo "creating namespace $ns (retention $retention)"
  temporal operator namespace create --address "$addr" --namespace "$ns" --retention "$retention"
fi
for spec in LifecycleStage=Keyword ProposalId=Keyword ModelName=Keyword Domain=Keyword ModelStatus=Keyword LifecycleOutcome=Keyword; do
  name="${spec%%=*}"; type="${spec#*=}"; tries=0
  # A fresh namespace takes a few seconds to reach every frontend: retry until it is listed.
  until temporal operator search-attribute list --address "$addr" --namespace "$ns" 2>/dev/null | grep -qw "$name"; do
    tries=$((tries + 1)); [ "$tries" -gt 30 ] && { echo "could not register $name" >&2; exit 1; }
    temporal operator search-attribute create --address "$addr" --namespace "$ns" --name "$name" --type "$type" || sleep 2
  done
  echo "search attribute $name ($type) registered on $ns"
done
