"""Builds the demo model `tiny-llama` that the real vLLM engine serves in `make dev` and the tests.

No registry package ships usable weights and nothing may be downloaded at run time, so the
project makes its own checkpoint, deterministically (the same bytes on every rebuild):
  - a Llama-architecture model with random weights: hidden size 128, 2 layers, 2 attention and
    2 KV heads (head_dim 64, a size vLLM's CPU attention kernels support), vocabulary 1,024,
    tied embeddings, bf16: about 460k parameters, a 1 MB safetensors file;
  - a byte-level BPE tokenizer trained on the text below (byte-level: no unknown token), with a
    ChatML chat template and `<|im_end|>` as end of sequence;
  - a generation_config.json whose small max_new_tokens caps default answers (its words are
    random: the weights are).

Usage: python build_demo_model.py <output_dir>
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

VOCAB_SIZE = 1024
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
# Any text will do: the tokenizer only has to cover bytes and a few common pieces.
TRAINING_TEXT = [
    "A model serving platform takes a short spec and makes the model answer behind one endpoint.",
    "Hello! How can I help you today? Say hello, tell me a story, and count from one to ten.",
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs.",
    "Replicas scale up and down; a deployment rolls out, becomes ready, serves, and is removed.",
    "user assistant system: what is the capital of France? Paris. What is two plus two? Four.",
    "0 1 2 3 4 5 6 7 8 9 10 100 1000, ; : ! ? ( ) [ ] { } < > / \\ | - _ + = * & ^ % $ # @ ~ `",
] * 20


def build_tokenizer() -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(TRAINING_TEXT, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
        model_max_length=512,
    )


def build_model(tokenizer: PreTrainedTokenizerFast) -> LlamaForCausalLM:
    config = LlamaConfig(
        vocab_size=VOCAB_SIZE,
        hidden_size=128,
        intermediate_size=256,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.generation_config.max_new_tokens = 16
    model.generation_config.do_sample = False
    return model


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: build_demo_model.py <output_dir>")
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    tokenizer.save_pretrained(out)
    build_model(tokenizer).save_pretrained(out, safe_serialization=True)
    # transformers records its own version in the files; drop it so a rebuild with another
    # version still writes the same bytes.
    for name in ("config.json", "generation_config.json"):
        path = out / name
        data = json.loads(path.read_text())
        data.pop("transformers_version", None)
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(out)


if __name__ == "__main__":
    main()
