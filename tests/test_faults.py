"""Faults injected into real processes: kill -9 during checkpoint writes, Ctrl-C (SIGINT),
two processes building one cache, malicious pickles. Small processes in the smoke profile."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from scattn import data
from scattn.checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_NAME,
    CheckpointError,
    kept_on_disk,
    load_checkpoint,
    save_checkpoint,
)
from scattn.data import cache

ROOT = Path(__file__).resolve().parents[1]

# A child that trains a tiny model for 4 epochs with a checkpoint in argv[1]. With "slow"
# in argv[2], torch.save writes the checkpoint in two halves with a pause between, and
# prints the epoch it is writing: the parent kills it right there.
TRAINER = textwrap.dedent("""
    import sys, time, torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset
    import scattn, scattn.checkpoint as ck
    from scattn.train import fit

    torch.set_num_threads(1)
    directory, slow = sys.argv[1], sys.argv[2] == "slow"
    if slow:
        real_save = torch.save
        def save(state, f):
            real_save(state, f)               # the whole state into the temporary file ...
            size = f.tell()
            f.seek(0); f.truncate(size // 2)  # ... then only half of it, as a kill mid-write leaves
            print("WRITING", state["epoch"], flush=True)
            time.sleep(30)
        ck.torch.save = save
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 1, 8, 8, generator=g), torch.randint(0, 2, (64,), generator=g)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=torch.Generator())
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(),
                          scattn.make_attention("cbam", 4, reduction=2),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    pace = [lambda row: time.sleep(0.5)]  # a pause after each epoch, so the parent can stop it between epochs
    h = fit(model, loader, epochs=4, seed=0, checkpoint_dir=directory, quiet=True, callbacks=pace)
    print("DONE", len(h), flush=True)
""")


def child(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCATTN_PROFILE": "smoke"}
    return subprocess.Popen([sys.executable, "-c", TRAINER, *args], stdout=subprocess.PIPE, text=True, env=env)


def kill_while_writing(directory: Path, epoch: int) -> None:
    """Run the trainer until it is halfway through writing ``epoch``'s checkpoint; kill -9 it."""
    proc = child(str(directory), "slow")
    try:
        for line in proc.stdout:
            if line.startswith("WRITING"):
                assert line.split() == ["WRITING", str(epoch)], line  # every write blocks: the first is it
                break
        else:
            pytest.fail(f"the trainer ended before writing epoch {epoch}")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)


def test_kill_9_during_checkpoint_writes_never_loses_a_complete_epoch(tmp_path):
    straight = tmp_path / "straight"
    assert child(str(straight), "fast").wait(timeout=300) == 0
    killed = tmp_path / "killed"

    kill_while_writing(killed, 1)  # the first write: nothing complete yet
    assert not (killed / CHECKPOINT_NAME).exists()
    assert len(list(killed.glob(".*.tmp"))) == 1  # the half-written temporary

    # Write epoch 1 for real, then kill while writing epoch 2 and, after resuming, epoch 3.
    for epochs_done in (1, 2):
        proc = child(str(killed), "fast")  # writes fine; stop it after epoch `epochs_done` is saved
        while not (killed / CHECKPOINT_NAME).exists() or \
                load_checkpoint(killed / CHECKPOINT_NAME)["epoch"] < epochs_done:
            time.sleep(0.05)
            assert proc.poll() is None, "the run finished too fast to be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        saved = load_checkpoint(killed / CHECKPOINT_NAME)["epoch"]
        kill_while_writing(killed, saved + 1)
        state = load_checkpoint(killed / CHECKPOINT_NAME)  # always loads, always a complete epoch
        assert state["epoch"] == saved and len(state["history"]) == saved

    proc = child(str(killed), "fast")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "DONE 4" in out
    a = load_checkpoint(straight / CHECKPOINT_NAME)
    b = load_checkpoint(killed / CHECKPOINT_NAME)
    assert a["epoch"] == b["epoch"] == 4
    for key, value in a["state"]["model"].items():
        assert torch.equal(value, b["state"]["model"][key]), key  # resumed == uninterrupted, bit for bit
    assert list(killed.glob(".*.tmp")) == []  # the killed writers' temporaries were cleaned up


