"""ArgusIngress without a cluster: fake deployment handles and a fake Serve controller, but Ray's
real OpenAiIngress request plumbing (body handling, response building) in between.
"""
import asyncio
import copy
import json
import time
from typing import Any, AsyncGenerator, Callable, Dict, List, Optional, Tuple

import pytest
from ray.llm._internal.serve.core.configs.openai_api_models import (
    ChatCompletionRequest, ChatCompletionResponse, ErrorInfo, ErrorResponse, OpenAIHTTPException,
)
from starlette.requests import Request
from starlette.responses import Response

from argus_serve import ingress as ingress_module
from argus_serve.ingress import ArgusIngress
from argus_serve.routing_table import Target

MODEL = "alice-202611291752-qwen-0.5b"
DEPLOYMENT = "LLMServer:alice-202611291752-qwen-0_5b"
APP_R2 = "argus_llm_app--svc-alice--r2"
APP_R3 = "argus_llm_app--svc-alice--r3"

Behaviour = Callable[[Any], AsyncGenerator[Any, None]]


async def answers_at_once(body: Any) -> AsyncGenerator[Any, None]:
    yield ChatCompletionResponse(
        id="chatcmpl-1", created=0, model=body.model,
        choices=[{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    )


async def never_answers(body: Any) -> AsyncGenerator[Any, None]:
    await asyncio.sleep(3600)
    yield None


def answers_after(seconds: float) -> Behaviour:
    async def behaviour(body: Any) -> AsyncGenerator[Any, None]:
        await asyncio.sleep(seconds)
        async for item in answers_at_once(body):
            yield item
    return behaviour


class FakeHandle:
    """Stands in for a DeploymentHandle: ``handle.options(...).chat.remote(body, info)``."""

    def __init__(self, target: Target, behaviours: Dict[Target, Behaviour], calls: List[Tuple[Target, str]]) -> None:
        self.target, self._behaviours, self._calls = target, behaviours, calls
        self.cancelled = False

    def options(self, **_: Any) -> "FakeHandle":
        return self

    def __getattr__(self, method: str) -> Any:
        handle = self

        class Method:
            def remote(self, body: Any, raw_request_info: Any) -> AsyncGenerator[Any, None]:
                handle._calls.append((handle.target, method))
                return handle._watch(handle._behaviours.get(handle.target, answers_at_once)(body))

        return Method()

    async def _watch(self, gen: AsyncGenerator[Any, None]) -> AsyncGenerator[Any, None]:
        try:
            async for item in gen:
                yield item
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def deployment(status: str = "HEALTHY", running: int = 1, target: int = 1, trigger: str = "CONFIG_UPDATE_COMPLETED",
               message: str = "", min_replicas: int = 1) -> Dict[str, Any]:
    return {
        "status": status, "status_trigger": trigger, "message": message, "target_num_replicas": target,
        "deployment_config": {"autoscaling_config": {"min_replicas": min_replicas}},
        "replicas": [{"replica_id": f"r{i}", "state": "RUNNING"} for i in range(running)],
    }


class FakeController:
    def __init__(self) -> None:
        self.apps: Dict[str, Dict[str, Any]] = {}
        self.calls = 0

    def set(self, app: str, dep: Optional[Dict[str, Any]], app_status: str = "RUNNING", app_message: str = "") -> None:
        self.apps[app] = {"status": app_status, "message": app_message, "deployments": {DEPLOYMENT: dep} if dep else {}}

    async def __call__(self) -> Dict[str, Any]:
        self.calls += 1
        return {"applications": copy.deepcopy(self.apps)}


def user_config(version: str = "v1", candidates: Tuple[str, ...] = (APP_R3,), routed: str = APP_R2, **extra: Any) -> Dict[str, Any]:
    return {
        "version": version,
        **extra,
        "models": [{
            "model_id": MODEL, "app_name": routed, "deployment_name": DEPLOYMENT,
            "candidates": [{"app_name": a, "deployment_name": DEPLOYMENT} for a in candidates],
            "max_model_len": 4096,
        }],
    }


class Harness:
    def __init__(self) -> None:
        self.controller = FakeController()
        self.behaviours: Dict[Target, Behaviour] = {}
        self.calls: List[Tuple[Target, str]] = []
        self.created: List[FakeHandle] = []

        def factory(target: Target) -> FakeHandle:
            handle = FakeHandle(target, self.behaviours, self.calls)
            self.created.append(handle)
            return handle

        self.ingress = ArgusIngress(status_interval_s=0.05, _status_fetcher=self.controller, _handle_factory=factory)
        self.controller.set(APP_R2, deployment())
        self.controller.set(APP_R3, deployment())

    async def chat(self, model: str = MODEL, headers: Optional[Dict[str, str]] = None) -> Response:
        scope = {
            "type": "http", "method": "POST", "path": "/v1/chat/completions", "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        }
        body = ChatCompletionRequest(model=model, messages=[{"role": "user", "content": "hi"}])
        return await self.ingress.chat(body, Request(scope))


def run(test: Callable[[Harness], Any]) -> None:
    async def main() -> None:
        harness = Harness()
        try:
            await test(harness)
        finally:
            if harness.ingress._status_task is not None:
                harness.ingress._status_task.cancel()
    asyncio.run(main())


def error(response: Response) -> Dict[str, Any]:
    return json.loads(response.body)["error"]


def test_reconfigure_builds_models_and_reuses_handles() -> None:
    async def body(h: Harness) -> None:
        await h.ingress.reconfigure(user_config("v1"))
        assert set(h.ingress._default_serve_handles) == {MODEL}
        card = h.ingress._model_cards[MODEL]
        assert (card.id, card.object, card.owned_by, card.permission) == (MODEL, "model", "organization-owner", [])
        assert card.metadata == {"model_id": MODEL, "input_modality": "text", "max_request_context_length": 4096}
        routed_handle = h.ingress._default_serve_handles[MODEL]
        assert routed_handle.target == Target(APP_R2, DEPLOYMENT)
        h.ingress._configured_serve_handles[MODEL] = object()  # as Ray caches it on first use

        await h.ingress.reconfigure(user_config("v2", candidates=()))  # candidate dropped only
        assert h.ingress._default_serve_handles[MODEL] is routed_handle
        assert MODEL in h.ingress._configured_serve_handles
        assert len(h.created) == 2  # no handle rebuilt

        await h.ingress.reconfigure(user_config("v3", candidates=(), routed=APP_R3))  # switch
        assert h.ingress._default_serve_handles[MODEL].target == Target(APP_R3, DEPLOYMENT)
        assert MODEL not in h.ingress._configured_serve_handles
        assert await h.ingress.routes() == {"version": "v3", "models": {MODEL: APP_R3}}
        models = await h.ingress.models()
        assert [m.id for m in models.data] == [MODEL]
    run(body)


def test_unusable_user_config_keeps_the_last_good_table() -> None:
    async def body(h: Harness) -> None:
        await h.ingress.reconfigure(user_config("v1"))
        await h.ingress.reconfigure({"version": "v2", "models": {}})
        routes = await h.ingress.routes()
        assert routes["version"] == "v1" and "models must be a list" in routes["config_error"]
        assert (await h.chat()).status_code == 200
    run(body)


def test_broken_model_entry_is_left_out_and_reported() -> None:
    async def body(h: Harness) -> None:
        config = user_config("v2")
        config["models"].append({"model_id": "bob-1-m", "app_name": "bob--r1"})
        await h.ingress.reconfigure(config)
        routes = await h.ingress.routes()
        assert routes["version"] == "v2" and list(routes["models"]) == [MODEL]
        assert "deployment_name" in routes["config_error"]
        assert (await h.chat("bob-1-m")).status_code == 404
        await h.ingress.reconfigure(user_config("v3"))
        assert "config_error" not in await h.ingress.routes()
    run(body)


def test_running_model_is_forwarded_through_rays_plumbing() -> None:
    async def body(h: Harness) -> None:
        await h.ingress.reconfigure(user_config())
        response = await h.chat()
        assert response.status_code == 200
        assert json.loads(response.body)["choices"][0]["message"]["content"] == "hi"
        assert h.calls == [(Target(APP_R2, DEPLOYMENT), "chat")]
    run(body)


def test_first_request_reads_the_status_before_deciding() -> None:
    async def body(h: Harness) -> None:
        await h.ingress.reconfigure(user_config())
        h.ingress._status_task.cancel()  # only the request itself may load the cache now
        h.ingress._status = type(h.ingress._status)(h.controller)
        assert (await h.chat()).status_code == 200
        assert h.controller.calls >= 1
    run(body)


def test_unknown_model_is_404_not_found() -> None:
    async def body(h: Harness) -> None:
        await h.ingress.reconfigure(user_config())
        response = await h.chat("someone-else-1.0")
        assert response.status_code == 404
        assert error(response)["code"] == "model_not_found" and error(response)["type"] == "NotFoundError"
        assert h.calls == []
        missing = await h.ingress.model_data("someone-else-1.0")
        assert missing.status_code == 404 and error(missing)["code"] == "model_not_found"
        assert (await h.ingress.model_data(MODEL)).id == MODEL
    run(body)


@pytest.mark.parametrize(
    "app_status, dep, code, retry_after",
    [
        ("DEPLOYING", deployment("UPDATING", running=0), "model_starting", "5"),
        ("DEPLOYING", None, "model_starting", "5"),
        ("DEPLOY_FAILED", deployment("DEPLOY_FAILED", running=0, trigger="REPLICA_STARTUP_FAILED",
                                     message="Traceback\nRuntimeError: boom"), "model_failed", None),
        ("UNHEALTHY", deployment("UNHEALTHY", running=0, trigger="REPLICA_STARTUP_FAILED",
                                 message="RuntimeError: cold start failed", min_replicas=0), "model_failed", None),
    ],
)
def test_unready_model_is_refused_without_forwarding(app_status: str, dep: Optional[Dict[str, Any]], code: str,
                                                     retry_after: Optional[str]) -> None:
    async def body(h: Harness) -> None:
        h.controller.set(APP_R2, dep, app_status=app_status)
        await h.ingress.reconfigure(user_config())
        started = time.monotonic()
        response = await h.chat()
        assert time.monotonic() - started < 0.5
        assert response.status_code == 503
        assert error(response)["code"] == code and error(response)["type"] == "ServiceUnavailableError"
        assert MODEL in error(response)["message"]
        assert response.headers.get("retry-after") == retry_after
        if code == "model_failed":
            assert "RuntimeError" in error(response)["message"]
        assert h.calls == []
    run(body)


def test_scaled_to_zero_model_is_forwarded() -> None:
    async def body(h: Harness) -> None:
        h.controller.set(APP_R2, deployment("HEALTHY", running=0, target=0, min_replicas=0))
        await h.ingress.reconfigure(user_config())
        assert (await h.chat()).status_code == 200
    run(body)


def test_revision_header_selects_the_candidate_app() -> None:
    async def body(h: Harness) -> None:
        await h.ingress.reconfigure(user_config())
        assert (await h.chat(headers={"x-argus-revision-app": APP_R3})).status_code == 200
        assert (await h.chat(headers={"x-argus-revision-app": APP_R2})).status_code == 200
        assert (await h.chat()).status_code == 200
        assert [t.app_name for t, _ in h.calls] == [APP_R3, APP_R2, APP_R2]

        unknown = await h.chat(headers={"x-argus-revision-app": "argus_llm_app--svc-alice--r9"})
        assert unknown.status_code == 404 and error(unknown)["code"] == "revision_not_found"

        h.controller.set(APP_R3, deployment("UPDATING", running=0))  # candidate still starting
        await h.ingress._status.refresh()
        starting = await h.chat(headers={"x-argus-revision-app": APP_R3})
        assert starting.status_code == 503 and APP_R3 in error(starting)["message"]
        assert (await h.chat()).status_code == 200  # the routed app is unaffected
    run(body)


@pytest.fixture
def fast_watch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingress_module, "WATCH_INTERVAL_S", 0.05)


def _forward_then(h: Harness, change: Callable[[], Any]) -> "asyncio.Task[Response]":
    async def later() -> None:
        await asyncio.sleep(0.2)
        result = change()
        if asyncio.iscoroutine(result):
            await result

    asyncio.ensure_future(later())
    return asyncio.ensure_future(h.chat())


def test_waiting_request_is_cut_when_its_model_fails(fast_watch: None) -> None:
    async def body(h: Harness) -> None:
        h.behaviours[Target(APP_R2, DEPLOYMENT)] = never_answers
        await h.ingress.reconfigure(user_config())
        task = _forward_then(h, lambda: h.controller.set(
            APP_R2, deployment("DEPLOY_FAILED", running=0, message="RuntimeError: oom"), app_status="DEPLOY_FAILED"))
        response = await asyncio.wait_for(task, 3.0)
        assert response.status_code == 503 and error(response)["code"] == "model_failed"
        assert "RuntimeError: oom" in error(response)["message"]
        assert h.created[0].cancelled  # the queued call was cancelled, not left in Serve's queue
    run(body)


def test_waiting_request_is_cut_when_its_model_is_removed(fast_watch: None) -> None:
    async def body(h: Harness) -> None:
        h.behaviours[Target(APP_R2, DEPLOYMENT)] = never_answers
        await h.ingress.reconfigure(user_config())
        task = _forward_then(h, lambda: h.ingress.reconfigure({"version": "v2", "models": []}))
        response = await asyncio.wait_for(task, 3.0)
        assert response.status_code == 503 and error(response)["code"] == "model_removed"
    run(body)


def test_waiting_request_is_cut_after_max_wait_without_replicas(fast_watch: None) -> None:
    async def body(h: Harness) -> None:
        h.behaviours[Target(APP_R2, DEPLOYMENT)] = never_answers
        await h.ingress.reconfigure(user_config(max_wait_unready_s=0.5))
        started = time.monotonic()
        task = _forward_then(h, lambda: h.controller.set(APP_R2, deployment("UNHEALTHY", running=0, trigger="HEALTH_CHECK_FAILED")))
        response = await asyncio.wait_for(task, 5.0)
        elapsed = time.monotonic() - started
        assert response.status_code == 503 and error(response)["code"] == "model_starting"
        assert 0.6 < elapsed < 2.5
    run(body)


def test_slow_answer_of_a_serving_model_is_not_cut(fast_watch: None) -> None:
    async def body(h: Harness) -> None:
        h.behaviours[Target(APP_R2, DEPLOYMENT)] = answers_after(1.5)
        await h.ingress.reconfigure(user_config(max_wait_unready_s=0.2))
        response = await asyncio.wait_for(h.chat(), 5.0)
        assert response.status_code == 200
    run(body)


def test_a_dead_engines_server_error_is_answered_503_with_retry_after() -> None:
    async def engine_dead(body: Any) -> AsyncGenerator[Any, None]:
        # What Ray Serve LLM's LLMServer yields once its vLLM engine died (EngineDeadError inside).
        yield ErrorResponse(error=ErrorInfo(message="Internal Server Error (Request ID: 1)", type="InternalServerError", code=500))

    async def bad_request(body: Any) -> AsyncGenerator[Any, None]:
        yield ErrorResponse(error=ErrorInfo(message="prompt too long", type="BadRequestError", code=400))

    async def body(h: Harness) -> None:
        await h.ingress.reconfigure(user_config())
        h.behaviours[Target(APP_R2, DEPLOYMENT)] = engine_dead
        response = await h.chat()
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert error(response)["code"] == "engine_unavailable"
        assert "Internal Server Error" in error(response)["message"]
        # A client error of the engine goes on to Ray's own plumbing, which answers it as it is.
        h.behaviours[Target(APP_R2, DEPLOYMENT)] = bad_request
        with pytest.raises(OpenAIHTTPException) as raised:
            await h.chat()
        assert raised.value.status_code == 400
    run(body)


def test_answers_name_logical_paths_never_the_nodes_storage_root() -> None:
    async def body(h: Harness) -> None:
        ray_message = "Traceback\nValueError: /srv/storage/hf/demo/broken-model/config.json is malformed"
        h.controller.set(APP_R2, deployment("DEPLOY_FAILED", running=0, trigger="REPLICA_STARTUP_FAILED", message=ray_message),
                         app_status="DEPLOY_FAILED")
        await h.ingress.reconfigure(user_config(path_aliases={"/srv/storage": "/private"}))
        message = error(await h.chat())["message"]
        assert "/private/hf/demo/broken-model/config.json is malformed" in message
        assert "/srv/storage" not in message
    run(body)
