#!/usr/bin/env bash
# Reproduce the paper's protocol in one command with the official settings (needs the internet
# the first time, for the CLIP weights and the CIFAR downloads, and a GPU for fp16).
#
#   bash scripts/reproduce-paper.sh [OUT_DIR] [TINYIMAGENET_DIR]
#
# Official settings: CLIP ViT-B/16 with OpenAI weights, fp16 weights, the published script's
# CIFAR-10 normalisation (--preprocess paper), class names as the datasets write them
# (--class-names official), the dictionary of ImageNet-1k names and synonyms, K = 10; each
# setup is evaluated at lambda = 0.5 (the official script's default) and lambda = 0.75 (the
# value the paper discusses), and at lambda = 0 (the internal score alone).
#
# Environment: MODEL (default ViT-B-16), PRETRAINED (openai), PRECISION (fp16; fp32 on a CPU),
# PREPROCESS (paper; model for the model's own normalisation), CLASS_NAMES (official),
# LAMS (0.5,0.75), TOPK (10), DEVICE (auto), DATA_ROOT (OUT_DIR/data), BLISS (bliss).
set -euo pipefail
OUT=${1:-paper-results}
TINY=${2:-}
MODEL=${MODEL:-ViT-B-16}
PRETRAINED=${PRETRAINED:-openai}
PRECISION=${PRECISION:-fp16}
PREPROCESS=${PREPROCESS:-paper}
CLASS_NAMES=${CLASS_NAMES:-official}
LAMS=${LAMS:-0.5,0.75}
TOPK=${TOPK:-10}
DEVICE=${DEVICE:-auto}
DATA_ROOT=${DATA_ROOT:-$OUT/data}
BLISS=${BLISS:-bliss}
mkdir -p "$OUT"
tag=$(echo "$MODEL-$PRETRAINED-$PRECISION-$PREPROCESS-$CLASS_NAMES" | tr '/:' '__')

embed() {  # source name
  local bundle="$OUT/$2-$tag.npz"
  [ -f "$bundle" ] || $BLISS embed --data "$1" --data-root "$DATA_ROOT" --model "$MODEL" \
      --pretrained "$PRETRAINED" --precision "$PRECISION" --preprocess "$PREPROCESS" \
      --class-names "$CLASS_NAMES" --dictionary imagenet --device "$DEVICE" --out "$bundle" >&2
  echo "$bundle"
}

run() {  # bundle setup name
  echo "== $3 (setup $2, lambda $LAMS, K $TOPK) =="
  $BLISS evaluate --bundle "$1" --setup "$2" --lam "$LAMS" --topk "$TOPK" --json > "$OUT/$3.json"
  $BLISS evaluate --bundle "$1" --setup "$2" --lam "$LAMS" --topk "$TOPK" | grep -E '^lambda=|mean \+/- std'
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
echo "JSON results in $OUT/ (one result per lambda in each file's \"results\")"
