"""Old name of :mod:`scattn.maps` (it read like the standard library's ``inspect``).

Kept for one release so notebooks written with ``from scattn import inspect`` still
run; new code imports ``scattn.maps``.
"""

from .maps import *  # noqa: F403
from .maps import __all__  # noqa: F401
