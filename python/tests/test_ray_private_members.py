"""Fails when a Ray member that argus_serve leans on changes shape (no Ray cluster needed).

ArgusIngress subclasses Ray Serve LLM's OpenAiIngress and overrides or fills some of its private
members; the status cache calls the Serve controller directly. None of that is public API, so a
Ray upgrade must be checked here first.
"""
import inspect
from typing import Annotated, Any, List, Tuple, get_args, get_origin

import pytest
from ray import serve
from ray.llm._internal.serve.core.ingress import ingress as ray_ingress
from ray.serve.llm.ingress import OpenAiIngress

from argus_serve.ingress import ArgusIngress

# Route methods ArgusIngress overrides, with the parameters it passes on to Ray's.
OVERRIDDEN_ROUTES = {
    "chat": ["self", "body", "request"],
    "completions": ["self", "body", "request"],
    "embeddings": ["self", "body", "request"],
    "transcriptions": ["self", "body", "request"],
    "score": ["self", "body", "request"],
    "tokenize": ["self", "body", "request"],
    "detokenize": ["self", "body", "request"],
    "model_data": ["self", "model"],
}


def _params(func: object) -> List[str]:
    return list(inspect.signature(func).parameters)


def _annotation_shape(annotation: Any) -> Tuple[Any, ...]:
    # Annotated[T, Form()] metadata objects have no equality: compare T and the metadata types.
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        return (base, *(type(m) for m in metadata))
    return (annotation,)


def test_ingress_state_dicts_exist() -> None:
    ingress = OpenAiIngress({}, {})
    for name in ("_default_serve_handles", "_model_cards", "_configured_serve_handles"):
        assert isinstance(getattr(ingress, name), dict), name


def test_handle_lookup_and_response_hooks_keep_their_parameters() -> None:
    assert _params(OpenAiIngress._get_configured_serve_handle) == ["self", "model_id"]
    response_params = inspect.signature(OpenAiIngress._get_response).parameters
    assert list(response_params) == ["self", "body", "call_method", "raw_request"]
    for name in ("body", "call_method", "raw_request"):
        assert response_params[name].kind is inspect.Parameter.KEYWORD_ONLY, name
    assert inspect.isasyncgenfunction(OpenAiIngress._get_response)


def test_every_route_reaches_the_model_through_get_response() -> None:
    # The bounded wait lives in our _get_response: a route that stopped calling it would bypass it.
    for name in ("_process_llm_request", "embeddings", "score", "tokenize", "detokenize"):
        assert "self._get_response(" in inspect.getsource(getattr(OpenAiIngress, name)), name
    assert "self._get_configured_serve_handle(" in inspect.getsource(OpenAiIngress._get_response)
    for name in ("chat", "completions", "transcriptions"):
        assert "self._process_llm_request(" in inspect.getsource(getattr(OpenAiIngress, name)), name


def test_overridden_routes_exist_with_the_same_parameters() -> None:
    for name, params in OVERRIDDEN_ROUTES.items():
        ray_method = getattr(OpenAiIngress, name)
        ours = getattr(ArgusIngress, name)
        assert _params(ray_method) == params, name
        ray_sig, our_sig = inspect.signature(ray_method), inspect.signature(ours)
        for param in params[1:]:
            # FastAPI builds the request parsing from these annotations: they must stay Ray's.
            assert _annotation_shape(our_sig.parameters[param].annotation) == _annotation_shape(
                ray_sig.parameters[param].annotation
            ), (name, param)
        assert name in ray_ingress.DEFAULT_ENDPOINTS, name
    assert "models" in ray_ingress.DEFAULT_ENDPOINTS


def test_serve_controller_constants_and_method() -> None:
    from ray.serve._private.constants import SERVE_CONTROLLER_NAME, SERVE_NAMESPACE
    from ray.serve._private.controller import ServeController

    assert isinstance(SERVE_CONTROLLER_NAME, str) and SERVE_CONTROLLER_NAME
    assert isinstance(SERVE_NAMESPACE, str) and SERVE_NAMESPACE
    assert callable(getattr(ServeController, "get_serve_instance_details", None))


def test_ingress_factory_and_options() -> None:
    assert "endpoint_map" in inspect.signature(ray_ingress.make_fastapi_ingress).parameters
    assert isinstance(ray_ingress.DEFAULT_INGRESS_OPTIONS, dict)
    assert "max_ongoing_requests" in ray_ingress.DEFAULT_INGRESS_OPTIONS


def test_get_deployment_handle_accepts_check_exists() -> None:
    params = inspect.signature(serve.get_deployment_handle).parameters
    assert {"deployment_name", "app_name", "_check_exists"} <= set(params)


def test_helpers_the_ingress_imports() -> None:
    from ray.llm._internal.common.utils.lora_utils import get_base_model_id
    from ray.llm._internal.serve.core.configs.openai_api_models import ModelCard
    from ray.llm._internal.serve.utils.server_utils import replace_prefix

    assert get_base_model_id("alice-1-qwen-0.5b") == "alice-1-qwen-0.5b"
    assert replace_prefix("a--b") == "a/b"
    assert set(ModelCard.model_fields) >= {"id", "object", "owned_by", "permission", "metadata"}


@pytest.mark.parametrize(
    "model_id, expected",
    [
        ("alice-202611291752-qwen-0.5b", "StandInLLMServer:alice-202611291752-qwen-0_5b"),
        ("org/model-1.5", "StandInLLMServer:org--model-1_5"),
    ],
)
def test_model_app_keeps_rays_deployment_name(model_id: str, expected: str) -> None:
    # The control plane names this deployment in the Serve config and in user_config.
    from argus_serve.builders import build_model_app

    app = build_model_app(
        {
            "llm_config": {
                "model_loading_config": {"model_id": model_id, "model_source": "/nonexistent"},
                "server_cls": "argus_standin.server:StandInLLMServer",
                "accelerator_type": "H20",
                "engine_kwargs": {"tensor_parallel_size": 1},
            }
        }
    )
    assert app._bound_deployment.name == expected


def test_ingress_app_is_built_as_specified() -> None:
    from argus_serve.builders import build_ingress_app

    deployment = build_ingress_app({})._bound_deployment
    assert deployment.name == "ArgusIngress"
    assert deployment.ray_actor_options == {"num_cpus": 0.1}
    assert deployment._deployment_config.max_ongoing_requests == (
        ray_ingress.DEFAULT_INGRESS_OPTIONS["max_ongoing_requests"]
    )
    assert deployment.init_args == () and deployment.init_kwargs == {"status_interval_s": 1.0}
    with pytest.raises(ValueError, match="unknown args"):
        build_ingress_app({"status_interval": 2})
