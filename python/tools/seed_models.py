"""Seeds the demo model directories under a storage root. Idempotent (rewrites the same bytes).

  <root>/hf/demo/tiny-chat      the stand-in engine (argus_standin) "loads" it: no weights
  <root>/hf/demo/broken-model   config.json is malformed JSON, so loading fails on any engine
  <root>/hf/demo/tiny-llama     a real checkpoint vLLM serves, copied from the models that
                                scripts/install.sh built (python/tools/build_demo_model.py)
  <root>/hf/demo/no-weights     tiny-llama without its safetensors file: vLLM's engine fails
                                late, with a root cause only its worker's log names

The same tiny-chat and tiny-llama are also staged in the Hugging Face cache layout, so a
model_source can name them by repo id (argus-demo/tiny-chat, argus-demo/tiny-llama):

  <root>/hf/hub/models--argus-demo--<name>/blobs/<sha256 of a file>   the file's bytes
  <root>/hf/hub/models--argus-demo--<name>/snapshots/<commit>/<file>  link to ../../blobs/<sha256>
  <root>/hf/hub/models--argus-demo--<name>/refs/main                  <commit>

as huggingface_hub writes it. There is no hub to ask for a commit, so <commit> is a sha1 over the
sorted file names and their sha256s: the same files give the same commit, and re-seeding rewrites
nothing. A snapshot left by an earlier, different build stays (as in a real cache); refs/main moves.
tiny-chat is staged on every run; tiny-llama only when the built models are given.

Usage: python python/tools/seed_models.py <storage_root> [<built_models_dir>]
"""
import hashlib
import json
import os
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
    stage_in_hub(root, root / "hf" / "demo" / "tiny-chat", "argus-demo/tiny-chat")


def stage_in_hub(root: pathlib.Path, source: pathlib.Path, repo_id: str) -> None:
    """Stages the files of `source` as repo `repo_id` in the cache layout the module docstring shows."""
    org, name = repo_id.split("/")
    repo = root / "hf" / "hub" / f"models--{org}--{name}"
    digests = {item.name: hashlib.sha256(item.read_bytes()).hexdigest() for item in sorted(source.iterdir()) if item.is_file()}
    commit = hashlib.sha1("".join(f"{file}\0{digest}\n" for file, digest in sorted(digests.items())).encode()).hexdigest()
    snapshot = repo / "snapshots" / commit
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    for file, digest in digests.items():
        blob = repo / "blobs" / digest
        if not blob.exists():
            # Copied aside and renamed, so an interrupted run never leaves a short blob under its name.
            partial = blob.with_name(f"{digest}.incomplete")
            shutil.copyfile(source / file, partial)
            os.replace(partial, blob)
        # Relative, as huggingface_hub links them, so the tree reads the same wherever it is mounted.
        link, target = snapshot / file, f"../../blobs/{digest}"
        if not (link.is_symlink() and os.readlink(link) == target):
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(target)
    ref = repo / "refs" / "main"
    if not ref.exists() or ref.read_text(encoding="utf-8") != commit:
        ref.write_text(commit, encoding="utf-8")
    print(f"{snapshot} ({repo_id})")


def stage_built(root: pathlib.Path, built: pathlib.Path) -> None:
    """Copies the checkpoints scripts/install.sh built (also as a hub repo), and derives the weightless one."""
    source = built / "tiny-llama"
    if not (source / "model.safetensors").exists():
        sys.exit(f"{source} has no model.safetensors; run scripts/install.sh")
    target = root / "hf" / "demo" / "tiny-llama"
    shutil.copytree(source, target, dirs_exist_ok=True)
    print(target)
    stage_in_hub(root, source, "argus-demo/tiny-llama")
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
