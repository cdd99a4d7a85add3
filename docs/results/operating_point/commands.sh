#!/bin/bash
# RESULTS L, "The operating point": the shipped recipe's fold models (arm A: g-a, g-a-s1) scored again at fixed beat
# thresholds instead of each fold's tuned one (0.15-0.35), nothing retrained: can precision on mitdb reach the
# issue's 0.998 by the operating point alone, and at what cost in sensitivity?
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
CV="python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1"
S1="--seed 1 --fold-seed 42"
date
for t in 40 50 70; do
  $CV --name g-a-t$t --models-from g-a --threshold 0.$t > $W/g-a-t$t.log 2>&1 &
  $CV --name g-a-s1-t$t --models-from g-a-s1 --threshold 0.$t $S1 > $W/g-a-s1-t$t.log 2>&1; wait
done
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 g-a-t40+g-a-s1-t40 g-a-t50+g-a-s1-t50 g-a-t70+g-a-s1-t70 > $W/compare_operating_point.log 2>&1
date
