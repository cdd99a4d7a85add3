#!/bin/bash
# RESULTS AC: the shipped offline recipe (RESULTS Y, g-s) at fcn_80k, seeds 42 and 1 on the same folds, read at
# the shipped threshold 0.2, against g-s-t02 / g-s-s1-t02; clean, at 6 and 0 dB, on lead 1, with the verifier.
# REPO: the checkout; W: the svdb + mitdb workspace of sections G-AB.
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
R="--arch fcn_80k --epochs 4 --train-windows 12000 --batch-size 64 --lr 3e-3 --patience 3 --warmup-steps 200
   --aug-amplitude 0.3 --aug-wander-mv 0.2 --aug-noise-mv 0.02 --aug-shift 16 --pos-weight 1.0 --soft-sigma 2.0
   --aug-lead-dropout 0.5 --aug-stress 0.3 --aug-beatless 0.05"
CV="python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1"
S1="--seed 1 --fold-seed 42"
# stage A: train, read at 0.2 (the fold models copied in, as section Y did for g-s-t02)
$CV --name g-s80 $R & $CV --name g-s80-s1 $R $S1; wait
$CV --name g-s80-t02 --models-from g-s80 --threshold 0.2 & $CV --name g-s80-s1-t02 --models-from g-s80-s1 --threshold 0.2 $S1; wait
