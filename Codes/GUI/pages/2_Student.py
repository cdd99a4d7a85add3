"""Student page: the plain student or a distilled one (runs of the registry, by lambda) on one test
window.

    streamlit run Codes/GUI/0_Homepage.py   (then choose "Student" in the sidebar)
"""

from __future__ import annotations

try:
    import tsad  # noqa: F401
except ModuleNotFoundError as err:
    raise SystemExit(f"error: {err.name} is not installed: pip install -r requirement.txt (repo root)")

from tsad.app import shared  # noqa: E402


def main() -> None:
    shared.model_page("student")


if __name__ == "__main__":
    main()
