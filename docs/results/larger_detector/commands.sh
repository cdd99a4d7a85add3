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
# the fold models into the readings' folders with the threshold fixed at 0.2 (as section Y did), which
# bench_noise.py --cv and the verifier study load
for s in "" -s1; do
  python docs/results/fix_fold_threshold.py $W/cv/g-s80$s $W/cv/g-s80$s-t02 --threshold 0.2 --note "fixed 0.2 (RESULTS T, Y, AC)"
done
# under noise: each record's noisy copies (6 and 0 dB) by its fold's detector, both sizes, the noise seeds of section Y
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb --workspace $W --snr 6 0"
python benchmarks/bench_noise.py $IN --cv g-s-t02 g-s80-t02 --seed 10042 --out docs/results/larger_detector/noise_10042 &
python benchmarks/bench_noise.py $IN --cv g-s-s1-t02 g-s80-s1-t02 --seed 10001 --out docs/results/larger_detector/noise_10001; wait
for n in g-s-t02 g-s-s1-t02 g-s80-t02 g-s80-s1-t02; do
  mkdir -p docs/results/larger_detector/cv/$n; cp $W/cv/$n/{folds.csv,records.csv,summary.md,command.txt} docs/results/larger_detector/cv/$n/
done
python Codes/Models/student_cv.py --workspace $W --compare g-s-t02+g-s-s1-t02 g-s80-t02+g-s80-s1-t02 > docs/results/larger_detector/compare_clean.md
python docs/results/larger_detector/check_rule.py
# lead 1 alone (issue 32), no rule
$CV --name g-s80-t02-leads1 --models-from g-s80-t02 --leads 1 & $CV --name g-s80-s1-t02-leads1 --models-from g-s80-s1-t02 --leads 1; wait
python Codes/Models/student_cv.py --workspace $W --compare g-s-t02-leads1+g-s-s1-t02-leads1 g-s80-t02-leads1+g-s80-s1-t02-leads1 \
    > docs/results/larger_detector/compare_lead1.md
