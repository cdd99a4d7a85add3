# RESULTS section N: the verifier beside the shipped classifier recipe, on the detections of section G's arm A
# (the shipped detector's recipe; W=/work/ws_both holds those cross-validations: student_cv.py --name g-a, g-a-s1).
export OMP_NUM_THREADS=1 W=/work/ws_both
python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name verify \
    --classifiers learned verifier --detections-cv $W/cv/g-a
python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name verify_s1 --seed 1 \
    --classifiers learned verifier --detections-cv $W/cv/g-a-s1
# the second rule: the verifier at an operating point chosen on a quarter of each fold's training records
python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name verify_tuned \
    --classifiers learned verifier --verifier-drop tuned --detections-cv $W/cv/g-a
python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name verify_tuned_s1 --seed 1 \
    --classifiers learned verifier --verifier-drop tuned --detections-cv $W/cv/g-a-s1
# the third attempt: a verifier that has also seen noise, scored clean and under noise (beside the same verifier
# dropping nothing). The clean rows of detection_paired.csv were added after the run with
# tsad.scoring.classes.paired_detection_difference (the script then paired them with nothing; fixed since).
python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name verify_noise \
    --classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --test-snr 6 0 --detections-cv $W/cv/g-a
python Codes/Models/beat_classes_cv.py --input-dir ../shared/data/svdb ../shared/data/mitdb --name verify_noise_s1 --seed 1 \
    --classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --test-snr 6 0 --detections-cv $W/cv/g-a-s1
