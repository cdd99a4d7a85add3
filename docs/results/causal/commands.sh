#!/bin/bash
# RESULTS H: causal detection (issue "Distillation where it should pay", constraint "past and future -> causal").
# The offline baseline is RESULTS G's arm A (g-a, g-a-s1: the shipped recipe, --preset fast's values, symmetric
# fcn_20k that reads 3.1 s on each side), on the same workspace and folds.
# REPO: the checkout; W: the workspace of svdb + mitdb built as in RESULTS G.
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
RECIPE="--arch fcn_20k --epochs 4 --train-windows 12000 --batch-size 64 --lr 3e-3 --patience 3 --warmup-steps 200 --aug-amplitude 0.3 --aug-wander-mv 0.2 --aug-noise-mv 0.02 --aug-shift 16 --pos-weight 1.0 --soft-sigma 2.0 --aug-lead-dropout 0.5"
CV="python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1"
S1="--seed 1 --fold-seed 42"
CAUSAL="--lookahead-s 0.2"
# the teacher of each fold: the two offline fold models (seeds 42 and 1) of that fold, mean of logits
KD="--lam 0.5 --fold-teacher cv/ens-ga/fold{fold}"
date
$CV --name c-a $RECIPE $CAUSAL > $W/c-a.log 2>&1 & $CV --name c-a-s1 $RECIPE $CAUSAL $S1 > $W/c-a-s1.log 2>&1; wait; date
python Codes/Models/ensemble_teacher.py --workspace $W --name 'cv/ens-ga/fold{fold}' --folds 5 \
    --members 'cv/g-a/fold{fold}' 'cv/g-a-s1/fold{fold}'
$CV --name c-kd $RECIPE $CAUSAL $KD > $W/c-kd.log 2>&1 & $CV --name c-kd-s1 $RECIPE $CAUSAL $KD $S1 > $W/c-kd-s1.log 2>&1; wait; date
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 c-a+c-a-s1 > $W/compare_offline_causal.log 2>&1
python Codes/Models/student_cv.py --workspace $W --compare c-a+c-a-s1 c-kd+c-kd-s1 > $W/compare_causal_kd.log 2>&1
date
# added after the figures above were seen (c-a on mitdb: V Se 0.957, F1 -0.0043 against g-a): a longer
# look-ahead, 0.3 s, which still fits --latency-s 0.5 with a causal beat rule that waits 0.1 s
CAUSAL3="--lookahead-s 0.3"
$CV --name c3-a $RECIPE $CAUSAL3 > $W/c3-a.log 2>&1 & $CV --name c3-a-s1 $RECIPE $CAUSAL3 $S1 > $W/c3-a-s1.log 2>&1; wait; date
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 c-a+c-a-s1 c3-a+c3-a-s1 > $W/compare_lookahead.log 2>&1
# distilled at 0.3 s, and every causal fold model scored in causal mode (--latency-s 0.5: the causal beat
# rule, each beat from at most 0.5 s after it; the thresholds tuned offline are kept)
$CV --name c3-kd $RECIPE $CAUSAL3 $KD > $W/c3-kd.log 2>&1 & $CV --name c3-kd-s1 $RECIPE $CAUSAL3 $KD $S1 > $W/c3-kd-s1.log 2>&1; wait; date
for m in c-a c-kd c3-a c3-kd; do
  $CV --name $m-l05 --models-from $m --latency-s 0.5 > $W/$m-l05.log 2>&1 & $CV --name $m-s1-l05 --models-from $m-s1 --latency-s 0.5 $S1 > $W/$m-s1-l05.log 2>&1; wait
