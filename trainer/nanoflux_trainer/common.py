"""Loading the base model and tokenizer (HF directory or GGUF file), device choice, JSON events."""
import json
import os
import sys
import time

# Nothing may reach a model hub: every load is from local files. Set before transformers imports.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402


def emit(event, **fields):
    """One JSON object per stdout line, flushed at once: the Node side reads these as heartbeats."""
    print(json.dumps({"event": event, **fields}), flush=True)


def limit_threads():
    """NANOFLUX_TORCH_THREADS caps torch's CPU threads. Two trainers each spinning one OpenMP thread
    per core on a small machine slow each other down many times over; the test suite runs trainers
    beside other work, so it sets 1."""
    n = os.environ.get("NANOFLUX_TORCH_THREADS")
    if n:
        torch.set_num_threads(int(n))
        torch.set_num_interop_threads(1)


limit_threads()


def pick_device():
    # bf16 on GPU halves memory and is what the GPU runs fast; CPU bf16 matmuls are slow and
    # lossy for training, so CPU stays float32.
    if torch.cuda.is_available():
        return torch.device("cuda"), torch.bfloat16
    return torch.device("cpu"), torch.float32


def _source(model_path):
    """from_pretrained arguments for a HF directory or a single .gguf file."""
    if model_path.endswith(".gguf"):
        if not os.path.isfile(model_path):
            raise FileNotFoundError(f"GGUF file not found: {model_path}")
        # transformers reads the GGUF from its directory and dequantizes it to float weights.
        return os.path.dirname(os.path.abspath(model_path)), {"gguf_file": os.path.basename(model_path)}
    if not os.path.isdir(model_path):
        raise FileNotFoundError(f"model directory not found: {model_path}")
    return model_path, {}


def load_tokenizer(model_path, padding_side="right"):
    src, extra = _source(model_path)
    tok = AutoTokenizer.from_pretrained(src, **extra)
    if tok.pad_token is None:
        # Padding positions are masked out of attention and loss, so any token id will do.
        tok.pad_token = tok.eos_token
    tok.padding_side = padding_side
    if not tok.chat_template:
        raise ValueError(f"{model_path}: tokenizer has no chat template; an instruct model is needed")
    return tok


def load_model(model_path, device, dtype):
    src, extra = _source(model_path)
    t0 = time.time()
    model = AutoModelForCausalLM.from_pretrained(src, dtype=dtype, **extra)
    model.to(device)
    return model, time.time() - t0
