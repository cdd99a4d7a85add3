"""Detect every beat of whole WFDB records with a trained model or a classical detector.

    python Codes/Inference/detect.py --run pretrained --input-dir PATH/records      # the shipped model
    python Codes/Inference/detect.py --run LSTM_train --input-dir PATH/svdb --records 803 807
    python Codes/Inference/detect.py --run xqrs --input-dir PATH/mitdb --out detections/xqrs
    python Codes/Inference/detect.py --run pretrained --input-dir PATH/holter --leads 0        # one lead
    python Codes/Inference/detect.py --run pretrained --input-dir ARCHIVE --recursive --engine dask --workers 8

Every flag: --help. The stage's code: Codes/tsad/cli/detect.py (also python -m tsad.cli.detect).
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__)
