"""tsad: VLM-guided knowledge distillation for ECG beat (anomaly) detection.

Shared logic for the stage scripts under ``Codes/``. Nothing here runs at import,
and heavy dependencies (transformers, wfdb, streamlit) are imported only by the
modules that need them, so the teacher works on machines without wfdb.
"""

__version__ = "0.1.0"
