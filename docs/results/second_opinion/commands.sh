#!/bin/bash
# RESULTS AE: section Y's verifier cross-validation of the shipped pair (fold detectors g-s, g-s-s1 at 0.2) run
# again with GQRS's second opinion on the beats below each --sure-above p; check_rule.py chooses p by nested
# cross-validation and applies the rule. REPO: the checkout; W: the svdb + mitdb workspace of sections G-AD.
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb"
V="python Codes/Models/beat_classes_cv.py --workspace $W $IN --classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --test-snr 6 0 --verifier-keep V"
$V --name verify_s_gqrs --detections-cv $W/cv/g-s-t02 --second-opinion gqrs --sure-above 0.3 0.4 0.5 0.6 0.7 &
$V --name verify_s_gqrs_s1 --seed 1 --detections-cv $W/cv/g-s-s1-t02 --second-opinion gqrs --sure-above 0.3 0.4 0.5 0.6 0.7; wait
for n in verify_s_gqrs verify_s_gqrs_s1; do
  mkdir -p docs/results/second_opinion/$n; cp $W/beat_classes/$n/{command.txt,detection_paired.csv,records.csv,summary.csv,summary.md} docs/results/second_opinion/$n/
done
python docs/results/second_opinion/check_rule.py
