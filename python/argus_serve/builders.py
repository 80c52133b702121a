"""import_path builders named in the control plane's Serve config.

Serve calls an ``import_path`` builder with exactly one argument, the app's ``args``:
  argus_serve.builders:build_model_app    one app per model: just that model's LLM server
  argus_serve.builders:build_ingress_app  the one ingress app (route_prefix "/")

Ray versions a deployment by its app's import_path and args. So the ingress args hold only what
rarely changes (changing them restarts the ingress: that is how new ingress code is rolled) and
the model set travels in the ingress deployment's user_config instead.
"""
import copy
from typing import Any, Dict, Mapping

from ray import serve
from ray.llm._internal.common.dict_utils import maybe_apply_llm_deployment_config_defaults
from ray.llm._internal.serve.core.ingress.ingress import (
    DEFAULT_ENDPOINTS,
    DEFAULT_INGRESS_OPTIONS,
    make_fastapi_ingress,
)
from ray.llm._internal.serve.core.server.builder import build_llm_deployment
from ray.serve.deployment import Application
from ray.serve.llm import LLMConfig

from argus_serve.ingress import ArgusIngress

INGRESS_DEPLOYMENT_NAME = "ArgusIngress"
# The ingress only relays requests; a small CPU share lets it fit beside the models.
DEFAULT_INGRESS_RAY_ACTOR_OPTIONS: Dict[str, Any] = {"num_cpus": 0.1}

_INGRESS_ARGS = frozenset({"status_interval_s", "deployment_options"})

# Ray's routes, plus the control plane's view of what the ingress applied.
ARGUS_ENDPOINTS = {
    **DEFAULT_ENDPOINTS,
    "routes": lambda app: app.get("/argus/routes"),
}


def build_model_app(args: Mapping[str, Any]) -> Application:
    """``args = {"llm_config": {...}}``. The deployment keeps Ray's own name,
    ``<ServerClass>:<model_id with "/" -> "--" and "." -> "_">``, which the Serve config's
    per-deployment override and the ingress's user_config both name."""
    if not isinstance(args, Mapping) or set(args) != {"llm_config"}:
        keys = sorted(args) if isinstance(args, Mapping) else type(args).__name__
        raise ValueError(f'build_model_app expects args {{"llm_config": {{...}}}}, got {keys}')
    return build_llm_deployment(LLMConfig.model_validate(args["llm_config"]))


def build_ingress_app(args: Mapping[str, Any]) -> Application:
    """``args`` may hold ``status_interval_s`` (default 1.0) and ``deployment_options`` (merged
    over Ray's DEFAULT_INGRESS_OPTIONS and ``ray_actor_options={"num_cpus": 0.1}``)."""
    args = dict(args or {})
    unknown = sorted(set(args) - _INGRESS_ARGS)
    if unknown:  # a typo would otherwise be ignored silently
        raise ValueError(f"build_ingress_app: unknown args {unknown}; allowed: {sorted(_INGRESS_ARGS)}")
    status_interval_s = float(args.get("status_interval_s", 1.0))
    if status_interval_s <= 0:
        raise ValueError("build_ingress_app: status_interval_s must be positive")
    defaults = copy.deepcopy(DEFAULT_INGRESS_OPTIONS)
    defaults["ray_actor_options"] = dict(DEFAULT_INGRESS_RAY_ACTOR_OPTIONS)
    options = maybe_apply_llm_deployment_config_defaults(defaults, args.get("deployment_options") or {})
    options["name"] = INGRESS_DEPLOYMENT_NAME
    ingress_cls = make_fastapi_ingress(ArgusIngress, endpoint_map=ARGUS_ENDPOINTS)
    # Only the status interval is a constructor argument: the model set comes via user_config.
    return serve.deployment(ingress_cls, **options).bind(status_interval_s=status_interval_s)
