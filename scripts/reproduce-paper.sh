#!/usr/bin/env bash
# Reproduce the paper's protocol in one command (needs the internet the first time, for the
# CLIP weights and the CIFAR downloads; a GPU makes the embedding step minutes instead of hours).
#
#   bash scripts/reproduce-paper.sh [OUT_DIR] [TINYIMAGENET_DIR]
#
# Environment: MODEL (default ViT-B-16, the paper's backbone), PRETRAINED (default openai),
# LAM (default 0.5), TOPK (default 10), DEVICE (default auto), DATA_ROOT (default OUT_DIR/data).
set -euo pipefail
OUT=${1:-paper-results}
TINY=${2:-}
MODEL=${MODEL:-ViT-B-16}
PRETRAINED=${PRETRAINED:-openai}
LAM=${LAM:-0.5}
TOPK=${TOPK:-10}
DEVICE=${DEVICE:-auto}
DATA_ROOT=${DATA_ROOT:-$OUT/data}
BLISS=${BLISS:-bliss}
mkdir -p "$OUT"
tag=$(echo "$MODEL-$PRETRAINED" | tr '/:' '__')

embed() {  # source name
  local bundle="$OUT/$2-$tag.npz"
  [ -f "$bundle" ] || $BLISS embed --data "$1" --data-root "$DATA_ROOT" --model "$MODEL" \
      --pretrained "$PRETRAINED" --device "$DEVICE" --out "$bundle" >&2
  echo "$bundle"
}

run() {  # bundle setup name
  echo "== $3 (setup $2, lambda $LAM, K $TOPK) =="
  $BLISS evaluate --bundle "$1" --setup "$2" --lam "$LAM" --topk "$TOPK" --json > "$OUT/$3.json"
  $BLISS evaluate --bundle "$1" --setup "$2" --lam "$LAM" --topk "$TOPK" | tail -n 1
  $BLISS evaluate --bundle "$1" --setup "$2" --lam 0 --topk "$TOPK" --json > "$OUT/$3-internal-only.json"
}

c10=$(embed cifar10 cifar10)
run "$c10" 1 cifar10-one-class
run "$c10" 6 cifar10-six-class
run "$c10" 9 cifar10-leave-one-out
c100=$(embed cifar100 cifar100)
run "$c100" cifar100-20 cifar100-20
if [ -n "$TINY" ]; then
  tin=$(embed "tinyimagenet:$TINY" tinyimagenet)
  run "$tin" tinyimagenet-cac tinyimagenet
else
  echo "(TinyImageNet skipped: pass the tiny-imagenet-200 folder as the second argument)"
fi
echo "JSON results in $OUT/"
