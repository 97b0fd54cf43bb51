"""Exercise checks: test a learner's code against the papers' formulas and say what is wrong.

One call per exercise, e.g. ``checks.spatial_attention(SpatialAttention)``. Each
prints one line per property (✓ / ✗). When something is wrong it raises an
AssertionError whose message is a hint for *that* mistake. How a check decides:

- it finds the parts of the learner's module by their role (the spatial conv is
  the ``nn.Conv2d`` from 2 channels to 1, the MLP the Linear or 1×1 conv layers
  C -> C // r -> C), whatever their names, order or wrappers;
- it validates what the learner's code returns (type, dtype, shape, finiteness)
  before comparing anything;
- it computes the paper's formula with the learner's own weights, and the usual
  mistakes ("mutants") too: the one that matches names the mistake;
- it varies the arguments (kernel sizes, reductions, C not divisible by r, C < r,
  H ≠ W, a batch of one) and runs a backward pass, so a gate that cannot learn fails;
- an exception in the learner's code is reported with the learner's own lines
  of the traceback and a hint, never as a crash of the checker.

The lines and hints are English, or Chinese once ``scattn.setup(language="zh")`` (as the
Chinese notebooks do): every sentence is a ``t("English template", ...)`` call looked up
in ``scattn/locale/zh.json`` (:mod:`scattn.i18n`). Values, the learner's code and the
messages of Python and torch stay as they are.

``tests/learner_code/`` holds the catalogue of right and wrong learner code that
every check is tested against, in both languages.
"""

from .accuracy import accuracy
from .capture import capture_attention
from .cbam import cbam
from .channel import channel_attention, squeeze_excitation
from .eca import eca_kernel_size
from .localisation import localisation_score
from .report import Mistake, Report
from .spatial import spatial_attention

__all__ = [
    "Mistake", "Report", "accuracy", "capture_attention", "cbam", "channel_attention", "eca_kernel_size",
    "localisation_score", "spatial_attention", "squeeze_excitation",
]
