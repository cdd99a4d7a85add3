"""Teacher page: a fine-tuned SmolVLM (alpha 0.5 or 1) on one test window, saved or live.

    streamlit run Codes/GUI/0_Homepage.py   (then choose "Teacher" in the sidebar)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # Codes/: tsad imports without installing

from tsad import app  # noqa: E402


def main() -> None:
    app.model_page("teacher")


if __name__ == "__main__":
    main()
