# RESULTS section M: the steady rhythm context against v2 (the shipped recipe), paired on the same folds.
# The v2 studies (learned_v2, learned_v2_s1) are section F's; their commands are in docs/results/beat_classes_learned.
export OMP_NUM_THREADS=1
python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name steady \
    --classifiers learned --rhythm-context steady --against learned_v2
python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name steady_s1 --seed 1 \
    --classifiers learned --rhythm-context steady --against learned_v2_s1
