"""Seeds the demo model directories under a storage root. Idempotent (rewrites the same bytes).

  <root>/hf/demo/tiny-chat      the stand-in engine (argus_standin) "loads" it: no weights
  <root>/hf/demo/broken-model   config.json is malformed JSON, so loading fails on any engine
  <root>/hf/demo/tiny-llama     a real checkpoint vLLM serves, copied from the models that
                                scripts/install.sh built (python/tools/build_demo_model.py)
  <root>/hf/demo/no-weights     tiny-llama without its safetensors file: vLLM's engine fails
                                late, with a root cause only its worker's log names

Usage: python python/tools/seed_models.py <storage_root> [<built_models_dir>]
"""
import json
import pathlib
import shutil
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


def stage_built(root: pathlib.Path, built: pathlib.Path) -> None:
    """Copies the checkpoints scripts/install.sh built, and derives the weightless one."""
    source = built / "tiny-llama"
    if not (source / "model.safetensors").exists():
        sys.exit(f"{source} has no model.safetensors; run scripts/install.sh")
    target = root / "hf" / "demo" / "tiny-llama"
    shutil.copytree(source, target, dirs_exist_ok=True)
    print(target)
    weightless = root / "hf" / "demo" / "no-weights"
    weightless.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():
        if item.suffix != ".safetensors":
            shutil.copy2(item, weightless / item.name)
    for stale in weightless.glob("*.safetensors"):
        stale.unlink()
    print(weightless)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: seed_models.py <storage_root> [<built_models_dir>]")
    seed(pathlib.Path(sys.argv[1]))
    if len(sys.argv) == 3:
        stage_built(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
