# RESULTS section W: the class decision with offsets chosen on a quarter of each fold's training records,
# against v2 (section U's learned_v2r runs in the same workspace W), paired on the same folds.
export OMP_NUM_THREADS=1
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb --workspace $W"
python Codes/Models/beat_classes_cv.py $IN --name decision --classifiers learned --class-decision tuned --against learned_v2r
python Codes/Models/beat_classes_cv.py $IN --name decision_s1 --seed 1 --classifiers learned --class-decision tuned --against learned_v2r_s1
python docs/results/beat_classes_decision/check_rule.py
