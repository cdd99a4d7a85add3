#!/bin/bash
# RESULTS AB: the shipped causal recipe (RESULTS H, c35-80k) with and without noise-stress windows, seeds 42 and 1
# on the same folds, read causally at --latency-s 0.5 with the 0.05 s wait, clean and at 6 and 0 dB.
# REPO: the checkout; W: the svdb + mitdb workspace of sections G-Y.
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
RECIPE="--arch fcn_80k --epochs 4 --train-windows 12000 --batch-size 64 --lr 3e-3 --patience 3 --warmup-steps 200 --aug-amplitude 0.3 --aug-wander-mv 0.2 --aug-noise-mv 0.02 --aug-shift 16 --pos-weight 1.0 --soft-sigma 2.0 --aug-lead-dropout 0.5 --lookahead-s 0.35"
STRESS="--aug-stress 0.3 --aug-beatless 0.05"
CV="python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1"
S1="--seed 1 --fold-seed 42"
$CV --name c35-80k $RECIPE & $CV --name c35-80k-s1 $RECIPE $S1; wait
$CV --name c35s-80k $RECIPE $STRESS & $CV --name c35s-80k-s1 $RECIPE $STRESS $S1; wait
for m in c35-80k c35s-80k; do
  $CV --name $m-l05w --models-from $m --latency-s 0.5 --causal-wait-s 0.05 & \
  $CV --name $m-s1-l05w --models-from $m-s1 --latency-s 0.5 --causal-wait-s 0.05 $S1; wait
done
python Codes/Models/student_cv.py --workspace $W --compare c35-80k-l05w+c35-80k-s1-l05w c35s-80k-l05w+c35s-80k-s1-l05w \
    > docs/results/causal_stress/compare_clean.md
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb --workspace $W --snr 6 0 --latency-s 0.5 --causal-wait-s 0.05"
python benchmarks/bench_noise.py $IN --cv c35-80k c35s-80k --seed 10042 --out docs/results/causal_stress/noise_10042 &
python benchmarks/bench_noise.py $IN --cv c35-80k-s1 c35s-80k-s1 --seed 10001 --out docs/results/causal_stress/noise_10001; wait
for n in c35-80k-l05w c35-80k-s1-l05w c35s-80k-l05w c35s-80k-s1-l05w; do
  mkdir -p docs/results/causal_stress/cv/$n; cp $W/cv/$n/{folds.csv,records.csv,summary.md,command.txt} docs/results/causal_stress/cv/$n/
done
python docs/results/causal_stress/check_rule.py
