#!/usr/bin/env bash
# Creates the lake bucket, its lifecycle and the per-service users/policies on a MinIO tenant, with `mc` (MinIO client).
#   ALIAS=prod infra/minio/bucket.sh     (after `mc alias set prod https://minio.minio.svc.cluster.local:9000 ADMIN ADMINPW`)
# Secret keys are read from files (the same values as the Kubernetes Secret snap-engine-secrets), never typed inline.
set -euo pipefail
ALIAS=${ALIAS:?set ALIAS to an mc alias of the tenant}
BUCKET=${BUCKET:-snap-lake}
HERE=$(cd "$(dirname "$0")" && pwd)
mc mb --ignore-existing "$ALIAS/$BUCKET"
mc ilm import "$ALIAS/$BUCKET" <"$HERE/lifecycle.json"
mc admin policy create "$ALIAS" snap-lake-sink "$HERE/policy-lake-sink.json"
mc admin policy create "$ALIAS" snap-lake-reader "$HERE/policy-reader.json"
mc admin user add "$ALIAS" snap-engine "$(cat "${LAKE_SINK_SECRET_FILE:?file holding the lake sink secret key}")"
mc admin policy attach "$ALIAS" snap-lake-sink --user snap-engine
