# RESULTS P: the verifier that keeps ventricular beats, on rebuilt detector CVs (section G's arm A).
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
python Codes/Dataset/data_generate.py --workspace $W --input-dir ../shared/data/svdb ../shared/data/mitdb   # 1.3 min
RECIPE="--arch fcn_20k --epochs 4 --train-windows 12000 --batch-size 64 --lr 3e-3 --patience 3 --warmup-steps 200 --aug-amplitude 0.3 --aug-wander-mv 0.2 --aug-noise-mv 0.02 --aug-shift 16 --pos-weight 1.0 --soft-sigma 2.0 --aug-lead-dropout 0.5"
CV="python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1"
$CV --name g-a $RECIPE & $CV --name g-a-s1 $RECIPE --seed 1 --fold-seed 42; wait          # 5.7 min
V="python Codes/Models/beat_classes_cv.py --workspace $W --input-dir ../shared/data/svdb ../shared/data/mitdb --classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --test-snr 6 0 --verifier-keep V"
$V --name verify_keep_v --detections-cv $W/cv/g-a & $V --name verify_keep_v_s1 --seed 1 --detections-cv $W/cv/g-a-s1; wait   # 23.3 min
python docs/results/verifier_keep_v/check_rule.py $W/beat_classes/verify_keep_v $W/beat_classes/verify_keep_v_s1
