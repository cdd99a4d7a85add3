#!/bin/bash
# RESULTS AG, "How far retraining moves the floors": section Y's recipe (fold detectors, readings at 0.2 and
# the verifier's cross-validation, clean only) again with seeds 2 and 3 on the same folds (--fold-seed 42),
# beside the four trainings already measured (section Y's workspace and the rebuilt one, seeds 42 and 1).
# REPO: the checkout; W: the svdb + mitdb workspace of sections G-AG.
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb"
R="--arch fcn_20k --epochs 4 --train-windows 12000 --batch-size 64 --lr 3e-3 --patience 3 --warmup-steps 200
   --aug-amplitude 0.3 --aug-wander-mv 0.2 --aug-noise-mv 0.02 --aug-shift 16 --pos-weight 1.0 --soft-sigma 2.0
   --aug-lead-dropout 0.5 --aug-stress 0.3 --aug-beatless 0.05"
V="python Codes/Models/beat_classes_cv.py --workspace $W $IN --classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --verifier-keep V"
for s in 2 3; do
  ( python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1 --name g-s-s$s $R --seed $s --fold-seed 42 &&
    python Codes/Models/student_cv.py --workspace $W --name g-s-s$s-t02 --models-from g-s-s$s --threshold 0.2 &&
    python docs/results/fix_fold_threshold.py $W/cv/g-s-s$s $W/cv/g-s-s$s-t02 --threshold 0.2 --note "fixed 0.2 (RESULTS T, Y)" &&
    $V --name verify_s_t02_s$s --seed $s --detections-cv $W/cv/g-s-s$s-t02 ) > $W/seed$s.log 2>&1 &
done; wait
for s in 2 3; do
  mkdir -p docs/results/seed_spread/verify_s_t02_s$s
  cp $W/beat_classes/verify_s_t02_s$s/{command.txt,detection_paired.csv,records.csv,summary.csv,summary.md} docs/results/seed_spread/verify_s_t02_s$s/
done
python docs/results/seed_spread/spread.py
