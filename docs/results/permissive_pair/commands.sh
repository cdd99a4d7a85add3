#!/bin/bash
# RESULTS AD: the shipped recipe's fold detectors (RESULTS Y: g-s, g-s-s1) at 0.05, each fold's verifier trained on
# its detector's detections there, against the shipped pair's cross-validation (verify_s_t02, verify_s_t02_s1).
# REPO: the checkout; W: the svdb + mitdb workspace of sections G-AC.
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb"
# the fold detectors read at 0.05 (their figures alone), then their models copied in with 0.05 fixed
python Codes/Models/student_cv.py --workspace $W --name g-s-t005 --models-from g-s --threshold 0.05 &
python Codes/Models/student_cv.py --workspace $W --name g-s-s1-t005 --models-from g-s-s1 --threshold 0.05; wait
for s in "" -s1; do
  python docs/results/fix_fold_threshold.py $W/cv/g-s$s $W/cv/g-s$s-t005 --threshold 0.05 --note "fixed 0.05 (RESULTS AD)"
done
V="python Codes/Models/beat_classes_cv.py --workspace $W $IN --classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --test-snr 6 0 --verifier-keep V"
$V --name verify_s_t005 --detections-cv $W/cv/g-s-t005 & $V --name verify_s_t005_s1 --seed 1 --detections-cv $W/cv/g-s-s1-t005; wait
for n in verify_s_t005 verify_s_t005_s1; do
  mkdir -p docs/results/permissive_pair/$n; cp $W/beat_classes/$n/{command.txt,detection_paired.csv,records.csv,summary.csv,summary.md} docs/results/permissive_pair/$n/
done
python docs/results/permissive_pair/check_rule.py
