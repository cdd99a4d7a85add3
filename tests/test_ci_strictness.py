"""TSAD_REQUIRE_SHARED (set by .ci/run): missing reference material fails instead of skipping."""

from __future__ import annotations

import pytest
from conftest import REPO, shared_dir


@pytest.mark.parametrize("value", [None, "/nonexistent/svdb"])
def test_missing_shared_folder_skips_for_a_developer(monkeypatch, value):
    monkeypatch.delenv("TSAD_REQUIRE_SHARED", raising=False)
    if value is None:
        monkeypatch.delenv("TSAD_SVDB_DIR", raising=False)
    else:
        monkeypatch.setenv("TSAD_SVDB_DIR", value)
    with pytest.raises(pytest.skip.Exception, match="TSAD_SVDB_DIR"):
        shared_dir("TSAD_SVDB_DIR")


@pytest.mark.parametrize("value", [None, "/nonexistent/svdb"])
def test_missing_shared_folder_fails_in_ci(monkeypatch, value):
    monkeypatch.setenv("TSAD_REQUIRE_SHARED", "1")
    if value is None:
        monkeypatch.delenv("TSAD_SVDB_DIR", raising=False)
    else:
        monkeypatch.setenv("TSAD_SVDB_DIR", value)
    try:
        shared_dir("TSAD_SVDB_DIR")
    except pytest.skip.Exception as err:  # caught here: escaping, it would only mark this test skipped
        pytest.fail(f"skipped although TSAD_REQUIRE_SHARED=1: {err}")
    except pytest.fail.Exception as err:
        assert "TSAD_SVDB_DIR" in str(err) and "TSAD_REQUIRE_SHARED=1 makes this an error" in str(err)
    else:
        pytest.fail("shared_dir accepted a missing folder")


def test_ci_script_requires_the_shared_material():
    script = (REPO / ".ci" / "run").read_text()
    assert 'export TSAD_REQUIRE_SHARED="${TSAD_REQUIRE_SHARED:-1}"' in script
