"""Seeds the demo model directories under a storage root. Idempotent (rewrites the same bytes).

  <root>/hf/demo/tiny-chat      loads and serves (valid config.json + tokenizer_config.json)
  <root>/hf/demo/broken-model   present, but config.json is malformed JSON, so loading fails

Usage: python python/tools/seed_models.py <storage_root>
These are not real weights: only the dev/test stand-in engine (argus_standin) can "load" them.
"""
import json
import pathlib
import sys

TINY_CONFIG = {
    "architectures": ["StandInEchoForCausalLM"],
    "model_type": "standin",
    "hidden_size": 64,
    "num_attention_heads": 4,
    "num_hidden_layers": 2,
    "vocab_size": 256,
    "max_position_embeddings": 2048,
    "torch_dtype": "float32",
}
TINY_TOKENIZER_CONFIG = {
    "tokenizer_class": "PreTrainedTokenizerFast",
    "model_max_length": 2048,
    "bos_token": "<s>",
    "eos_token": "</s>",
}
BROKEN_CONFIG = '{"architectures": ["StandInEchoForCausalLM"], "model_type": '  # truncated on purpose


def seed(root: pathlib.Path) -> None:
    files = {
        root / "hf" / "demo" / "tiny-chat" / "config.json": json.dumps(TINY_CONFIG, indent=2) + "\n",
        root / "hf" / "demo" / "tiny-chat" / "tokenizer_config.json": json.dumps(TINY_TOKENIZER_CONFIG, indent=2) + "\n",
        root / "hf" / "demo" / "broken-model" / "config.json": BROKEN_CONFIG,
    }
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        print(path)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: seed_models.py <storage_root>")
    seed(pathlib.Path(sys.argv[1]))
