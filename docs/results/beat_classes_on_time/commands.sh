# RESULTS section U: the on-time template against v2 recomputed with the same code, paired on the same folds.
# Run from the repository root; W is the workspace (here /work/ws_both), two runs at a time, one thread each.
export OMP_NUM_THREADS=1
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb --workspace $W"
python Codes/Models/beat_classes_cv.py $IN --name learned_v2r --classifiers learned
python Codes/Models/beat_classes_cv.py $IN --name learned_v2r_s1 --seed 1 --classifiers learned
python Codes/Models/beat_classes_cv.py $IN --name on_time --classifiers learned --wave-context on-time --against learned_v2r
python Codes/Models/beat_classes_cv.py $IN --name on_time_s1 --seed 1 --classifiers learned --wave-context on-time --against learned_v2r_s1
