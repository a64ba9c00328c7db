#!/bin/bash
# The GPU recipe probe behind benchmarks/RECIPES.md's second table: VAE-GAN recipe candidates trained for a fixed
# number of steps, many processes at once on one GPU (each small: the 28x28 networks leave an H200 idle), every FID
# check logged to each run's metrics.jsonl. Per-step curves transfer to the CPU; the CPU's 10-minute budget in steps
# is in summarize.py. Run from the repository root with Fashion-MNIST installed:
#
#     bash benchmarks/gpu-probe/probe.sh 1 /tmp/probe && python benchmarks/gpu-probe/summarize.py /tmp/probe/curves.json
#     bash benchmarks/gpu-probe/probe.sh 2 /tmp/probe2 && ...
#
# Set 1 (2 seeds): batch size, learning rate, gamma, a 1,000-step VAE start. Set 2 (3 seeds): the weight average.
set -u
SET=$1 R=$2
mkdir -p "$R"
export OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1
COMMON="--device cuda --checkpoint-every 100000 --image-every 100000 --progress-seconds 60 --fid-samples 2000"
run() {  # name steps seeds fid_every flags...
  local name=$1 steps=$2 seeds=$3 every=$4; shift 4
  for s in $(seq 0 $((seeds - 1))); do
    timeout 330 python3 scripts/train_vaegan.py $COMMON --steps "$steps" --fid-every "$every" --seed "$s" \
      --runs-dir "$R/$name-s$s" "$@" > "$R/$name-s$s.log" 2>&1 &
  done
}
if [ "$SET" = 1 ]; then
  for s in 0 1; do
    python3 scripts/train_vae.py $COMMON --steps 1000 --fid-every 1000 --seed $s --runs-dir "$R/vae$s" > "$R/vae$s.log" 2>&1 &
  done
  wait
  run base 3000 2 250
  run lr6e4 3000 2 250 --lr 6e-4
  run lr1e3 3000 2 250 --lr 1e-3
  run b32 6000 2 500 --batch-size 32
  run b32lr15 6000 2 500 --batch-size 32 --lr 1.5e-4
  run b16 12000 2 1000 --batch-size 16
  run gamma1 3000 2 250 --gamma 1.0
  for s in 0 1; do
    V=$(ls -d "$R"/vae$s/*/ | head -1)
    timeout 330 python3 scripts/train_vaegan.py $COMMON --steps 3000 --fid-every 250 --seed $s --runs-dir "$R/init-s$s" \
      --init-from "$V" > "$R/init-s$s.log" 2>&1 &
    timeout 330 python3 scripts/train_vaegan.py $COMMON --steps 6000 --fid-every 500 --batch-size 32 --seed $s \
      --runs-dir "$R/initb32-s$s" --init-from "$V" > "$R/initb32-s$s.log" 2>&1 &
  done
else
  run b32ema999 4000 3 250 --batch-size 32 --ema-decay 0.999
  run b32ema998 4000 3 250 --batch-size 32 --ema-decay 0.998
  run b32lr15ema999 4000 3 250 --batch-size 32 --lr 1.5e-4 --ema-decay 0.999
  run b32 4000 3 250 --batch-size 32
  run b64ema999 2000 3 250 --ema-decay 0.999
fi
wait
python3 - "$R" <<'PY'
import glob, json, sys
root = sys.argv[1]
out = {}
for f in sorted(glob.glob(f"{root}/*/*/metrics.jsonl")):
    rows = [json.loads(line) for line in open(f)]
    out[f.split("/")[-3]] = [{k: v for k, v in r.items() if k in ("step", "wall_seconds") or k.startswith(("fid", "sharp"))}
                            for r in rows if any(k.startswith("fid") for k in r)]
json.dump(out, open(f"{root}/curves.json", "w"), indent=0)
PY
