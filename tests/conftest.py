import os
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tools/ (authoring, not in the wheel)

# Tests run on the CPU with the smallest profile, whatever the machine has.
os.environ.setdefault("SCATTN_PROFILE", "smoke")
torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
