#!/usr/bin/env bash
# Time the README's two steps on a fresh clone: install the pinned environment, then `dvc repro`
# from scratch, each under /usr/bin/time -v (wall clock, peak RSS of the largest process). Writes
# benchmarks/repro_time.txt (machine description + figures) in the checkout it was started from;
# the README's timings come from that file, and it says whether the rebuild wrote the committed
# results byte for byte. The full run takes tens of minutes on a 2-core machine:
#   benchmarks/repro_time.sh                      # fresh clone of this checkout's HEAD, fresh venv
#   REPRO_VENV=/path/to/.venv benchmarks/repro_time.sh    # reuse an installed venv (no install timing)
#   REPRO_TARGET=split benchmarks/repro_time.sh   # reproduce up to one stage only (a quick check)
#   REPRO_TARGET=real/dvc.yaml REPRO_OUT=benchmarks/real_repro_time.txt REDDITESS_SALT=... benchmarks/repro_time.sh
#                                                 # the real profile's folder pipeline, on ../shared/data
#   REPRO_SYNC=1 benchmarks/repro_time.sh         # then copy the rebuilt results (dvc.lock, metrics/,
#                                                 # plots/, reports/) into this checkout, to commit them
#   PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu benchmarks/repro_time.sh   # CPU torch off these machines
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${REPRO_OUT:-$here/benchmarks/repro_time.txt}")"  # before the cd into the clone
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3

# `/usr/bin/time -v` on a command; keeps the two lines that matter.
timed() {
  local label="$1"; shift
  /usr/bin/time -v -o "$work/$label.time" "$@" >"$work/$label.log" 2>&1 \
    || { echo "error: $label failed: $(tail -n 3 "$work/$label.log" | tr '\n' ' ')" >&2; exit 2; }
  local wall rss
  wall="$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/$label.time")"
  rss="$(awk -F': ' '/Maximum resident set size/ {printf "%.2f GiB", $2 / 1048576}' "$work/$label.time")"
  echo "$label: wall ${wall}, peak RSS ${rss} (largest single process)"
}

git clone -q "$here" "$work/repo"
# the shared real records beside the checkout, where real/params.yaml looks for them (../../shared/data)
[ -d "$here/../shared" ] && ln -s "$(cd "$here/../shared" && pwd)" "$work/shared"
cd "$work/repo"
# a folder pipeline's results are in its folder (real/dvc.yaml: real/dvc.lock, real/metrics ...)
folder=""
case "${REPRO_TARGET:-}" in */dvc.yaml) folder="${REPRO_TARGET%dvc.yaml}" ;; esac
{
  echo "# benchmarks/repro_time.sh, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD)"
  echo "machine: $(lscpu | awk -F': +' '/Model name/ {print $2; exit}'), $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -srm)"
  echo "python: $("$python" --version 2>&1); GPU: $(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name --format=csv,noheader | head -1 || echo none)"
  if [ -n "${REPRO_VENV:-}" ]; then
    echo "install: skipped (REPRO_VENV=$REPRO_VENV)"
    venv="$REPRO_VENV"
  else
    venv="$work/venv"
    "$python" -m venv "$venv"
    timed install bash -c "'$venv/bin/pip' install -q -U pip==26.3 && '$venv/bin/pip' install -q -r requirements.txt && '$venv/bin/pip' install -q --no-deps -e ."
  fi
  export PATH="$venv/bin:$PATH" PYTHONPATH="$work/repo/src" DVC_NO_ANALYTICS=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
  # each line of dvc's output stamped with the time it arrived: a stage lasts from its "Running
  # stage" line to the next one's (or the end), which gives the per-stage table below
  label="dvc-repro${REPRO_TARGET:+-${REPRO_TARGET//\//_}}"
  timed "$label" bash -c 'set -o pipefail; dvc repro "$@" 2>&1 | python -u -c "
import sys, time
for line in sys.stdin:
    print(f\"{time.time():.1f} {line}\", end=\"\", flush=True)
print(f\"{time.time():.1f} END\")"' _ ${REPRO_TARGET:+"$REPRO_TARGET"}
  echo "stages run: $(grep -c "Running stage" "$work/$label.log")"
  # seconds per stage, then per stage summed over its replicates (sft@0 + sft@1 + ... = sft)
  awk '/Running stage|END$/ { if (name != "") { s = $1 - start; printf "stage %s: %.0f s\n", name, s; tot[base] += s }
         if ($0 ~ /END$/) exit; name = $0; sub(/^.*Running stage ./, "", name); sub(/.:[[:space:]]*$/, "", name); sub(/^.*dvc\.yaml:/, "", name)
         start = $1; base = name; sub(/@.*/, "", base); if (!(base in tot)) { order[++n] = base; tot[base] = 0 } }
       END { for (i = 1; i <= n; i++) if (order[i] != "") printf "all replicates of %s: %.0f s\n", order[i], tot[order[i]] }' \
    "$work/$label.log"
  timed "dvc-repro-again" dvc repro ${REPRO_TARGET:+"$REPRO_TARGET"}
  echo "stages run again: $(grep -o "Running stage" "$work/dvc-repro-again.log" | wc -l)"
  # The committed results (metrics, plots, reports) and dvc.lock against what this rebuild wrote.
  changed="$(git status --porcelain -- "${folder}dvc.lock" "${folder}metrics" "${folder}plots" "${folder}reports" \
    | grep -v 'reports/generate_speed/' || true)"
  if [ -z "$changed" ]; then
    echo "committed results reproduced: ${folder}dvc.lock, ${folder}metrics/, ${folder}plots/, ${folder}reports/ byte-identical (reports/generate_speed/ is timing)"
  else
    echo "committed results NOT reproduced: $(echo "$changed" | wc -l) files differ: $(echo "$changed" | awk '{print $2}' | head -12 | tr '\n' ' ')"
  fi
} | tee "$out"
if [ "${REPRO_SYNC:-0}" = 1 ]; then
  for rel in "${folder}dvc.lock" "${folder}metrics" "${folder}plots" "${folder}reports"; do
    rm -rf "${here:?}/$rel" && cp -r "$work/repo/$rel" "$here/$rel"
  done
  echo "synced ${folder}dvc.lock, ${folder}metrics/, ${folder}plots/, ${folder}reports/ into $here"
fi
