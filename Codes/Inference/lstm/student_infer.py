"""Score every test window with a trained student (plain or distilled) and write its outputs.

    python Codes/Inference/lstm/student_infer.py --workspace W --run LSTM_train

Any student run folder works (e.g. --run KD_train_0.5_vlm_1): the model is rebuilt from
W/<run>/best.pth alone. Writes all_probs_<run>.npy, all_labels_<run>.npy, all_ts_<run>.npy
and ids_<run>.npy into W/<run>/, one row per test window.
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__, __doc__)
