import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tools/ (authoring, not in the wheel)

# Tests run on the CPU with the smallest profile, whatever the machine has.
os.environ.setdefault("SCATTN_PROFILE", "smoke")

# Generated canvases go to a temporary data directory of this test process, never the user's
# cache (a test that needs its own sets SCATTN_DATA itself); it is removed at exit.
_DATA = tempfile.mkdtemp(prefix="scattn-test-data-")
os.environ["SCATTN_DATA"] = _DATA
atexit.register(shutil.rmtree, _DATA, ignore_errors=True)
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture(autouse=True)
def _english():
    """Every test starts in English (whatever $SCATTN_LANG says) and leaves English behind, so a test
    that switches the checks to Chinese cannot leak into the next one."""
    from scattn import i18n

    i18n.set_language("en")
    yield
    i18n.set_language("en")


def _checkout_changes() -> set[str]:
    """Files git sees as new or modified in the checkout (ignored ones excluded): none of them may come
    from a test. Empty outside a git checkout."""
    import subprocess

    root = Path(__file__).resolve().parents[1]
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=root,
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return set()
    return set(out.stdout.splitlines()) if out.returncode == 0 else set()


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # the xdist controller, or a plain run
        session.config._checkout_before = _checkout_changes()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_checkout_before", None)
    if before is None:
        return
    written = sorted(_checkout_changes() - before)
    if written:
        print("\ntests wrote into the checkout (they must use tmp_path):\n  " + "\n  ".join(written))
        session.exitstatus = 1
