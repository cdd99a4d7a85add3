#!/bin/bash
# RESULTS AG: section AE's runs again with the second opinion asked only where lead 0 reads at least 12 dB
# clean (--ask-above-db 12, tsad.detection.second_opinion.local_snr_db) and never of a beat the verifier
# calls V (--spare-kept with --verifier-keep V); p in 0.3 0.4 0.5; the rule by section AE's check_rule.py
# with --class-drop 0.0005 (section AG's condition 3).
# REPO: the checkout; W: the svdb + mitdb workspace of sections G-AF (rebuilt as in docs/results/noise_cv/commands.sh).
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
python docs/results/second_opinion_clean/read_snr.py --out docs/results/second_opinion_clean/read_snr.csv   # the threshold's reading
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb"
V="python Codes/Models/beat_classes_cv.py --workspace $W $IN --classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --test-snr 6 0 --verifier-keep V"
T="--second-opinion gqrs --sure-above 0.3 0.4 0.5 --ask-above-db 12 --spare-kept"
$V --name verify_s_gqrs_clean --detections-cv $W/cv/g-s-t02 $T &
$V --name verify_s_gqrs_clean_s1 --seed 1 --detections-cv $W/cv/g-s-s1-t02 $T; wait
for n in verify_s_gqrs_clean verify_s_gqrs_clean_s1; do
  mkdir -p docs/results/second_opinion_clean/$n; cp $W/beat_classes/$n/{command.txt,detection_paired.csv,records.csv,summary.csv,summary.md} docs/results/second_opinion_clean/$n/
done
python docs/results/second_opinion/check_rule.py --runs verify_s_gqrs_clean verify_s_gqrs_clean_s1 --out docs/results/second_opinion_clean
