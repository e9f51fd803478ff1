#!/usr/bin/env bash
# Entry point of the redditess images: preflight, then reproduce (pull what the remote has, run
# what is missing), then the claims table. Pass another command to run it instead.
set -euo pipefail
cd /opt/redditess
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
redditess preflight
# Pull what the remote has (every output, metrics and reports included); dvc repro then runs only
# what is missing or stale: nothing after a full pull, every stage without a remote.
if [ -n "$(dvc remote list)" ] && dvc pull --quiet 2>/dev/null; then
  echo "pulled outputs from the DVC remote"
else
  echo "no reachable DVC remote: rebuilding every stage"
fi
dvc repro
dvc status
exec redditess claims --output reports/claims.md
