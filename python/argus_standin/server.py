"""CPU stand-in for the vLLM server behind Ray Serve LLM's real OpenAI ingress. DEV/TEST ONLY.

Dev and test Ray nodes have no GPU and no vLLM, so the platform config sets
``LLMConfig.server_cls = "argus_standin.server:StandInLLMServer"`` there. Everything around the
engine is Ray's own code (``build_openai_app`` ingress, routing, request plumbing, replica
lifecycle, placement groups); only the engine is replaced. It "loads" ``model_source`` as a
local directory and fails like vLLM on a missing directory or a missing or malformed
``config.json``, then answers deterministically by echoing the last user message.

A prompt ``env? NAME`` is answered ``NAME is set`` or ``NAME is not set`` (never the value).
Knobs in ``engine_kwargs`` (accepted by the platform only where this class is configured):
  standin_load_delay_s   seconds to sleep while loading (a slow model)
  standin_fail_on_start  true or a message: raise while loading (a model that never starts)
  standin_reply_delay_s  seconds each answer takes (requests stay ongoing: load for the autoscaler)
``tensor_parallel_size`` / ``pipeline_parallel_size`` size the placement group as vLLM would.
Production never imports this module.
"""
import asyncio
import copy
import json
import os
import time
import uuid
from typing import Any, AsyncGenerator, Dict, List, Tuple

import ray
from ray.llm._internal.serve.constants import ENABLE_WORKER_PROCESS_SETUP_HOOK
from ray.llm._internal.serve.core.configs.accelerators import (
    CPUConfig,
    CPUAccelerator,
    GPUAccelerator,
    TPUAccelerator,
    TPUConfig,
    format_ray_accelerator_resource,
)
from ray.llm._internal.serve.core.configs.openai_api_models import (
    ChatCompletionResponse,
    CompletionResponse,
)
from ray.llm._internal.serve.core.engine.protocol import LLMEngine
from ray.llm._internal.serve.core.server.llm_server import (
    LLMServer,
    _merge_replica_actor_and_child_actor_bundles,
)

# Replaces Ray Serve LLM's worker setup hook (argus_standin/worker_setup.py says why).
STANDIN_WORKER_SETUP_HOOK = "argus_standin.worker_setup.without_vllm"
# CPUs for the replica actor unless deployment_config.ray_actor_options.num_cpus says otherwise
# (the stock server defaults to 1; a small share lets several stand-ins fit on a 2-core node).
STANDIN_DEFAULT_NUM_CPUS = 0.1


def _flag(value: Any) -> Any:
    """standin_fail_on_start: False/""/"0"/"false"/"no" -> off; True/"1"/"true"/"yes" -> on;
    any other string is the message to raise."""
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("", "0", "false", "no", "off"):
            return False
        if lowered in ("1", "true", "yes", "on"):
            return True
    return value


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts
        parts = []
        for part in content:
            text = part.get("text") if isinstance(part, dict) else getattr(part, "text", None)
            if isinstance(text, str):
                parts.append(text)
        return " ".join(parts)
    return ""


def _last_user_text(messages: Any) -> str:
    last = ""
    for message in messages or []:
        get = message.get if isinstance(message, dict) else lambda k, m=message: getattr(m, k, None)
        if get("role") in (None, "user"):
            last = _text_of(get("content"))
    return last


# A prompt "env? NAME" is answered with whether NAME is set in the replica (never its value):
# how tests see that a spec's env reached the replicas.
_ENV_QUESTION = "env? "


def _reply_to(prompt: str) -> str:
    if prompt.startswith(_ENV_QUESTION):
        name = prompt[len(_ENV_QUESTION):].strip()
        return f"{name} is {'set' if name in os.environ else 'not set'}"
    return f"echo: {prompt}"


def _limit_words(text: str, limit: Any) -> Tuple[List[str], str]:
    """Splits the reply into word 'tokens' and keeps at most ``limit`` of them (one word ~ one
    token). Returns the kept words and the finish_reason."""
    words = text.split(" ")
    if limit and int(limit) < len(words):
        return words[: int(limit)], "length"
    return words, "stop"


