"""CPU stand-in for the vLLM server behind Ray Serve LLM's real OpenAI ingress.

Dev and test Ray nodes have no GPU and no vLLM, so the platform config sets
``LLMConfig.server_cls = "argus_standin.server:StandInLLMServer"`` there. Everything around the
engine is Ray's own code (ingress, routing, request plumbing, replica lifecycle); only the
engine is replaced. It "loads" ``model_source`` as a local directory and fails like vLLM on a
missing or malformed ``config.json``, then answers deterministically by echoing.

Knobs in ``engine_kwargs`` (accepted by the platform only where this class is configured):
  standin_load_delay_s   seconds to sleep while loading (a slow model)
  standin_fail_on_start  true or a message: raise while loading (a model that never starts)
Production never imports this module.
"""
import asyncio
import copy
import json
import os
import time
import uuid
from typing import Any, AsyncGenerator, Optional

from ray.llm._internal.serve.core.configs.openai_api_models import (
    ChatCompletionResponse,
    CompletionResponse,
)
from ray.llm._internal.serve.core.engine.protocol import LLMEngine
from ray.llm._internal.serve.core.server.llm_server import LLMServer


def _reply_for(messages: Any) -> str:
    last = ""
    for message in messages or []:
        content = message.get("content") if isinstance(message, dict) else getattr(message, "content", "")
        if isinstance(content, str):
            last = content
    return f"echo: {last}"


class StandInEngine(LLMEngine):
    def __init__(self, llm_config):
        self._config = llm_config
        self._model_id = llm_config.model_loading_config.model_id
        self._kwargs = dict(llm_config.engine_kwargs or {})

    async def start(self):
        delay = float(self._kwargs.get("standin_load_delay_s", 0) or 0)
        if delay:
            await asyncio.sleep(delay)
        fail = self._kwargs.get("standin_fail_on_start")
        if fail:
            raise RuntimeError(fail if isinstance(fail, str) else "stand-in engine told to fail on start")
        source = self._config.model_loading_config.model_source
        config_path = os.path.join(str(source), "config.json")
        if not os.path.isdir(str(source)):
            raise ValueError(f"model directory {source} does not exist")
        try:
            with open(config_path, encoding="utf-8") as handle:
                json.load(handle)
        except FileNotFoundError:
            raise ValueError(f"config.json not found in {source}") from None
        except json.JSONDecodeError as err:
            raise ValueError(f"config.json in {source} is malformed: {err}") from None

    def routing_stats(self) -> dict:
        return {}

    async def resolve_lora(self, lora_model):
        raise NotImplementedError("the stand-in engine has no LoRA support")

    def _usage(self, completion_tokens: int) -> dict:
        return {"prompt_tokens": 1, "completion_tokens": completion_tokens, "total_tokens": 1 + completion_tokens}

    async def chat(self, request, raw_request_info=None) -> AsyncGenerator[Any, None]:
        limit = request.max_completion_tokens or request.max_tokens
        words = _reply_for(request.messages).split(" ")
        text = " ".join(words[:limit]) if limit else " ".join(words)
        if request.stream:
            created = int(time.time())
            rid = f"chatcmpl-{uuid.uuid4().hex}"
            for i, word in enumerate(text.split(" ")):
                chunk = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": self._model_id,
                         "choices": [{"index": 0, "delta": {"content": word if i == 0 else f" {word}"}, "finish_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            end = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": self._model_id,
                   "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            yield f"data: {json.dumps(end)}\n\n"
            yield "data: [DONE]\n\n"
            return
        yield ChatCompletionResponse(
            model=self._model_id,
            choices=[{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "length" if limit and limit < len(words) else "stop"}],
            usage=self._usage(len(text.split(" "))),
        )

    async def completions(self, request, raw_request_info=None) -> AsyncGenerator[Any, None]:
        prompt = request.prompt if isinstance(request.prompt, str) else str(request.prompt)
        yield CompletionResponse(model=self._model_id, choices=[{"index": 0, "text": f"echo: {prompt}", "finish_reason": "stop"}], usage=self._usage(2))

    async def embeddings(self, request, raw_request_info=None):
        raise NotImplementedError("the stand-in engine serves no embeddings")
        yield  # pragma: no cover

    async def transcriptions(self, request, raw_request_info=None):
        raise NotImplementedError("the stand-in engine serves no transcriptions")
        yield  # pragma: no cover

    async def reset_prefix_cache(self) -> None:
        return None

    async def check_health(self) -> None:
        return None


class StandInLLMServer(LLMServer):
    """Ray's LLMServer with the stand-in engine and vLLM-free deployment options."""

    _default_engine_cls = StandInEngine

    async def _start_engine(self):
        # The stock method also sends telemetry, which imports vLLM.
        await self.engine.start()

    @classmethod
    def get_deployment_options(cls, llm_config):
        """Requests resources as the stock vLLM server would: one bundle per tensor-parallel
        rank, each with one GPU and a sliver of the accelerator-type resource, so logical GPUs
        declared on the node are reserved and limited as on a real GPU cluster."""
        options = copy.deepcopy(llm_config.deployment_config)
        ray_actor_options = options.get("ray_actor_options", {})
        ray_actor_options.setdefault("num_cpus", 0.1)
        tp = int((llm_config.engine_kwargs or {}).get("tensor_parallel_size", 1) or 1)
        rank_bundle = {"GPU": 1}
        if llm_config.accelerator_type:
            rank_bundle[f"accelerator_type:{llm_config.accelerator_type}"] = 0.001
        bundles = [dict(rank_bundle) for _ in range(tp)]
        bundles[0]["CPU"] = ray_actor_options["num_cpus"]
        options["placement_group_bundles"] = bundles
        options["placement_group_strategy"] = "PACK"
        ray_actor_options["runtime_env"] = {
            **ray_actor_options.get("runtime_env", {}),
            **(llm_config.runtime_env or {}),
        }
        options["ray_actor_options"] = ray_actor_options
        return options
