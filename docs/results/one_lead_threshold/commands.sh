#!/bin/bash
# RESULTS Z: the second lead alone (issue "Distillation where it should pay"). W: the svdb + mitdb workspace of
# sections G-Y, with section Y's fold models g-s and g-s-s1 (and g-s-t02, g-s-s1-t02: the same models at 0.2).
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
CV="python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1"
# 1. the detectors people use, on lead 1 (0-based: the second lead) of the same records and folds (2.5, 0.4, 0.5, 2.3 min)
for d in gqrs sleepecg neurokit xqrs; do $CV --name ec57-$d-leads1 --detector $d --leads 1; done
# the shipped recipe's fold models at the shipped threshold, on lead 1 (about 1 min each)
$CV --name g-s-t02-leads1 --models-from g-s-t02 --leads 1
$CV --name g-s-s1-t02-leads1 --models-from g-s-s1-t02 --leads 1 --seed 1 --fold-seed 42
mkdir -p docs/results/one_lead_threshold/cv
for n in g-s-t02-leads1 g-s-s1-t02-leads1 ec57-xqrs-leads1 ec57-gqrs-leads1 ec57-neurokit-leads1 ec57-sleepecg-leads1; do
  mkdir -p docs/results/one_lead_threshold/cv/$n; cp $W/cv/$n/{records.csv,summary.md,command.txt} docs/results/one_lead_threshold/cv/$n/
done
python docs/results/one_lead_threshold/compare_lead1.py          # compare_lead1.txt / .csv
# 2. the threshold for one lead, chosen as section S chose 0.2, and scored nested (1.0 and 1.3 min)
for k in 1 0; do
  python docs/results/threshold_cv/threshold_cv.py --cv $W/cv/g-s $W/cv/g-s-s1 --input-dir ../shared/data/svdb ../shared/data/mitdb \
      --leads $k --nested --compare 0.2 --out docs/results/one_lead_threshold/lead$k > docs/results/one_lead_threshold/lead$k.txt
done
# exploratory, no rule: the two seeds' fold models as one detector (the mean of their logits), both leads (1.1 min)
python Codes/Models/ensemble_teacher.py --workspace $W --name 'cv/ens-gs/fold{fold}' --folds 5 \
    --members 'cv/g-s/fold{fold}' 'cv/g-s-s1/fold{fold}'
cp $W/cv/g-s/folds.csv $W/cv/ens-gs/
python docs/results/threshold_cv/threshold_cv.py --cv $W/cv/ens-gs --input-dir ../shared/data/svdb ../shared/data/mitdb \
    --nested --compare 0.2 --out docs/results/one_lead_threshold/ensemble > docs/results/one_lead_threshold/ensemble/summary.txt
