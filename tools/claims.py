"""The claims ledger: every claim of every notebook, per profile, from real runs.

    python -m tools.claims run --profile cpu notebooks/05_*.ipynb    # run in place, record the claims
    python -m tools.claims run --profile gpu notebooks/05_*.ipynb    # run a copy, record the claims
    python -m tools.claims matrix                                     # docs/course.md's table from the ledger
    python -m tools.claims check                                      # what tests/test_claims.py checks

The course runs in three profiles (``scattn.runtime.PROFILES``). The committed outputs are the
cpu profile's; the gpu profile, the one Colab learners get, runs here too (on the CPU,
slower) so that no sentence holds in one profile and fails in the other. Each run writes
an entry in ``docs/claims.json``: the notebook, the profile, the hash of its code cells,
every ``claim`` line its outputs hold (statement, verdict, whether it is about this run),
the date, the machine and the run time. ``tests/test_claims.py`` fails when an entry holds
a ✗ or its hash no longer matches the notebook (the code changed since it ran).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
LEDGER = ROOT / "docs" / "claims.json"
COURSE_PAGE = ROOT / "docs" / "course.md"
PROFILES = ("cpu", "gpu")
CLAIM = re.compile(r"^claim ([✓✗–]) (.*?)(?:  \[(.*)\])?$")
MATRIX_BEGIN, MATRIX_END = "<!-- claims matrix: python -m tools.claims matrix -->", "<!-- end of claims matrix -->"


def code_hash(nb) -> str:
    """SHA-256 of the code cells' sources, the generated setup cell excepted (it carries the
    package version): a changed line of code makes the recorded claims stale."""
    code = [c.source for c in nb.cells if c.cell_type == "code" and "setup" not in c.metadata.get("tags", [])]
    return hashlib.sha256("\n\x00\n".join(code).encode()).hexdigest()[:16]


def claims_of(nb) -> list[dict]:
    """Every claim line in the notebook's outputs: statement, verdict (✓ ✗ –), live (about this run)."""
    found = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain", "")
            for line in ("".join(text) if isinstance(text, list) else text).splitlines():
                m = CLAIM.match(line)
                if m:
                    verdict, statement, note = m.groups()
                    found.append({"statement": statement, "verdict": verdict,
                                  "live": bool(note and note.startswith("this run"))})
    return found


def key(path: Path) -> str:
    """A notebook's name in the ledger: its path in the repository (folder and name outside it)."""
    path = Path(path).resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else f"{path.parent.name}/{path.name}"


def load() -> dict:
    return json.loads(LEDGER.read_text(encoding="utf-8")) if LEDGER.exists() else {}


def save(ledger: dict) -> None:
    text = json.dumps(dict(sorted(ledger.items())), indent=1, ensure_ascii=False) + "\n"
    LEDGER.write_text(text, encoding="utf-8")


def entry(nb, profile: str, seconds: float) -> dict:
    return {"profile": profile, "code_hash": code_hash(nb), "claims": claims_of(nb),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, {_device()}",
            "seconds": round(seconds, 1)}


def _device() -> str:
    try:
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU (on the CPU)"
    except ImportError:
        return "torch not importable"


def run(paths, profile: str, timeout: int = 7200) -> dict[str, dict]:
    """Run each notebook on a fresh kernel in ``profile`` and record its claims in the ledger.

    The cpu profile's run is written back (it is the committed one); the gpu profile runs
    a copy. The ledger is saved after every notebook.
    """
    from tools.notebooks import run as run_in_place

    if profile not in PROFILES:
        raise SystemExit(f"profile must be one of {PROFILES}, got {profile!r}")
    os.environ["SCATTN_PROFILE"] = profile  # the kernels inherit it
    recorded = {}
    for path in map(Path, paths):
        if profile == "cpu":
            target = path
        else:  # run a copy outside the checkout, in the original's folder (relative paths still resolve)
            handle, name = tempfile.mkstemp(suffix=".ipynb", prefix=f"{path.stem}.{profile}.")
            os.close(handle)
            target = Path(name)
            shutil.copyfile(path, target)
        try:
            start = time.perf_counter()
            run_in_place([target], timeout=timeout, cwd=path.parent)  # per cell: the gpu profile's long ones
            nb = nbformat.read(target, as_version=4)
            if target == path and key(path).startswith("zh/"):  # say so in the twin: tools/translate.py keeps it
                from tools.translate import RUN_IN_CHINESE

                nb.metadata.setdefault("scattn", {})["outputs"] = (
                    f"{RUN_IN_CHINESE} ({profile} profile, {datetime.now(timezone.utc):%Y-%m-%d})")
                nbformat.write(nb, path)
            ledger = load()
            ledger.setdefault(key(path), {})[profile] = recorded[key(path)] = entry(nb, profile,
                                                                                      time.perf_counter() - start)
            save(ledger)
        finally:
            if target != path:
                target.unlink(missing_ok=True)
    return recorded


