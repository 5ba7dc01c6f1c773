#!/usr/bin/env bash
# Every BCCD benchmark of benchmarks/README.md, in order, one job at a time (on 2 cores a
# second job beside a timed one distorts its times). Each step stores what it finishes
# and skips it when rerun, so this script resumes where a stopped run left off. The
# results files (benchmarks/results_*_bccd.json) are records too: on a new machine, with
# benchmarks/runs/ gone, every step restores what they hold and trains only the rest.
#
#     bash benchmarks/bccd_all.sh            # about 15 h on a 2-core CPU from nothing
#     PY=python bash benchmarks/bccd_all.sh  # another interpreter than .venv/bin/python
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CFG=configs/supernet/bccd.py
WD=benchmarks/runs/rank_bccd
RANK_JSON=benchmarks/results_rank_bccd.json
HAND_JSON=benchmarks/results_searched_vs_hand_bccd.json
# The recipe the record's supernets trained (the configs' then: the sandwich of max, min and 1
# uniform random member, no distillation), pinned so that a new machine trains what they did
# whatever the configs' default (distillation of the outputs since 2026-12-05)
SANDWICH=('model.extremes=[max,min]' model.num_random_subnets=1 model.sampling=uniform model.distill=False)
RANK=("$PY" benchmarks/bench_rank_fidelity.py "$CFG" --work-dir "$WD" --subnets 8 --scratch-iters 300
      --json "$RANK_JSON")

step() { echo "== $(date -u +%FT%TZ) $*"; }

# 1. Supernet, 8 subnets inherited and from scratch, the noise seeds, the timed 300-subnet search.
step rank fidelity and search
"${RANK[@]}" --noise-seeds 2 --cfg-options "${SANDWICH[@]}"

# 2. Searched against hand-designed: the search's finalists (the front, as tools/search_subnet.py
#    exports them; recorded by step 1) trained from scratch like the baselines.
step searched vs hand-designed
read -r -a FINALISTS <<< "$("$PY" -c "import json, sys; print(' '.join(json.load(open(sys.argv[1]))['modular_stage']['finalists']))" "$RANK_JSON")"
HAND=("$PY" benchmarks/bench_searched_vs_hand.py "$WD/hand" --config "$CFG" --subnets "${FINALISTS[@]}"
      --iters 300 --baselines r18 r34 --json "$HAND_JSON")
"${HAND[@]}"

# 3. A ground truth that resolves the ranking: every subnet from scratch with 3 seeds.
step ground truth seeds
"${RANK[@]}" --noise-seeds 2 --scratch-seeds 3 --search-subnets 0 --cfg-options "${SANDWICH[@]}"

# 4. Supernet recipes against that ground truth.
step variant distill
"${RANK[@]}" --variant distill --cfg-options "${SANDWICH[@]}" model.distill=True
step variant random3
"${RANK[@]}" --variant random3 --cfg-options "${SANDWICH[@]}" model.num_random_subnets=3
step variant long
"${RANK[@]}" --variant long --supernet-iters 1200 --cfg-options "${SANDWICH[@]}"

# 5. Searched against hand-designed again, every model with 3 seeds (one training is as noisy as the gaps).
step searched vs hand-designed, 3 seeds
"${HAND[@]}" --seeds 3
step done
