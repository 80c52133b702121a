"""The worker setup hook of the CPU stand-in's replicas (dev and tests only).

vLLM is installed beside Ray for the real engine, and ``import ray.serve.llm`` then imports its
OpenAI protocol modules and, through them and Ray's optional imports, torch and transformers:
about 6 s of CPU and 0.45 GB more for each replica (measured: 8.1 s and 649 MB against 2.2 s and
192 MB). The stand-in needs none of them. Blocking them before anything imports them sends Ray
to its other protocol source, which ``python/shims`` provides (on the node's PYTHONPATH), and
skips its optional torch paths: the stand-in starts as it did on a node without vLLM. Ray runs
the hook in the replica's worker process before it loads the actor's class.
"""
import sys

BLOCKED = ("vllm", "torch", "transformers")


def without_vllm() -> None:
    for name in BLOCKED:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    # What Ray Serve LLM's own hook does (ray.llm._internal.serve._worker_process_setup_hook,
    # a no-op whose module sets up logging and observability on import).
    import ray.llm._internal.serve  # noqa: F401
