# RESULTS section V: scoring as EC57 (nothing inside the reference's ventricular flutter episodes).
# Run from the repository root; W is the workspace holding section G's and T's cross-validations (/work/ws_both).
export OMP_NUM_THREADS=1
IN="--input-dir ../shared/data/svdb ../shared/data/mitdb"
# the classical detectors on the same folds (nothing trained; scored as EC57 by default now)
for d in xqrs gqrs neurokit sleepecg; do python Codes/Models/student_cv.py --workspace $W --folds 5 --threads 1 --name ec57-$d --detector $d; done
# every stored cross-validation's detections scored both ways
python docs/results/ec57_vf/rescore_cv.py --cv $W/cv/g-a-t02 $W/cv/g-a-s1-t02 $W/cv/g-a $W/cv/g-a-s1 \
    $W/cv/ec57-xqrs $W/cv/ec57-gqrs $W/cv/ec57-neurokit $W/cv/ec57-sleepecg $IN
# section T's runs again (the same fold verifiers, clean records only), now scored as EC57
V="python Codes/Models/beat_classes_cv.py --workspace $W $IN --classifiers verifier --verifier-drop tuned --verifier-noise 12 3 --verifier-keep V"
$V --name verify_t02_ec57 --detections-cv $W/cv/g-a-t02
$V --name verify_t02_ec57_s1 --seed 1 --detections-cv $W/cv/g-a-s1-t02
python docs/results/ec57_vf/verify_summary.py
python docs/results/ec57_vf/compare.py
# section S's threshold choice again, counted as EC57
python docs/results/threshold_cv/threshold_cv.py --cv $W/cv/g-a $W/cv/g-a-s1 $IN --out docs/results/ec57_vf/threshold_cv