class StandInEngine(LLMEngine):
    """Implements every abstract method of Ray's LLMEngine; no model, no GPU."""

    def __init__(self, llm_config):
        super().__init__(llm_config)
        self._config = llm_config
        self._model_id = llm_config.model_loading_config.model_id
        self._kwargs = dict(llm_config.engine_kwargs or {})

    async def start(self):
        delay = float(self._kwargs.get("standin_load_delay_s", 0) or 0)
        if delay > 0:
            await asyncio.sleep(delay)
        fail = _flag(self._kwargs.get("standin_fail_on_start"))
        if fail:
            raise RuntimeError(fail if isinstance(fail, str) else "stand-in engine told to fail on start (standin_fail_on_start)")
        source = str(self._config.model_loading_config.model_source or self._model_id)
        if not os.path.isdir(source):
            raise FileNotFoundError(f"stand-in engine: model directory {source} does not exist")
        config_path = os.path.join(source, "config.json")
        try:
            with open(config_path, encoding="utf-8") as handle:
                json.load(handle)
        except FileNotFoundError:
            raise FileNotFoundError(f"stand-in engine: {config_path} not found; not a model checkpoint") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"stand-in engine: {config_path} is malformed: {err}") from None

    async def check_health(self) -> None:
        return None

    def routing_stats(self) -> dict:
        return {}

    async def resolve_lora(self, lora_model):
        raise NotImplementedError("the stand-in engine has no LoRA support")

    async def reset_prefix_cache(self) -> None:
        return None

    @staticmethod
    def _usage(prompt: str, completion_tokens: int) -> dict:
        prompt_tokens = max(1, len(prompt.split()))
        return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens}

    def _stream(self, rid: str, obj: str, pieces: List[dict], finish_reason: str):
        created = int(time.time())
        for piece in pieces:
            chunk = {"id": rid, "object": obj, "created": created, "model": self._model_id,
                     "choices": [{"index": 0, **piece, "finish_reason": None}]}
            yield f"data: {json.dumps(chunk)}\n\n"
        end_piece = {"delta": {}} if obj == "chat.completion.chunk" else {"text": ""}
        end = {"id": rid, "object": obj, "created": created, "model": self._model_id,
               "choices": [{"index": 0, **end_piece, "finish_reason": finish_reason}]}
        yield f"data: {json.dumps(end)}\n\n"
        yield "data: [DONE]\n\n"

    async def _think(self) -> None:
        delay = float(self._kwargs.get("standin_reply_delay_s", 0) or 0)
        if delay > 0:
            await asyncio.sleep(delay)

    async def chat(self, request, raw_request_info=None) -> AsyncGenerator[Any, None]:
        await self._think()
        prompt = _last_user_text(request.messages)
        limit = getattr(request, "max_completion_tokens", None) or getattr(request, "max_tokens", None)
        words, finish = _limit_words(_reply_to(prompt), limit)
        rid = f"chatcmpl-{uuid.uuid4().hex}"
        if getattr(request, "stream", False):
            pieces = [{"delta": {"role": "assistant", "content": words[0]}}]
            pieces += [{"delta": {"content": f" {w}"}} for w in words[1:]]
            for line in self._stream(rid, "chat.completion.chunk", pieces, finish):
                yield line
            return
        yield ChatCompletionResponse(
            id=rid, object="chat.completion", created=int(time.time()), model=self._model_id,
            choices=[{"index": 0, "message": {"role": "assistant", "content": " ".join(words)}, "finish_reason": finish}],
            usage=self._usage(prompt, len(words)),
        )

    async def completions(self, request, raw_request_info=None) -> AsyncGenerator[Any, None]:
        await self._think()
        prompt = request.prompt if isinstance(request.prompt, str) else " ".join(map(str, request.prompt or []))
        words, finish = _limit_words(_reply_to(prompt), getattr(request, "max_tokens", None))
        rid = f"cmpl-{uuid.uuid4().hex}"
        if getattr(request, "stream", False):
            pieces = [{"text": w if i == 0 else f" {w}"} for i, w in enumerate(words)]
            for line in self._stream(rid, "text_completion", pieces, finish):
                yield line
            return
        yield CompletionResponse(
            id=rid, object="text_completion", created=int(time.time()), model=self._model_id,
            choices=[{"index": 0, "text": " ".join(words), "finish_reason": finish}],
            usage=self._usage(prompt, len(words)),
        )

    async def embeddings(self, request, raw_request_info=None):
        raise NotImplementedError("the stand-in engine serves no embeddings")
        yield  # pragma: no cover  (makes this an async generator like the interface)

    async def transcriptions(self, request, raw_request_info=None):
        raise NotImplementedError("the stand-in engine serves no transcriptions")
        yield  # pragma: no cover


