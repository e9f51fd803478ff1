#!/usr/bin/env bash
# Pin each Dockerfile's base image to the digest its tag points at now (run where Docker Hub is
# reachable; needs `docker buildx`). Rewrites `FROM image:tag` to `FROM image:tag@sha256:…`; commit
# the result. The development machines cannot reach Docker Hub, so the committed FROM lines carry tags.
set -euo pipefail
cd "$(dirname "$0")"
for file in Dockerfile.cpu Dockerfile.cuda; do
  ref="$(awk '/^FROM / {print $2; exit}' "$file")"
  tag="${ref%@*}"
  digest="$(docker buildx imagetools inspect "$tag" --format '{{json .Manifest.Digest}}' | tr -d '"')"
  [[ "$digest" == sha256:* ]] || { echo "error: $tag: no digest from the registry (got '$digest')" >&2; exit 2; }
  sed -i "s|^FROM ${ref}\$|FROM ${tag}@${digest}|" "$file"
  echo "$file: $tag@$digest"
done
