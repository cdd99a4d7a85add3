"""tsad: VLM-guided knowledge distillation for ECG beat (anomaly) detection.

Shared logic for the stage scripts under ``Codes/``. Nothing here runs at import,
and heavy dependencies (transformers, wfdb, streamlit) are imported only by the
modules that need them, so the teacher works on machines without wfdb.
"""

__version__ = "0.1.0"

__all__ = ["detect_beats", "detect_record"]


def __getattr__(name):
    # ``tsad.detect_beats`` without importing torch or wfdb when the package itself is imported
    if name in __all__:
        from tsad import api

        return getattr(api, name)
    raise AttributeError(f"module 'tsad' has no attribute {name!r}")