def _child_bundles(llm_config) -> Tuple[List[Dict[str, float]], str]:
    """The engine's placement bundles and strategy, computed as Ray's VLLMEngineConfig does
    (placement_bundles / placement_strategy) but without importing vLLM: one bundle per device
    (tensor_parallel_size x pipeline_parallel_size), each {"GPU": 1} plus
    {"accelerator_type:<type>": 0.001} when accelerator_type is set, or the bundles of
    placement_group_config when given."""
    kwargs = llm_config.engine_kwargs or {}
    num_devices = int(kwargs.get("tensor_parallel_size", 1)) * int(kwargs.get("pipeline_parallel_size", 1))
    accelerator_type = llm_config.accelerator_type
    pg_config = llm_config.placement_group_config
    if pg_config:
        strategy = pg_config.get("strategy", "PACK")
        per_worker = pg_config.get("bundle_per_worker")
        templates = [per_worker] * num_devices if per_worker is not None else (pg_config.get("bundles") or [])
        bundles = []
        for template in templates:
            bundle = dict(template)
            if accelerator_type:
                bundle.setdefault(format_ray_accelerator_resource(accelerator_type), 0.001)
            bundles.append(bundle)
        return bundles, strategy
    accel_cfg = llm_config.accelerator_config
    if isinstance(accel_cfg, TPUConfig):
        backend = TPUAccelerator(accel_cfg)
    elif isinstance(accel_cfg, CPUConfig):
        backend = CPUAccelerator()
    else:
        backend = GPUAccelerator()
    return backend.default_bundles(num_devices=num_devices, accelerator_type_str=accelerator_type), "PACK"


class StandInLLMServer(LLMServer):
    """Ray's LLMServer with the stand-in engine and vLLM-free deployment options."""

    _default_engine_cls = StandInEngine

    async def _start_engine(self):
        # The stock method also pushes telemetry, which imports vLLM.
        if self.engine is None:
            raise ValueError("Engine is not set")
        await self.engine.start()

    @classmethod
    def get_deployment_options(cls, llm_config):
        """Mirrors LLMServer.get_deployment_options of Ray 2.58 line for line, except that the
        bundles come from _child_bundles (no vLLM) and the replica actor defaults to
        STANDIN_DEFAULT_NUM_CPUS instead of 1 CPU. So a model with tensor_parallel_size N reserves
        N logical GPUs (and the accelerator_type resource) exactly as the real server would."""
        deployment_options = copy.deepcopy(llm_config.deployment_config)
        if "placement_group_bundles" in deployment_options or "placement_group_strategy" in deployment_options:
            raise ValueError(
                "placement_group_bundles and placement_group_strategy must not be specified in "
                "deployment_config. You can override the default values by setting the "
                "`placement_group_config` in the LLMConfig."
            )
        ray_actor_options = deployment_options.get("ray_actor_options", {})
        ray_actor_options.setdefault("num_cpus", STANDIN_DEFAULT_NUM_CPUS)
        replica_actor_resources = {
            "CPU": ray_actor_options["num_cpus"],
            "GPU": ray_actor_options.get("num_gpus", 0),
            **ray_actor_options.get("resources", {}),
        }
        if "memory" in ray_actor_options:
            replica_actor_resources["memory"] = ray_actor_options["memory"]
        child_bundles, strategy = _child_bundles(llm_config)
        deployment_options["placement_group_bundles"] = _merge_replica_actor_and_child_actor_bundles(
            child_bundles, replica_actor_resources
        )
        deployment_options["placement_group_strategy"] = strategy

        # (the stock code calls ray.get_runtime_context() unconditionally, which would start a
        # local Ray instance when called outside Ray, e.g. from a unit test)
        default_runtime_env = dict(ray.get_runtime_context().runtime_env or {}) if ray.is_initialized() else {}
        if ENABLE_WORKER_PROCESS_SETUP_HOOK:
            # Ray Serve LLM's hook, wrapped so the stand-in's replicas never import vLLM and torch.
            default_runtime_env["worker_process_setup_hook"] = STANDIN_WORKER_SETUP_HOOK
        ray_actor_options["runtime_env"] = {
            **default_runtime_env,
            **ray_actor_options.get("runtime_env", {}),
            **(llm_config.runtime_env or {}),
        }
        deployment_options["ray_actor_options"] = ray_actor_options
        return deployment_options
