"""`make lab` as a newcomer runs it: the Makefile's own recipe starts JupyterLab, as root too.

The recipe runs against this test's Python (a stand-in .venv whose bin/ links to it and
whose install stamp is fresh, so make installs nothing), on a free port of 127.0.0.1 with a
token; the test waits for the REST API to answer, then stops the server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from helpers import free_port, stop_process_group

ROOT = Path(__file__).resolve().parents[1]
JUPYTER = shutil.which("jupyter", path=str(Path(sys.executable).parent)) or shutil.which("jupyter")
pytestmark = pytest.mark.skipif(JUPYTER is None or shutil.which("make") is None,
                                reason="needs make and JupyterLab (the dev extra)")


def test_make_lab_starts_jupyterlab_and_prints_the_address(tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "jupyter").symlink_to(JUPYTER)
    (venv / "bin" / "python").symlink_to(sys.executable)
    (venv / ".scattn-installed").touch()  # newer than pyproject.toml: make installs nothing
    port = free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    env.pop("JUPYTER_TOKEN", None)  # the token a newcomer gets: generated, and printed in the address
    log = tmp_path / "lab.log"
    with log.open("w") as out:
        lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"VENV={venv}", f"LAB_PORT={port}"],
                               cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        address = rf"http://127\.0\.0\.1:{port}/lab/tree/notebooks\?token=(\w+)"
        deadline, status = time.monotonic() + 90, None
        while time.monotonic() < deadline and lab.poll() is None and status is None:
            printed = re.search(address, log.read_text())
            try:
                if printed:
                    url = f"http://127.0.0.1:{port}/api/status?token={printed.group(1)}"
                    with urllib.request.urlopen(url, timeout=2) as response:
                        status = json.load(response)
            except OSError:
                pass
            time.sleep(0.5)
        text = log.read_text()
        assert status is not None, f"JupyterLab did not print an address that answers on port {port}:\n{text[-3000:]}"
        assert "started" in status
        with pytest.raises(urllib.error.HTTPError, match="403"):  # the token is required
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5)
        assert f"Serving notebooks from local directory: {ROOT}" in text  # exercises/ can be reached too
        for tree in ("notebooks", "zh/notebooks"):  # both trees' addresses are printed: the course, the Chinese edition
            assert f"http://127.0.0.1:{port}/lab/tree/{tree}?token=" in text, tree
        assert ("--allow-root" in text) == (os.geteuid() == 0)  # passed exactly when running as root
    finally:
        if lab.poll() is None:
            stop_process_group(lab, timeout=20)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_make_lab_passes_allow_root_only_to_root(tmp_path):
    # The same recipe, printed (make -n) for root and for an ordinary user (nobody).
    def recipe(*prefix):
        done = subprocess.run([*prefix, "make", "-n", "--no-print-directory", "lab", f"VENV={tmp_path}"],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout
    assert "--allow-root" in recipe()
    assert "--allow-root" not in recipe("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
