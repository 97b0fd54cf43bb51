#!/usr/bin/env bash
# The GPU check: everything the course does on a GPU, run once on one GPU, in about 8 minutes.
#
#   bash benchmarks/gpu_check.sh            # from the repository root; report in ./gpu-check/
#   OUT=/tmp/check bash benchmarks/gpu_check.sh
#
# Steps, each timed, all written to $OUT/gpu_report.md (full logs beside it):
#   1. environment   install the project if needed (a venv with the system's torch), doctor, nvidia-smi
#   2. cuda tests    pytest -m cuda (tests/test_cuda.py) and the CPU tests of the GPU path
#   3. layers        benchmarks/bench_attention.py, CPU and CUDA
#   4. epochs        benchmarks/bench_gpu_epochs.py: one epoch per variant, SmallCNN and ResNet-20,
#                    float16 and bfloat16 (bfloat16 only at compute capability 8.0+)
#   5. notebooks     notebooks 00-05 in the gpu profile, `python -m scattn course run` on copies
# The first failing step stops the check with its name, its command and the end of its log.
# Without a GPU, steps 1-3 run (the cuda tests skip) and steps 4-5 are reported as skipped.
#
# Environment: OUT (report folder, default ./gpu-check), PYTHON (default python3),
# VENV (where to install when the current Python lacks the dev extra, default .venv-gpu-check),
# REPEATS (bench_attention repeats, default 20 on a GPU, 3 without), NOTEBOOKS (default 00-05).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-check}
mkdir -p "$OUT/logs"
OUT=$(cd "$OUT" && pwd)
REPORT=$OUT/gpu_report.md
PY=${PYTHON:-python3}
STARTED=$(date +%s)
RAN=()

say() { echo "$*" | tee -a "$REPORT"; }

# step NAME COMMAND...: run, time, log; on failure say what ran and stop.
step() {
    local name=$1; shift
    local log="$OUT/logs/${name// /_}.log" t0=$(date +%s) rc=0
    echo "== $name: $*"
    "$@" >"$log" 2>&1 || rc=$?
    local dt=$(( $(date +%s) - t0 ))
    RAN+=("$name (${dt} s)")
    if [ "$rc" -ne 0 ]; then
        {
            echo "### FAILED: $name (exit $rc after ${dt} s)"
            echo; echo "Command: \`$*\`"; echo; echo "Last lines of $log:"; echo; echo '```'
            tail -n 40 "$log"; echo '```'; echo
            echo "Steps run: ${RAN[*]}"
        } | tee -a "$REPORT" >&2
        echo "gpu_check: FAILED at step '$name'; report: $REPORT" >&2
        exit "$rc"
    fi
    { echo "### $name (${dt} s)"; echo; echo "Command: \`$*\`"; echo; } >>"$REPORT"
    if [ "${SHOW:-log}" = "log" ]; then { echo '```'; tail -n 60 "$log"; echo '```'; echo; } >>"$REPORT"; fi
    echo "   ok (${dt} s)"
}

: >"$REPORT"
say "# GPU check"
say ""
say "Started $(date -u '+%Y-%m-%d %H:%M UTC') on $(hostname) in $ROOT, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)."
say ""

# ---- 1. environment: use this Python if it has the project and the dev extra, else a venv
if "$PY" -c "import scattn, pytest, nbval, nbclient, timm" >/dev/null 2>&1 \
   && [ "$("$PY" -c 'import scattn, pathlib; print(pathlib.Path(scattn.__file__).resolve().parents[1])')" = "$ROOT" ]; then
    say "Python: $("$PY" -c 'import sys; print(sys.executable)') already has this checkout and the dev extra."
else
    VENV=${VENV:-$ROOT/.venv-gpu-check}
    if [ ! -x "$VENV/bin/python" ]; then
        # --system-site-packages keeps a preinstalled CUDA torch; pip adds what is missing.
        step "create venv" "$PY" -m venv --system-site-packages "$VENV"
    fi
    step "install" "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e ".[dev]"
    PY=$VENV/bin/python
    say "Python: $PY (a virtual environment with the system's packages; the project installed editable)."
fi
say ""
GPU=$("$PY" -c "import torch; print(torch.cuda.is_available())")
step "doctor" "$PY" -m scattn doctor
if command -v nvidia-smi >/dev/null 2>&1; then step "nvidia-smi" nvidia-smi; fi
if [ "$GPU" != "True" ]; then
    say "**No CUDA GPU here: the GPU steps (cuda tests run as skipped, epochs, notebooks) are SKIPPED.**"
    say "This run checks only the CPU-safe path of the script."
    say ""
fi

# ---- 2. tests of the GPU path (the cuda tests skip without a GPU)
step "cuda tests" env SCATTN_PROFILE=smoke "$PY" -m pytest -p no:randomly -q -rs -p no:cacheprovider \
    tests/test_cuda.py tests/test_precision.py tests/test_device_loader.py

# ---- 3. attention layers against their peers, CPU and CUDA
REPEATS=${REPEATS:-$([ "$GPU" = "True" ] && echo 20 || echo 3)}
step "bench_attention" "$PY" benchmarks/bench_attention.py --repeats "$REPEATS"

if [ "$GPU" = "True" ]; then
    # ---- 4. one epoch per variant, float16 and bfloat16
    step "epochs" "$PY" benchmarks/bench_gpu_epochs.py
    # ---- 5. notebooks 00-05 in the gpu profile, on copies (the committed ones keep their outputs)
    mkdir -p "$OUT/notebooks"
    NOTEBOOKS=${NOTEBOOKS:-"00 01 02 03 04 05"}
    copies=()
    for n in $NOTEBOOKS; do
        for nb in notebooks/"$n"_*.ipynb; do cp "$nb" "$OUT/notebooks/"; copies+=("$OUT/notebooks/$(basename "$nb")"); done
    done
    SHOW=log step "notebooks" env SCATTN_PROFILE=gpu "$PY" -m scattn course run "${copies[@]}"
else
    say "### epochs: SKIPPED (no CUDA GPU)"
    say ""
    say "### notebooks: SKIPPED (no CUDA GPU; the gpu profile would train for hours on a CPU)"
    say ""
fi

TOTAL=$(( $(date +%s) - STARTED ))
say "## Summary"
say ""
say "Finished in ${TOTAL} s. Steps run: ${RAN[*]}."
if [ "$GPU" != "True" ]; then say "GPU steps skipped: no CUDA GPU on this machine."; fi
echo "gpu_check: done; report: $REPORT"
