"""Train the plain student (lambda 0) on the beat labels.

    python Codes/Models/student_train.py --workspace W [--preset seed|recommended|fast] [--arch bilstm] [--resume]

--preset seed (the default) is the original schedule: the BiLSTM, lr 2e-5, batch 16, 15 epochs,
early stopping after 5; --preset recommended is the architecture and recipe that record-wise
cross-validation chose (docs/RESULTS.md); --preset fast is that recipe with the small, fast
student that ships (fcn_20k, labels softened over 2 samples). Writes W/LSTM_train/ (other architectures:
W/<arch>_train/, e.g. tcn_train/): best.pth (lowest validation loss), last.pth (for --resume),
train_losses.npy, val_losses.npy and metadata.json. Checkpoints carry their config.
"""

try:
    from tsad.cli import script
except ModuleNotFoundError as err:   # tsad itself is not installed
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

main = script(__name__, __file__, __doc__)
