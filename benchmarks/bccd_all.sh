#!/usr/bin/env bash
# Every BCCD benchmark of benchmarks/README.md, in order, one job at a time (on 2 cores a
# second job beside a timed one distorts its times). Each step stores what it finishes
# and skips it when rerun, so this script resumes where a stopped run left off.
#
#     bash benchmarks/bccd_all.sh            # about 15 h on a 2-core CPU from nothing
#     PY=python bash benchmarks/bccd_all.sh  # another interpreter than .venv/bin/python
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
CFG=configs/supernet/bccd.py
WD=benchmarks/runs/rank_bccd
RANK=("$PY" benchmarks/bench_rank_fidelity.py "$CFG" --work-dir "$WD" --subnets 8 --scratch-iters 300)

step() { echo "== $(date -u +%FT%TZ) $*"; }

# 1. Supernet, 8 subnets inherited and from scratch, the noise seeds, the timed 300-subnet search.
step rank fidelity and search
"${RANK[@]}" --noise-seeds 2 --json benchmarks/results_rank_bccd.json

# 2. Searched against hand-designed: the search's finalists, retrained like the baselines.
step finalists
"$PY" tools/search_subnet.py "$CFG" --work-dir "$WD/search" --checkpoint "$WD/supernet/iter_600.pth" \
    --cfg-options subnet_search.n_trials=300
step retrain finalists
"$PY" tools/retrain.py "$WD/search" --iters 300
step hand-designed baselines
"$PY" benchmarks/bench_searched_vs_hand.py "$WD/search" --baselines r18 r34 \
    --json benchmarks/results_searched_vs_hand_bccd.json

# 3. A ground truth that resolves the ranking: every subnet from scratch with 3 seeds.
step ground truth seeds
"${RANK[@]}" --noise-seeds 2 --scratch-seeds 3 --search-subnets 0 --json benchmarks/results_rank_bccd.json

# 4. Supernet recipes against that ground truth.
step variant random3
"${RANK[@]}" --variant random3 --cfg-options model.num_random_subnets=3 --json benchmarks/results_rank_bccd.json
step variant distill
"${RANK[@]}" --variant distill --cfg-options model.distill=True --json benchmarks/results_rank_bccd.json
step variant long
"${RANK[@]}" --variant long --supernet-iters 1200 --json benchmarks/results_rank_bccd.json
# 5. Searched against hand-designed again, every model with 3 seeds (one training is as noisy as the gaps).
step searched vs hand-designed, 3 seeds
"$PY" benchmarks/bench_searched_vs_hand.py "$WD/search" --baselines r18 r34 --seeds 3 \
    --json benchmarks/results_searched_vs_hand_bccd.json
step done
