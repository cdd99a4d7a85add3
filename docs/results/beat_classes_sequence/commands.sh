# RESULTS section AA: the beat-sequence classifier (tsad.models.beat_sequence) against v2 (the shipped
# classifier's recipe) trained in the same runs on the same folds; v2's rows also against section U's
# rerun (learned_v2r, learned_v2r_s1, in the same workspace W). Two runs at once on the 2-core machine,
# one thread each.
export OMP_NUM_THREADS=1
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb --workspace $W --classifiers learned sequence"
python Codes/Models/beat_classes_cv.py $IN --name sequence --against learned_v2r
python Codes/Models/beat_classes_cv.py $IN --name sequence_s1 --seed 1 --against learned_v2r_s1
mkdir -p docs/results/beat_classes_sequence
for n in sequence sequence_s1; do
  mkdir -p docs/results/beat_classes_sequence/$n
  cp $W/beat_classes/$n/*.csv $W/beat_classes/$n/*.md $W/beat_classes/$n/command.txt docs/results/beat_classes_sequence/$n/
done
python docs/results/beat_classes_sequence/check_rule.py
