#!/bin/bash
# RESULTS L: pauses made by time (issue "No beat where there is none"): the shipped recipe with --aug-delay 0.2,
# paired against RESULTS G's arm A (g-a, g-a-s1) on the same folds and seeds.
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
RECIPE="--arch fcn_20k --epochs 4 --train-windows 12000 --batch-size 64 --lr 3e-3 --patience 3 --warmup-steps 200 --aug-amplitude 0.3 --aug-wander-mv 0.2 --aug-noise-mv 0.02 --aug-shift 16 --pos-weight 1.0 --soft-sigma 2.0 --aug-lead-dropout 0.5"
CV="python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1"
date
$CV --name l-d $RECIPE --aug-delay 0.2 > $W/l-d.log 2>&1 & $CV --name l-d-s1 $RECIPE --aug-delay 0.2 --seed 1 --fold-seed 42 > $W/l-d-s1.log 2>&1; wait; date
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 l-d+l-d-s1 > $W/compare_ad.log 2>&1
python benchmarks/bench_noise.py --workspace $W --input-dir ../shared/data/svdb ../shared/data/mitdb \
    --cv g-a l-d --snr 6 0 --out docs/results/aug_delay/noise_s42 > $W/noise_l_s42.log 2>&1 &
python benchmarks/bench_noise.py --workspace $W --input-dir ../shared/data/svdb ../shared/data/mitdb \
    --cv g-a-s1 l-d-s1 --snr 6 0 --out docs/results/aug_delay/noise_s1 > $W/noise_l_s1.log 2>&1; wait
date
