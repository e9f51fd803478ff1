#!/usr/bin/env bash
# Wall time of ONE replicate's model stages (sft, reward_model, ppo, rloo, dpo, generate, best_of_n)
# and of evaluate,
# each run the way dvc.yaml runs it, in a scratch copy of this checkout (its outputs are left alone).
# Needs the inputs in the workspace: data/split, data/threads.parquet, data/raw, models/classifier,
# models/second_judge, metrics/second_judge.json (`dvc pull`, or `dvc repro second_judge`). Multiply the model stages by len(seeds) to budget a full `dvc repro`.
# The load average at each stage's start and end is printed: on a shared machine it explains outliers.
#   benchmarks/replicate_time.sh            # replicate 0
#   REPLICATE=1 benchmarks/replicate_time.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
out="${REPLICATE_OUT:-$here/benchmarks/replicate_time.txt}"
replicate="${REPLICATE:-0}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for need in data/split data/threads.parquet data/raw models/classifier models/second_judge metrics/second_judge.json; do
  [ -e "$here/$need" ] || { echo "error: $need is not in the workspace (dvc pull, or dvc repro second_judge)" >&2; exit 2; }
done
mkdir -p "$work/data" "$work/models" "$work/metrics"
cp -r "$here/stages" "$here/src" "$here/params.yaml" "$here/accelerate_configs" "$here/prompts" "$here/human" "$work/"
cp -r "$here/data/split" "$here/data/threads.parquet" "$here/data/raw" "$work/data/"
cp -r "$here/models/classifier" "$here/models/second_judge" "$work/models/"
cp "$here/metrics/second_judge.json" "$work/metrics/"
cd "$work"
export PYTHONPATH="$work/src" HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
{
  echo "# benchmarks/replicate_time.sh, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$here" rev-parse --short HEAD), replicate $replicate"
  echo "machine: $(lscpu | awk -F': +' '/Model name/ {print $2; exit}'), $(nproc) cores; GPU: $(command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name --format=csv,noheader | head -1 || echo none)"
  total=0
  for stage in sft reward_model ppo rloo dpo generate best_of_n evaluate; do
    case "$stage" in
      generate | best_of_n) cmd=(python "stages/$stage.py" "$replicate") ;;
      evaluate) cmd=(python stages/evaluate.py) ;;
      *) cmd=(python -m redditess.launch "stages/$stage.py" "$replicate") ;;
    esac
    # evaluate reads every replicate in seeds: here only the one just built
    [ "$stage" = evaluate ] && python - "$replicate" <<'EOF'
import sys, yaml
params = yaml.safe_load(open("params.yaml"))
params["seeds"] = [int(sys.argv[1])]
open("params.yaml", "w").write(yaml.safe_dump(params, sort_keys=False))
EOF
    load_start="$(cut -d' ' -f1 /proc/loadavg)"
    start="$(date +%s.%N)"
    "${cmd[@]}" >"$work/$stage.log" 2>&1 || { echo "error: $stage failed: $(tail -n 3 "$work/$stage.log" | tr '\n' ' ')" >&2; exit 2; }
    seconds="$(echo "$(date +%s.%N) - $start" | bc)"
    [ "$stage" = evaluate ] || total="$(echo "$total + $seconds" | bc)"
    printf '%s: %.0f s (load average %s at start, %s at end)\n' "$stage" "$seconds" "$load_start" "$(cut -d' ' -f1 /proc/loadavg)"
  done
  printf 'model stages of one replicate: %.0f s\n' "$total"
} | tee "$out"
