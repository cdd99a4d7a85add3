"""Student page: the BiLSTM (lambda 0) or a distilled one (lambda 0.5, 1) on one test window.

    streamlit run Codes/GUI/0_Homepage.py   (then choose "Student" in the sidebar)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # Codes/: tsad imports without installing

from tsad import app  # noqa: E402


def main() -> None:
    app.model_page("student")


if __name__ == "__main__":
    main()