done; date
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 c-a-l05+c-a-s1-l05 c-kd-l05+c-kd-s1-l05 c3-a-l05+c3-a-s1-l05 c3-kd-l05+c3-kd-s1-l05 > $W/compare_latency.log 2>&1
python Codes/Models/student_cv.py --workspace $W --compare c3-a-l05+c3-a-s1-l05 c3-kd-l05+c3-kd-s1-l05 > $W/compare_latency_kd.log 2>&1
python Codes/Models/student_cv.py --workspace $W --compare c-a-l05+c-a-s1-l05 c-kd-l05+c-kd-s1-l05 > $W/compare_latency_kd02.log 2>&1
date
# added after the figures above: every causal student trained on 2-s windows while its receptive field lies
# 5.9 s in the past. Trained on each window joined after the two before it in its record (6 s, --train-span 3),
# the causal student and, for comparison, the offline one (same recipe otherwise; three times the samples per step)
SPAN="--train-span 3"
$CV --name c3-s3 $RECIPE $CAUSAL3 $SPAN > $W/c3-s3.log 2>&1 & $CV --name c3-s3-s1 $RECIPE $CAUSAL3 $SPAN $S1 > $W/c3-s3-s1.log 2>&1; wait; date
$CV --name g-s3 $RECIPE $SPAN > $W/g-s3.log 2>&1 & $CV --name g-s3-s1 $RECIPE $SPAN $S1 > $W/g-s3-s1.log 2>&1; wait; date
$CV --name c3-s3-l05 --models-from c3-s3 --latency-s 0.5 > $W/c3-s3-l05.log 2>&1 & $CV --name c3-s3-s1-l05 --models-from c3-s3-s1 --latency-s 0.5 $S1 > $W/c3-s3-s1-l05.log 2>&1; wait
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 c3-a-l05+c3-a-s1-l05 c3-s3-l05+c3-s3-s1-l05 g-s3+g-s3-s1 > $W/compare_span.log 2>&1
date
# the trade-off: a look-ahead of 0.6 s (causal detection then needs --latency-s 0.8 at 360 Hz)
$CV --name c6-a $RECIPE --lookahead-s 0.6 > $W/c6-a.log 2>&1 & $CV --name c6-a-s1 $RECIPE --lookahead-s 0.6 $S1 > $W/c6-a-s1.log 2>&1; wait
$CV --name c6-a-l08 --models-from c6-a --latency-s 0.8 > $W/c6-a-l08.log 2>&1 & $CV --name c6-a-s1-l08 --models-from c6-a-s1 --latency-s 0.8 $S1 > $W/c6-a-s1-l08.log 2>&1; wait
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 c-a-l05+c-a-s1-l05 c3-a-l05+c3-a-s1-l05 c6-a-l08+c6-a-s1-l08 > $W/compare_tradeoff.log 2>&1
date
# added 2026-12-04, session 4 (rule in RESULTS H, "Rare beats drawn more often", committed before the runs): the
# causal student's loss is mostly ventricular sensitivity (c3-a at --latency-s 0.5: mitdb V Se 0.9453 against
# 0.9958 offline); the same recipe with the training windows drawn by the rarity of their beats (--balance 0.5)
BAL="--balance 0.5"
$CV --name c3-bal $RECIPE $CAUSAL3 $BAL > $W/c3-bal.log 2>&1 & $CV --name c3-bal-s1 $RECIPE $CAUSAL3 $BAL $S1 > $W/c3-bal-s1.log 2>&1; wait; date
$CV --name c3-bal-l05 --models-from c3-bal --latency-s 0.5 > $W/c3-bal-l05.log 2>&1 & $CV --name c3-bal-s1-l05 --models-from c3-bal-s1 --latency-s 0.5 $S1 > $W/c3-bal-s1-l05.log 2>&1; wait
python Codes/Models/student_cv.py --workspace $W --compare c3-a-l05+c3-a-s1-l05 c3-bal-l05+c3-bal-s1-l05 > $W/compare_causal_balance.log 2>&1
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 c3-bal-l05+c3-bal-s1-l05 > $W/compare_offline_causal_balance.log 2>&1
date
# 2026-12-04, session 4: the --train-span arms above (c3-s3, g-s3) joined no two mitdb windows (a bug: windows.csv gives
# a 360 Hz record's window starts in its own samples, 720 apart; fixed in tsad.data.splits.window_table), so their
# mitdb windows were each repeated three times. The same arms again under new names:
$CV --name c3-s3f $RECIPE $CAUSAL3 $SPAN > $W/c3-s3f.log 2>&1 & $CV --name c3-s3f-s1 $RECIPE $CAUSAL3 $SPAN $S1 > $W/c3-s3f-s1.log 2>&1; wait; date
$CV --name c3-s3f-l05 --models-from c3-s3f --latency-s 0.5 > $W/c3-s3f-l05.log 2>&1 & $CV --name c3-s3f-s1-l05 --models-from c3-s3f-s1 --latency-s 0.5 $S1 > $W/c3-s3f-s1-l05.log 2>&1; wait
$CV --name g-s3f $RECIPE $SPAN > $W/g-s3f.log 2>&1 & $CV --name g-s3f-s1 $RECIPE $SPAN $S1 > $W/g-s3f-s1.log 2>&1; wait; date
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 c3-a-l05+c3-a-s1-l05 c3-s3f-l05+c3-s3f-s1-l05 g-s3f+g-s3f-s1 > $W/compare_span_fixed.log 2>&1
python Codes/Models/student_cv.py --workspace $W --compare c3-a-l05+c3-a-s1-l05 c3-s3f-l05+c3-s3f-s1-l05 > $W/compare_causal_span_fixed.log 2>&1
date
# 2026-12-04, session 4 (rule in RESULTS H, "A larger causal student", committed before the runs): the same causal
# recipe with four times the parameters (fcn_80k: width 96)
$CV --name c3-80k $RECIPE $CAUSAL3 --arch fcn_80k > $W/c3-80k.log 2>&1 & $CV --name c3-80k-s1 $RECIPE $CAUSAL3 --arch fcn_80k $S1 > $W/c3-80k-s1.log 2>&1; wait; date
$CV --name c3-80k-l05 --models-from c3-80k --latency-s 0.5 > $W/c3-80k-l05.log 2>&1 & $CV --name c3-80k-s1-l05 --models-from c3-80k-s1 --latency-s 0.5 $S1 > $W/c3-80k-s1-l05.log 2>&1; wait
python Codes/Models/student_cv.py --workspace $W --compare c3-a-l05+c3-a-s1-l05 c3-80k-l05+c3-80k-s1-l05 > $W/compare_causal_80k.log 2>&1
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 c3-80k-l05+c3-80k-s1-l05 > $W/compare_offline_causal_80k.log 2>&1
date
# 2026-12-04, session 5 (rule in RESULTS H, "More look-ahead within the same latency", committed before the runs):
# look-ahead 0.35 s, read with causal picking's wait at 0.05 s; the control reads c3-80k with the same wait
CAUSAL35="--lookahead-s 0.35"
$CV --name c35-80k $RECIPE $CAUSAL35 --arch fcn_80k > $W/c35-80k.log 2>&1 & $CV --name c35-80k-s1 $RECIPE $CAUSAL35 --arch fcn_80k $S1 > $W/c35-80k-s1.log 2>&1; wait
$CV --name c35-80k-l05w --models-from c35-80k --latency-s 0.5 --causal-wait-s 0.05 & $CV --name c35-80k-s1-l05w --models-from c35-80k-s1 --latency-s 0.5 --causal-wait-s 0.05 $S1; wait
$CV --name c3-80k-l05w --models-from c3-80k --latency-s 0.5 --causal-wait-s 0.05 & $CV --name c3-80k-s1-l05w --models-from c3-80k-s1 --latency-s 0.5 --causal-wait-s 0.05 $S1; wait
python Codes/Models/student_cv.py --workspace $W --compare c3-80k-l05+c3-80k-s1-l05 c35-80k-l05w+c35-80k-s1-l05w c3-80k-l05w+c3-80k-s1-l05w > $W/compare_causal_wait.log 2>&1
python Codes/Models/student_cv.py --workspace $W --compare g-a+g-a-s1 c35-80k-l05w+c35-80k-s1-l05w > $W/compare_offline_causal_wait.log 2>&1
# shipped (pretrained/fcn20k_svdb_mitdb/causal/): the command is in its MODEL_CARD.md (train_pretrained.py --arch fcn_80k
# --lookahead-s 0.35 --causal-wait-s 0.05 ... --cv-summary $W/cv/c35-80k-l05w/summary.csv $W/cv/c35-80k-s1-l05w/summary.csv)
