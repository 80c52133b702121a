"""The ingress's user_config contract, parsed into an immutable routing table.

The TypeScript control plane writes this shape into the ArgusIngress deployment's
``user_config`` (Serve then calls ``reconfigure`` on the live replicas, no restart)::

    {"version": "<opaque string>",
     "max_wait_unready_s": 10,                       # optional
     "path_aliases": {"/srv/storage": "/private"},  # optional: node paths -> what users see
     "models": [
       {"model_id": "alice-202611291752-qwen-0.5b",
        "app_name": "argus_llm_app--svc-alice-20261129-175200-k3x9--r2",
        "deployment_name": "LLMServer:alice-202611291752-qwen-0_5b",
        "candidates": [{"app_name": "...--r3", "deployment_name": "LLMServer:..."}],
        "max_model_len": null}]}

A malformed config is a control-plane bug and is reported (GET /argus/routes shows it), but the
blast radius is kept small: a bad top-level shape rejects the whole config (the ingress keeps the
last good one), a bad model entry leaves out only that model. Unknown keys are ignored: the
control plane and the ingress code roll out separately, so a newer writer may add keys.
No Ray import here, so it is unit-tested without a cluster.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

# How long a forwarded request may wait for a deployment with no RUNNING replica (and a target
# above zero) before the ingress answers 503 itself instead of leaving it in Serve's queue.
DEFAULT_MAX_WAIT_UNREADY_S = 10.0



class RoutingConfigError(ValueError):
    """The user_config (or one model entry of it) does not follow the contract above."""


@dataclass(frozen=True)
class Target:
    """One Serve deployment that can answer a model: (application, deployment)."""

    app_name: str
    deployment_name: str


@dataclass(frozen=True)
class ModelRoute:
    model_id: str
    routed: Target
    candidates: Tuple[Target, ...] = ()
    max_model_len: Optional[int] = None

    def target_for_app(self, app_name: str) -> Optional[Target]:
        """The routed target or the candidate living in ``app_name``; None if neither."""
        if app_name == self.routed.app_name:
            return self.routed
        for candidate in self.candidates:
            if candidate.app_name == app_name:
                return candidate
        return None

    def targets(self) -> Iterator[Target]:
        yield self.routed
        yield from self.candidates


@dataclass(frozen=True)
class RoutingTable:
    version: Optional[str] = None
    models: Mapping[str, ModelRoute] = field(default_factory=dict)
    max_wait_unready_s: float = DEFAULT_MAX_WAIT_UNREADY_S
    # Node paths and the names users know them by (the storage root -> "/private"): Ray's
    # messages name the paths the node reads, users only ever see the logical ones.
    path_aliases: Mapping[str, str] = field(default_factory=dict)
    # Model entries left out because they broke the contract, one message each.
    problems: Tuple[str, ...] = ()

    def user_facing(self, text: str) -> str:
        for node_path, logical in self.path_aliases.items():
            text = text.replace(node_path, logical)
        return text

    def all_targets(self) -> List[Target]:
        seen: Dict[Target, None] = {}
        for route in self.models.values():
            for target in route.targets():
                seen.setdefault(target, None)
        return list(seen)

    def routes_view(self) -> Dict[str, Any]:
        """The body of GET /argus/routes."""
        return {
            "version": self.version,
            "models": {model_id: route.routed.app_name for model_id, route in self.models.items()},
        }


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise RoutingConfigError(f"{where} must be a non-empty string, got {value!r}")
    return value


def _target(obj: Any, where: str) -> Target:
    if not isinstance(obj, Mapping):
        raise RoutingConfigError(f"{where} must be an object, got {type(obj).__name__}")
    return Target(
        app_name=_string(obj.get("app_name"), f"{where}.app_name"),
        deployment_name=_string(obj.get("deployment_name"), f"{where}.deployment_name"),
    )


def _model(obj: Any, where: str) -> ModelRoute:
    if not isinstance(obj, Mapping):
        raise RoutingConfigError(f"{where} must be an object, got {type(obj).__name__}")
    model_id = _string(obj.get("model_id"), f"{where}.model_id")
    # The routed app/deployment sit on the model entry itself, next to model_id.
    routed = Target(
        app_name=_string(obj.get("app_name"), f"{where}.app_name"),
        deployment_name=_string(obj.get("deployment_name"), f"{where}.deployment_name"),
    )
    raw_candidates = obj.get("candidates") or []
    if not isinstance(raw_candidates, list):
        raise RoutingConfigError(f"{where}.candidates must be a list")
    candidates = tuple(_target(c, f"{where}.candidates[{i}]") for i, c in enumerate(raw_candidates))
    max_model_len = obj.get("max_model_len")
    if max_model_len is not None and (
        isinstance(max_model_len, bool) or not isinstance(max_model_len, int) or max_model_len <= 0
    ):
        raise RoutingConfigError(f"{where}.max_model_len must be a positive integer or null")
    return ModelRoute(model_id, routed, candidates, max_model_len)


def parse_routing_table(user_config: Any) -> RoutingTable:
    """Returns the table. Raises RoutingConfigError when the top level is unusable; a broken model
    entry is left out and described in ``problems``."""
    if not isinstance(user_config, Mapping):
        raise RoutingConfigError(f"user_config must be an object, got {type(user_config).__name__}")
    version = _string(user_config.get("version"), "user_config.version")
    raw_models = user_config.get("models")
    if not isinstance(raw_models, list):
        raise RoutingConfigError("user_config.models must be a list")
    max_wait = user_config.get("max_wait_unready_s", DEFAULT_MAX_WAIT_UNREADY_S)
    if isinstance(max_wait, bool) or not isinstance(max_wait, (int, float)) or max_wait <= 0:
        raise RoutingConfigError("user_config.max_wait_unready_s must be a positive number")
    raw_aliases = user_config.get("path_aliases", {})
    if not isinstance(raw_aliases, Mapping) or not all(isinstance(k, str) and k and isinstance(v, str) for k, v in raw_aliases.items()):
        raise RoutingConfigError("user_config.path_aliases must map non-empty node paths to the names users know them by")
    models: Dict[str, ModelRoute] = {}
    problems: List[str] = []
    for index, raw in enumerate(raw_models):
        try:
            route = _model(raw, f"user_config.models[{index}]")
        except RoutingConfigError as err:
            problems.append(str(err))
            continue
        if route.model_id in models:
            # Which of the two is meant is unknowable: the first one stays.
            problems.append(f"user_config.models[{index}]: model_id {route.model_id!r} is listed twice")
            continue
        models[route.model_id] = route
    return RoutingTable(
        version=version,
        models=models,
        max_wait_unready_s=float(max_wait),
        path_aliases=dict(raw_aliases),
        problems=tuple(problems),
    )
