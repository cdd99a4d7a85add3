#!/bin/bash
# RESULTS I: one lead (issue "Distillation where it should pay", constraint "two leads -> one lead").
# Baseline: RESULTS G's arm A (g-a, g-a-s1: the shipped recipe, lead dropout 0.5) read on one lead. Students
# for one lead: every training window shows one lead only (--aug-lead-dropout 1.0), in either input
# (--aug-lead-swap 0.5); on labels, and distilled from the two-lead teacher (cv/ens-ga: the mean logit of
# each fold's g-a and g-a-s1 models, computed on the clean two-lead windows: privileged information).
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
RECIPE="--arch fcn_20k --epochs 4 --train-windows 12000 --batch-size 64 --lr 3e-3 --patience 3 --warmup-steps 200 --aug-amplitude 0.3 --aug-wander-mv 0.2 --aug-noise-mv 0.02 --aug-shift 16 --pos-weight 1.0 --soft-sigma 2.0"
ONE="--aug-lead-dropout 1.0 --aug-lead-swap 0.5"
CV="python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1"
S1="--seed 1 --fold-seed 42"
KD="--lam 0.5 --fold-teacher cv/ens-ga/fold{fold}"
date
$CV --name o-a $RECIPE $ONE > $W/o-a.log 2>&1 & $CV --name o-a-s1 $RECIPE $ONE $S1 > $W/o-a-s1.log 2>&1; wait; date
$CV --name o-kd $RECIPE $ONE $KD > $W/o-kd.log 2>&1 & $CV --name o-kd-s1 $RECIPE $ONE $KD $S1 > $W/o-kd-s1.log 2>&1; wait; date
for m in g-a o-a o-kd; do for k in 0 1; do
  $CV --name $m-l$k --models-from $m --leads $k > $W/$m-l$k.log 2>&1 & $CV --name $m-s1-l$k --models-from $m-s1 --leads $k $S1 > $W/$m-s1-l$k.log 2>&1; wait
done; done; date
for k in 0 1; do
  python Codes/Models/student_cv.py --workspace $W --compare g-a-l$k+g-a-s1-l$k o-a-l$k+o-a-s1-l$k o-kd-l$k+o-kd-s1-l$k > $W/compare_lead$k.log 2>&1
  python Codes/Models/student_cv.py --workspace $W --compare o-a-l$k+o-a-s1-l$k o-kd-l$k+o-kd-s1-l$k > $W/compare_lead${k}_kd.log 2>&1
done
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 o-a+o-a-s1 o-kd+o-kd-s1 > $W/compare_two_leads.log 2>&1
date
