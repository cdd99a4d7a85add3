# RESULTS section X: a teacher that reads the record's view (tsad.data.record_context) and its student,
# distilled; paired against section U's rerun of v2 on labels (learned_v2r, learned_v2r_s1, in the same
# workspace W). Two runs at once on the 2-core machine, one thread each: 13.9 min each.
export OMP_NUM_THREADS=1
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb --workspace $W"
KD="--classifiers learned --distil-members 1 --teacher-view record --weighted-kd --lam 0.5 --temperature 2"
python Codes/Models/beat_classes_cv.py $IN --name record_kd $KD --against learned_v2r
python Codes/Models/beat_classes_cv.py $IN --name record_kd_s1 --seed 1 $KD --against learned_v2r_s1
python docs/results/beat_classes_record_view/check_rule.py
