"""Teacher page: a fine-tuned SmolVLM teacher (a run of the registry, by alpha) on one test window,
saved or live.

    streamlit run Codes/GUI/0_Homepage.py   (then choose "Teacher" in the sidebar)
"""

from __future__ import annotations

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

from tsad.app import shared  # noqa: E402


def main() -> None:
    shared.model_page("teacher")


if __name__ == "__main__":
    main()
