# RESULTS Q: the verifier shipped beside the shipped detector (issue 31), and what it does on the shared records.
cd REPO; . .venv/bin/activate
export OMP_NUM_THREADS=1 W=W
# 1. train it (the recipe of section P; its two CV runs' paired tables go into the checkpoint and the card): 6.2 min
python Codes/Models/verifier_train.py --run pretrained --input-dir ../shared/data/svdb ../shared/data/mitdb \
    --cv-paired docs/results/verifier_keep_v/verify_keep_v/detection_paired.csv \
                docs/results/verifier_keep_v/verify_keep_v_s1/detection_paired.csv
# 2. the shipped model on the shared records, with and without its verifier (its TRAINING records: an
#    in-sample check of the plumbing and of what it drops where, not a measure of generalisation)
for db in svdb mitdb; do
  python Codes/Inference/detect.py --run pretrained --input-dir ../shared/data/$db --out $W/det/$db-verified --workspace $W --threads 1
  python Codes/Inference/detect.py --run pretrained --input-dir ../shared/data/$db --out $W/det/$db-unverified --workspace $W --threads 1 --no-verifier
  python Codes/Inference/evaluate_records.py --detections $W/det/$db-unverified $W/det/$db-verified \
      --input-dir ../shared/data/$db --out $W/det/$db-comparison --workspace $W
done
python docs/results/verifier_shipped/summarise.py $W/det > docs/results/verifier_shipped/in_sample.md
# 3. the noise benchmark's records and draws, the shipped model alone (with its verifier now)
python benchmarks/bench_noise.py --input-dir ../shared/data/svdb ../shared/data/mitdb --records 10 \
    --detectors pretrained --out docs/results/noise_verified
