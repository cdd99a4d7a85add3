#!/bin/bash
# RESULTS G: the pause augmentation study (commands as committed in docs/RESULTS.md)
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
RECIPE="--arch fcn_20k --epochs 4 --train-windows 12000 --batch-size 64 --lr 3e-3 --patience 3 --warmup-steps 200 --aug-amplitude 0.3 --aug-wander-mv 0.2 --aug-noise-mv 0.02 --aug-shift 16 --pos-weight 1.0 --soft-sigma 2.0 --aug-lead-dropout 0.5"
CV="python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1"
B="--aug-pause 0.2"; C="--aug-pause 0.2 --aug-stress 0.3 --aug-beatless 0.05"
S1="--seed 1 --fold-seed 42"
date
$CV --name g-a $RECIPE > $W/g-a.log 2>&1 & $CV --name g-b $RECIPE $B > $W/g-b.log 2>&1; wait; date
$CV --name g-c $RECIPE $C > $W/g-c.log 2>&1 & $CV --name g-a-s1 $RECIPE $S1 > $W/g-a-s1.log 2>&1; wait; date
$CV --name g-b-s1 $RECIPE $B $S1 > $W/g-b-s1.log 2>&1 & $CV --name g-c-s1 $RECIPE $C $S1 > $W/g-c-s1.log 2>&1; wait; date
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 g-b+g-b-s1 > $W/compare_ab.log 2>&1
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 g-c+g-c-s1 > $W/compare_ac.log 2>&1
date
