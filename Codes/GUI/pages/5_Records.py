"""Records page: a model's beats over whole WFDB records (folders written by
Codes/Inference/detect.py), scrolled through with the reference beats, the matches, misses and
false detections marked, a jump to the next error, the class of every missed beat with a jump to
the next miss of a chosen class, and the per-record table (with the sensitivity per beat class) and
its summary.

    streamlit run Codes/GUI/0_Homepage.py   (then choose "Records" in the sidebar)
"""

from __future__ import annotations

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

import streamlit as st  # noqa: E402

from tsad.app import (
    records_page,  # noqa: E402
    shared,
)


def main() -> None:
    ws = shared.page("Whole records", "🩺")
    folder = records_page.choose_folder(ws)
    if folder is None:
        return
    records_page.folder_summary(folder)
    record = records_page.choose_record(folder)
    if record is not None:
        records_page.record_viewer(folder, record)
    st.header("Every record of this model")
    records_page.records_tables(folder)


if __name__ == "__main__":
    main()
