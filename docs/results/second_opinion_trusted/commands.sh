#!/bin/bash
# RESULTS AF: section AE's runs again with the second opinion asked only where GQRS confirms >= 90% of the
# detector's sure beats within 10 s (--trust-window-s 10), p in 0.3 0.4 0.5; section AE's rule by its check_rule.py.
# REPO: the checkout; W: the svdb + mitdb workspace of sections G-AE (rebuilt as in docs/results/noise_cv/commands.sh).
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb"
V="python Codes/Models/beat_classes_cv.py --workspace $W $IN --classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --test-snr 6 0 --verifier-keep V"
T="--second-opinion gqrs --sure-above 0.3 0.4 0.5 --trust-window-s 10"
$V --name verify_s_gqrs_trust --detections-cv $W/cv/g-s-t02 $T &
$V --name verify_s_gqrs_trust_s1 --seed 1 --detections-cv $W/cv/g-s-s1-t02 $T; wait
for n in verify_s_gqrs_trust verify_s_gqrs_trust_s1; do
  mkdir -p docs/results/second_opinion_trusted/$n; cp $W/beat_classes/$n/{command.txt,detection_paired.csv,records.csv,summary.csv,summary.md} docs/results/second_opinion_trusted/$n/
done
python docs/results/second_opinion/check_rule.py --runs verify_s_gqrs_trust verify_s_gqrs_trust_s1 --out docs/results/second_opinion_trusted
