"""Score whole-record detections beat by beat at 150 ms, per record, gross and average (EC57 / bxb).

    python Codes/Inference/evaluate_records.py --detections W/detections/LSTM_train --input-dir PATH/svdb
    python Codes/Inference/evaluate_records.py --detections W/detections/LSTM_train W/detections/xqrs         --input-dir PATH/svdb --skip-learning --out W/detections/comparison

Every flag: --help. The stage's code: Codes/tsad/cli/evaluate_records.py (also python -m tsad.cli.evaluate_records).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
