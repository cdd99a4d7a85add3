# RESULTS section O: a wider classifier against v2 (section F's learned_v2, learned_v2_s1), paired on the same folds.
export OMP_NUM_THREADS=1
python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name wide \
    --classifiers learned --classifier-widths 32 64 64 --classifier-hidden 64 --against learned_v2
python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name wide_s1 --seed 1 \
    --classifiers learned --classifier-widths 32 64 64 --classifier-hidden 64 --against learned_v2_s1
