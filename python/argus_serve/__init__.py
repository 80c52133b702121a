"""Argus's Ray Serve code: imported by every Ray node that serves models.

Layout (one concept per module):
  builders.py       import_path builders the control plane names in its Serve config
  ingress.py        ArgusIngress: Ray's OpenAiIngress, fed by user_config, gated by status
  routing_table.py  the user_config contract (model -> routed app, candidate apps)
  status_cache.py   per-deployment status read from the Serve controller about once a second
  gate.py           pure decisions: forward, "starting" or "failed" for one deployment state
  openai_errors.py  OpenAI error JSON answers and the traceback summarizer
  handles.py        deployment handles keyed by (app, deployment), reused across reconfigures

This file imports nothing on purpose: ``ray.serve.llm`` needs vLLM (or the test shim) to import,
and the pure modules are unit-tested without it.
"""
