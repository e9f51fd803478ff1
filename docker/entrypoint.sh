#!/usr/bin/env bash
# Entry point of the redditess images: preflight, then reproduce (pull what the remote has, run
# what is missing), then the claims table. Pass another command to run it instead.
#   REDDITESS_PROFILE  a profile (profiles/<name>.yaml, or "default") set in params.yaml first
#   REDDITESS_CLAIMS   the claims file to check (default: the active profile's, artifact/claims/<profile>.yaml)
#   REDDITESS_HOME     the checkout (default /opt/redditess; tests/test_reviewer.py runs this script
#                      on the host against a temporary clone)
# Secrets come in with `docker run -e NAME` (HF_TOKEN, OPENAI_API_KEY, VLLM_API_KEY, REDDITESS_SALT,
# REDDIT_CLIENT_ID, REDDIT_CLIENT_SECRET) and are only ever read from the environment.
set -euo pipefail
# `docker run --user UID:GID` with a uid the image does not know (a host checkout bind-mounted as its
# owner): dvc asks for a user name (getpwuid fails) and HOME (/) is not writable; name the user and
# give it a home under /tmp.
if ! id -un >/dev/null 2>&1; then
  export USER="${USER:-uid$(id -u)}" LOGNAME="${LOGNAME:-uid$(id -u)}"
  [ -w "${HOME:-/}" ] || export HOME=/tmp
fi
cd "${REDDITESS_HOME:-/opt/redditess}"
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
fail() { echo "error: $*" >&2; exit 2; }

if [ -n "${REDDITESS_PROFILE:-}" ]; then
  redditess profile "$REDDITESS_PROFILE" || exit 2  # it names the bad profile or key in one line
fi
redditess preflight

# The default remote: pull everything it has (a failed pull stops here, with dvc's first error);
# a directory remote that is not mounted, or no remote at all, means a rebuild, said in one line.
remote="$(dvc remote default 2>/dev/null || true)"
url="$( [ -z "$remote" ] || dvc config "remote.$remote.url" 2>/dev/null || true)"
if [ -z "$remote" ] || [ -z "$url" ]; then
  echo "no default DVC remote configured: rebuilding every stage"
elif [[ "$url" != *://* ]] && [ ! -d "$url" ]; then
  echo "DVC remote '$remote' ($url) is not mounted: rebuilding every stage"
else
  log="$(mktemp)"
  if ! dvc pull >"$log" 2>&1; then
    fail "dvc pull from remote '$remote' ($url) failed: $(grep -m1 -E 'ERROR|error' "$log" || tail -n1 "$log") (log: $log)"
  fi
  echo "pulled every output from DVC remote '$remote'"
fi
dvc repro
status="$(dvc status --quiet >/dev/null 2>&1 && echo clean || echo changed)"
[ "$status" = clean ] || fail "dvc status is not clean after dvc repro: run \`dvc status\` to see which stage"
exec redditess claims ${REDDITESS_CLAIMS:+--claims "$REDDITESS_CLAIMS"} --output reports/claims.md