def test_ctrl_c_keeps_the_last_epoch_exits_130_and_the_run_resumes(tmp_path):
    script = textwrap.dedent("""
        import signal, sys, time
        # A job started in the background of a non-interactive shell inherits SIGINT ignored, and
        # Python then leaves it ignored: restore Ctrl-C's usual meaning, as in a terminal.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import scattn.train as train
        from scattn.__main__ import main
        real_fit = train.fit
        def slow_fit(*args, **kwargs):  # a pause after each epoch so that Ctrl-C lands mid-run
            return real_fit(*args, callbacks=[lambda row: time.sleep(1.0)], **kwargs)
        train.fit = slow_fit
        sys.exit(main(sys.argv[1:]))
    """)
    argv = ["train", "--attention", "se", "--n-train", "64", "--n-test", "32", "--batch-size", "32",
            "--epochs", "6", "--quiet", "--device", "cpu", "--checkpoint-dir", str(tmp_path / "ckpt")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCATTN_PROFILE": "smoke", "SCATTN_DATA": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-c", script, *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    ckpt = tmp_path / "ckpt" / CHECKPOINT_NAME
    deadline = time.time() + 240
    while not ckpt.exists():
        assert proc.poll() is None and time.time() < deadline, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "keeps epoch" in err and "run the same command to resume" in err
    kept = load_checkpoint(ckpt)["epoch"]
    assert 1 <= kept < 6
    done = subprocess.run([sys.executable, "-m", "scattn", *argv], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert f"{kept} epoch(s) done, resuming at epoch {kept + 1}/6" in done.stdout


@pytest.mark.parametrize("writing", [1, 2])
def test_ctrl_c_while_a_checkpoint_is_written_says_only_what_is_on_disk(tmp_path, writing):
    """Ctrl-C halfway through writing epoch ``writing``'s checkpoint: the file keeps epoch
    ``writing - 1`` (or does not exist), and both messages (fit's and the CLI's) say so."""
    script = textwrap.dedent("""
        import signal, sys, time
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (see above)
        import scattn.checkpoint as ck
        from scattn.__main__ import main
        real_save, slow = ck.torch.save, int(sys.argv[1])
        def save(state, f):
            real_save(state, f)
            if state["epoch"] == slow:  # the temporary file is written, not yet renamed: Ctrl-C here
                print("WRITING", slow, flush=True)
                time.sleep(60)
        ck.torch.save = save
        sys.exit(main(sys.argv[2:]))
    """)
    ckpt = tmp_path / "ckpt"
    argv = ["train", "--attention", "se", "--n-train", "64", "--n-test", "32", "--batch-size", "32",
            "--epochs", "4", "--quiet", "--device", "cpu", "--checkpoint-dir", str(ckpt)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCATTN_PROFILE": "smoke", "SCATTN_DATA": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-c", script, str(writing), *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        for line in proc.stdout:
            if line.startswith("WRITING"):
                break
        else:
            pytest.fail(f"the run ended before writing epoch {writing}: {proc.communicate()}")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    fit_says = next(line for line in out.splitlines() if line.startswith("interrupted during epoch"))
    cli_says = err.strip().splitlines()[-1]
    assert cli_says.startswith("scattn train: interrupted; ")
    if writing == 1:
        assert not (ckpt / CHECKPOINT_NAME).exists()
        for said in (fit_says, cli_says):
            assert "keeps epoch" not in said and "nothing was saved" in said, said
    else:
        assert load_checkpoint(ckpt / CHECKPOINT_NAME)["epoch"] == writing - 1
        for said in (fit_says, cli_says):
            assert f"keeps epoch {writing - 1}:" in said, said
    assert list(ckpt.glob(".*.tmp")) == []  # the half-written temporary was removed


def test_what_a_checkpoint_keeps_is_read_from_the_file(tmp_path):
    path = tmp_path / CHECKPOINT_NAME
    assert kept_on_disk(path, "resume") == f"nothing was saved ({path} does not exist)"
    path.write_bytes(b"half a file")
    assert kept_on_disk(path, "resume").startswith(f"{path} cannot be read: cannot read checkpoint")
    save_checkpoint(path, {"format": CHECKPOINT_FORMAT, "epoch": 3})
    assert kept_on_disk(path, "resume") == f"{path} keeps epoch 3: resume"


def test_two_processes_building_one_cache_both_get_sound_canvases(tmp_path):
    code = textwrap.dedent("""
        import sys
        from scattn import data
        ds = data.cluttered_digits("train", 3000, root=sys.argv[1])
        print(float(ds.images.sum()), int(ds.labels.sum()))
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-W", "error", "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    results = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    assert results[0][0] == results[1][0]
    files = sorted(p.name for p in (tmp_path / "cluttered_digits").iterdir())
    assert len(files) == 1 and files[0].endswith(".npz")  # one file, no temporary left
    again = subprocess.run([sys.executable, "-W", "error", "-c", code, str(tmp_path)], capture_output=True,
                           text=True, env=env)
    assert again.returncode == 0 and again.stdout == results[0][0]  # the cache reads back, no warning


class Payload:
    """Unpickling this runs code: it would create the marker file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("fmt", ["zip", "legacy", "raw-pickle"])
def test_a_malicious_checkpoint_is_refused_without_running_its_code(tmp_path, fmt):
    from scattn.train import fit

    marker = tmp_path / "pwned"
    path = tmp_path / "run" / CHECKPOINT_NAME
    path.parent.mkdir()
    state = {"format": "scattn.fit/2", "epoch": 1, "evil": Payload(marker)}
    if fmt == "raw-pickle":
        path.write_bytes(pickle.dumps(state))
    else:
        torch.save(state, path, _use_new_zipfile_serialization=fmt == "zip")
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    message = str(caught.value)
    assert "weights_only=False" not in message and "will likely succeed" not in message
    if fmt != "raw-pickle":  # torch reads the other two far enough to see the object it would import
        assert "holds Python objects or code" in message and "can run arbitrary code" in message
    model = torch.nn.Linear(2, 2)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4, 2), torch.zeros(4).long()),
                                         batch_size=2)
    with pytest.raises(CheckpointError):
        fit(model, loader, epochs=1, checkpoint_dir=path.parent, quiet=True)
    assert not marker.exists()


# ----------------------------------------------------------------------------- damaged cache files


def set_zip_version(path: Path, version: int = 210) -> None:
    """Write ``version`` (210: 21.0) into the first member's "version needed to extract"."""
    raw = bytearray(path.read_bytes())
    raw[raw.index(b"PK\x01\x02") + 6] = version  # the central directory's first entry
    path.write_bytes(bytes(raw))


GENERATORS = {
    "digits": lambda root: data.cluttered_digits("train", 24, canvas_size=32, digit_size=14, n_distractors=2,
                                                 distractor_size=6, root=root),
    "colour-cue": lambda root: data.colour_cue_digits("train", 24, canvas_size=32, cue_height=3, cue_gap=4,
                                                      root=root),
    "spotlight": lambda root: data.spotlight_digits("train", 24, root=root),
}


@pytest.mark.parametrize("task", GENERATORS)
def test_a_cache_file_with_a_damaged_zip_header_is_rebuilt_with_a_warning(tmp_path, task):
    make = GENERATORS[task]
    first = make(tmp_path)
    (path,) = (p for p in tmp_path.rglob("*.npz"))
    set_zip_version(path)
    with pytest.raises(NotImplementedError, match="zip file version 21.0"):  # the fault the issue found
        np.load(path)["images"]
    with pytest.warns(UserWarning, match=r"could not be read \(NotImplementedError: zip file version 21.0"):
        again = make(tmp_path)
    assert torch.equal(again.images, first.images) and torch.equal(again.labels, first.labels)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # rebuilt: it reads back without a word
        assert torch.equal(make(tmp_path).images, first.images)


SPEC = {"a": ((3,), np.int64), "b": ((2, 2), np.uint8)}


def small_cache(tmp_path) -> tuple[Path, dict]:
    arrays = {"a": np.arange(3), "b": np.ones((2, 2), np.uint8)}
    path = tmp_path / "small.npz"
    cache.save(path, arrays, {"k": 1})
    return path, arrays


def test_every_single_byte_damage_reads_back_right_or_is_rebuilt(tmp_path):
    """Flip each byte of a cache file in turn: load() gives the right arrays or None with a warning, never raises."""
    path, arrays = small_cache(tmp_path)
    raw = path.read_bytes()
    outcomes = set()
    for i in range(len(raw)):
        damaged = bytearray(raw)
        damaged[i] ^= 0xFF
        path.write_bytes(bytes(damaged))
        with warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always")
            got = cache.load(path, SPEC, {"k": 1})
        if got is None:
            assert len(said) == 1 and "rebuilding it" in str(said[0].message), (i, said)
        else:  # a byte the reader never looks at (a timestamp, say): the arrays are still right
            assert got.keys() == arrays.keys() and all(np.array_equal(got[k], arrays[k]) for k in arrays), i
        outcomes.add(got is None)
    assert outcomes == {True, False}


@pytest.mark.parametrize("error", [NotImplementedError("zip file version 21.0"), RuntimeError("odd"),
                                   MemoryError(), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"),
                                   TypeError("odd"), AttributeError("odd"), PermissionError(13, "denied")])
def test_any_failure_to_read_a_cache_file_means_rebuild_it(tmp_path, monkeypatch, error):
    path, arrays = small_cache(tmp_path)

    def fail(*args, **kwargs):
        raise error

    def build():
        builds.append(1)
        return arrays

    monkeypatch.setattr(cache.np, "load", fail)
    builds = []
    with pytest.warns(UserWarning, match=rf"{path.name} could not be read \({type(error).__name__}"):
        assert cache.cached(path, SPEC, build, {"k": 1}) is arrays
    assert builds == [1]