def problems(paths=None, ledger: dict | None = None) -> list[str]:
    """What is wrong with the ledger against the notebooks now: missing, stale or failed entries."""
    paths = paths or committed()
    ledger, found = load() if ledger is None else ledger, []
    for path in map(Path, paths):
        nb = nbformat.read(path, as_version=4)
        runs = ledger.get(key(path), {})
        for profile in PROFILES:
            e = runs.get(profile)
            if e is None:
                found.append(f"{key(path)}: no {profile} run in the ledger")
                continue
            if e["code_hash"] != code_hash(nb):
                found.append(f"{key(path)}: the {profile} run is stale (the code changed since it ran)")
            for c in e["claims"]:
                if c["verdict"] != "✓":
                    found.append(f"{key(path)} ({profile}): claim {c['verdict']} {c['statement']}")
        committed_claims = [c["statement"] for c in claims_of(nb)]
        cpu = runs.get("cpu")
        if cpu and cpu["code_hash"] == code_hash(nb) and [c["statement"] for c in cpu["claims"]] != committed_claims:
            found.append(f"{key(path)}: the committed outputs are not the ledger's cpu run")
    return found


def committed() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[!.]*.ipynb")) + sorted((ROOT / "solutions").glob("[!.]*.ipynb"))


def matrix() -> str:
    """The table for docs/course.md: claims held / total and run time, per notebook and profile."""
    ledger = load()
    lines = ["| notebook | cpu: claims held | cpu: run time | gpu: claims held | gpu: run time |",
             "|---|---|---|---|---|"]
    for path in committed():
        runs = ledger.get(key(path), {})
        cells = []
        for profile in PROFILES:
            e = runs.get(profile)
            if e is None:
                cells += ["not run", "–"]
                continue
            held = sum(c["verdict"] == "✓" for c in e["claims"])
            cells += [f"{held} / {len(e['claims'])}", f"{e['seconds'] / 60:.1f} min"]
        lines.append(f"| `{key(path)}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_matrix() -> bool:
    """Put the matrix between its markers in docs/course.md; True if the page changed."""
    text = COURSE_PAGE.read_text(encoding="utf-8")
    begin, end = text.index(MATRIX_BEGIN) + len(MATRIX_BEGIN), text.index(MATRIX_END)
    new = text[:begin] + "\n" + matrix() + "\n" + text[end:]
    if new != text:
        COURSE_PAGE.write_text(new, encoding="utf-8")
    return new != text


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.claims", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="action", required=True)
    r = sub.add_parser("run", help="run notebooks in a profile and record their claims")
    r.add_argument("--profile", choices=PROFILES, required=True)
    r.add_argument("paths", nargs="*", help="default: every notebook and solution")
    sub.add_parser("matrix", help="write the claims matrix into docs/course.md")
    sub.add_parser("check", help="list what is missing, stale or failed")
    args = parser.parse_args(argv)
    if args.action == "run":
        for name, e in run(args.paths or committed(), args.profile).items():
            held = sum(c["verdict"] == "✓" for c in e["claims"])
            print(f"{name} [{args.profile}]: {held} / {len(e['claims'])} claims hold, {e['seconds']:.0f} s")
        return 0
    if args.action == "matrix":
        print("docs/course.md " + ("updated" if write_matrix() else "already up to date"))
        return 0
    found = problems()
    print("\n".join(found) or "the ledger holds every claim of every notebook as ✓ in both profiles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
