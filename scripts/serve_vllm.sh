#!/usr/bin/env bash
# Start a vLLM OpenAI-compatible server for a class, then point the app at it.
#
#   scripts/serve_vllm.sh Qwen/Qwen2.5-7B-Instruct            # one GPU
#   TP=2 scripts/serve_vllm.sh Qwen/Qwen2.5-32B-Instruct-AWQ  # two GPUs (tensor parallel)
#   make serve-vllm MODEL=Qwen/Qwen2.5-7B-Instruct TP=2       # the same through make
#
# Written against the vLLM 0.12 CLI (docs.vllm.ai/en/v0.12.0/cli/serve/):
#   --structured-outputs-config.backend xgrammar  (replaces --guided-decoding-backend, gone since 0.11/0.12;
#                                                   requests use response_format json_schema, which the app sends)
#   --max-model-len      the longest prompt (the profile review with its evidence bundle: 15,558 characters on
#                        the support case, a few thousand tokens) plus max_tokens must fit; 16384 leaves
#                        ample room (lower it if the KV cache does not fit)
#   --tensor-parallel-size  split one model over TP GPUs of one machine
#   --generation-config vllm  use vLLM's sampling defaults, not the checkpoint's generation_config.json, so the
#                        temperature/top_p/seed the app sends are the whole story (recorded in the AI log)
#   --api-key            the class key; the app sends CW_ENDPOINT_API_KEY only to CW_ENDPOINT_BASE_URL
# Tested here only by shellcheck and against tests/openai_stub.py (no GPU on the build machines).
set -euo pipefail

MODEL="${1:-${MODEL:-Qwen/Qwen2.5-7B-Instruct}}"
TP="${TP:-1}"
PORT="${VLLM_PORT:-8000}"
HOST="${VLLM_HOST:-0.0.0.0}"
MAX_MODEL_LEN="${MAX_MODEL_LEN:-16384}"
GPU_MEMORY_UTILIZATION="${GPU_MEMORY_UTILIZATION:-0.90}"
MAX_NUM_SEQS="${MAX_NUM_SEQS:-32}"   # a class of 30 drafting at once

if ! command -v vllm >/dev/null 2>&1; then
    echo "vllm is not installed: pip install 'vllm>=0.12' on a machine with an NVIDIA GPU (see README, 'Running it for a class')." >&2
    exit 1
fi
if ! [[ "$TP" =~ ^[1-9][0-9]*$ ]]; then
    echo "TP must be a positive integer (the number of GPUs), got '$TP'." >&2
    exit 2
fi

args=(
    serve "$MODEL"
    --host "$HOST"
    --port "$PORT"
    --tensor-parallel-size "$TP"
    --max-model-len "$MAX_MODEL_LEN"
    --gpu-memory-utilization "$GPU_MEMORY_UTILIZATION"
    --max-num-seqs "$MAX_NUM_SEQS"
    --structured-outputs-config.backend xgrammar
    --generation-config vllm
)
if [[ -n "${CW_ENDPOINT_API_KEY:-}" ]]; then
    args+=(--api-key "$CW_ENDPOINT_API_KEY")
fi

cat >&2 <<EOF
Starting vLLM: $MODEL on $TP GPU(s), port $PORT, context $MAX_MODEL_LEN tokens.
Then start the app pointed at it (on this machine):
    CW_ENDPOINT_BASE_URL=http://127.0.0.1:$PORT/v1 CW_ENDPOINT_MODEL=$MODEL make run
EOF
exec vllm "${args[@]}"
