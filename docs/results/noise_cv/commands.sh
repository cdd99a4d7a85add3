# RESULTS section Y. Run from the repository root; W is the workspace of sections G, T and V (/work/ws_both).
export OMP_NUM_THREADS=1
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb"
# 1. the common detectors on noisy copies of all 86 records at 6 and 0 dB, the noise seeds of section T's
#    two verifier runs (10,000 + 42 and 10,000 + 1): 8.1 and 8.0 min, one thread
for s in 10042 10001; do
  python benchmarks/bench_noise.py $IN --records 1000 --snr 6 0 --detectors xqrs gqrs neurokit sleepecg --seed $s \
      --out docs/results/noise_cv/classical_$s
done
python docs/results/noise_cv/compare_noise.py          # against section T's rows verifier@6dB, verifier@0dB
# 2. the noise-stress recipe (section E's augmentations on section G's arm A), seeds 42 and 1 on the same folds
R="--arch fcn_20k --epochs 4 --train-windows 12000 --batch-size 64 --lr 3e-3 --patience 3 --warmup-steps 200
   --aug-amplitude 0.3 --aug-wander-mv 0.2 --aug-noise-mv 0.02 --aug-shift 16 --pos-weight 1.0 --soft-sigma 2.0
   --aug-lead-dropout 0.5 --aug-stress 0.3 --aug-beatless 0.05"
python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1 --name g-s $R
python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1 --name g-s-s1 $R --seed 1 --fold-seed 42
python Codes/Models/student_cv.py --workspace $W --name g-s-t02 --models-from g-s --threshold 0.2
python Codes/Models/student_cv.py --workspace $W --name g-s-s1-t02 --models-from g-s-s1 --threshold 0.2
# the verifier study reads each fold's detector from the folder: the fold models with the threshold fixed at 0.2
for s in "" -s1; do
  python docs/results/fix_fold_threshold.py $W/cv/g-s$s $W/cv/g-s$s-t02 --threshold 0.2 --note "fixed 0.2 (RESULTS T, Y)"
done
V="python Codes/Models/beat_classes_cv.py --workspace $W $IN --classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --test-snr 6 0 --verifier-keep V"
$V --name verify_s_t02 --detections-cv $W/cv/g-s-t02
$V --name verify_s_t02_s1 --seed 1 --detections-cv $W/cv/g-s-s1-t02
python docs/results/noise_cv/check_rule.py
# the classes end to end with the new detector (section V's protocol), after the verdict
python Codes/Models/beat_classes_cv.py --workspace $W $IN --classifiers learned --name e2e_s_t02 --detections-cv $W/cv/g-s-t02
python Codes/Models/beat_classes_cv.py --workspace $W $IN --classifiers learned --name e2e_s_t02_s1 --seed 1 --detections-cv $W/cv/g-s-s1-t02
