"""Fail unless every package pinned in constraints.txt is installed at exactly that version."""

import sys
from importlib import metadata
from pathlib import Path

pins = {}
for line in (Path(__file__).parent / "constraints.txt").read_text().splitlines():
    line = line.split("#", 1)[0].strip()
    if line:
        name, version = line.split("==")
        pins[name] = version
wrong = []
for name, version in pins.items():
    try:
        found = metadata.version(name)
    except metadata.PackageNotFoundError:
        found = "not installed"
    if found.split("+", 1)[0] != version:
        wrong.append(f"{name}: {found}, Colab has {version}")
    print(f"{name:16} {found}")
print(f"python           {sys.version.split()[0]} (Colab: 3.13)")
import scattn  # noqa: E402  (the installed copy, not the checkout)

print(f"scattn           {scattn.__version__} from {Path(scattn.__file__).parent}")
if "site-packages" not in scattn.__file__:
    wrong.append(f"scattn is imported from {scattn.__file__}, not an installed copy")
if wrong:
    sys.exit("not the Colab versions:\n  " + "\n  ".join(wrong))
