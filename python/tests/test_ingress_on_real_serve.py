"""ArgusIngress and the per-model apps on a REAL local Ray Serve node, driven only through the
dashboard's Serve REST API (as the control plane does) and Serve's HTTP port.

Start the node with ``bash -c 'source scripts/profile.sh test; scripts/stack.sh up test'``; its
PYTHONPATH holds python/, so replicas import argus_serve and the CPU stand-in LLM server. The module is skipped when the dashboard does not answer.

One deployment is shared by the whole module (a module-scoped fixture) to keep it well under
three minutes on two cores; the tests run in file order and the last two change it.
The PUT is declarative and whole-cluster: it replaces every app on the node.
"""
import os
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = os.environ.get("RAY_DASHBOARD_URL", "http://127.0.0.1:8265").rstrip("/")
APPS_URL = f"{DASHBOARD}/api/serve/applications/"
SERVE_HTTP = os.environ.get("ARGUS_SERVE_HTTP_URL", "http://127.0.0.1:8000").rstrip("/")
MODEL_SOURCE = os.path.join(str(REPO_ROOT), ".data", "storage", "hf", "demo", "tiny-chat")
# As the product renders stand-in apps (src/ray/serveConfig.ts, setupHookEnv): the builds, the
# replicas and the ingress run the stand-in's setup hook, which keeps vLLM and torch out. Without
# it each replica imports them (about 8 s of CPU), and on two cores this suite's replicas starting
# together outlast its deadlines.
STANDIN_RUNTIME_ENV = {"env_vars": {"__RAY_WORKER_PROCESS_SETUP_HOOK_ENV_VAR": "argus_standin.worker_setup.without_vllm"}}
RAY_LOGS = Path(os.environ.get("RAY_TMPDIR", "/tmp/ray")) / "session_latest" / "logs"

HTTP_TIMEOUT_S = 10.0
DEPLOY_TIMEOUT_S = 120.0
MAX_WAIT_UNREADY_S = 2.0  # user_config: how long a forwarded request may wait for no replica


def _dashboard_answers() -> bool:
    try:
        return httpx.get(APPS_URL, timeout=3.0).status_code == 200
    except httpx.HTTPError:
        return False


if not _dashboard_answers():
    pytest.skip(f"no Ray dashboard answering at {APPS_URL}", allow_module_level=True)

# Model ids with a dot, as in the control plane's contract: Ray names the deployment with "_".
MODEL_A = "tester-202611291752-qwen-0.5b"
MODEL_B = "tester-202611291752-second-0.5b"
MODEL_FAIL = "tester-202611291752-broken-0.5b"
MODEL_SLOW = "tester-202611291752-slow-0.5b"
MODEL_ZERO = "tester-202611291752-zero-0.5b"
APP_A = "argus_test--tester-a--r1"
APP_A_CANDIDATE = "argus_test--tester-a--r2"
APP_B = "argus_test--tester-b--r1"
APP_FAIL = "argus_test--tester-fail--r1"
APP_SLOW = "argus_test--tester-slow--r1"
APP_ZERO = "argus_test--tester-zero--r1"
INGRESS_APP = "argus_llm_app"


def deployment_name(model_id: str) -> str:
    return "StandInLLMServer:" + model_id.replace("/", "--").replace(".", "_")


@dataclass(frozen=True)
class ModelApp:
    app_name: str
    model_id: str
    engine_kwargs: Dict[str, Any] = field(default_factory=dict)
    autoscaling: Dict[str, Any] = field(
        default_factory=lambda: {"min_replicas": 1, "max_replicas": 1, "initial_replicas": 1}
    )

    def serve_app(self) -> Dict[str, Any]:
        llm_config = {
            "model_loading_config": {"model_id": self.model_id, "model_source": MODEL_SOURCE},
            "server_cls": "argus_standin.server:StandInLLMServer",
            "accelerator_type": "H20",
            "engine_kwargs": {"tensor_parallel_size": 1, "standin_load_delay_s": 0, **self.engine_kwargs},
        }
        return {
            "name": self.app_name,
            "route_prefix": None,
            "import_path": "argus_serve.builders:build_model_app",
            "args": {"llm_config": llm_config},
            "runtime_env": STANDIN_RUNTIME_ENV,
            "deployments": [{"name": deployment_name(self.model_id), "autoscaling_config": self.autoscaling}],
        }


APPS = {
    "a": ModelApp(APP_A, MODEL_A),
    "a_candidate": ModelApp(APP_A_CANDIDATE, MODEL_A),
    "fail": ModelApp(APP_FAIL, MODEL_FAIL, {"standin_fail_on_start": "boom"}),
    "slow": ModelApp(APP_SLOW, MODEL_SLOW, {"standin_load_delay_s": 300}),
    # Scale to zero, starting at zero; a cold start would take 300 s, so a request to it waits.
    "zero": ModelApp(
        APP_ZERO,
        MODEL_ZERO,
        {"standin_load_delay_s": 300},
        {
            "min_replicas": 0, "max_replicas": 1, "initial_replicas": 0, "upscale_delay_s": 0,
            "downscale_delay_s": 600, "downscale_to_zero_delay_s": 600, "metrics_interval_s": 1,
            "look_back_period_s": 2, "target_ongoing_requests": 1,
        },
    ),
    "b": ModelApp(APP_B, MODEL_B),
}


def user_config(version: str, model_apps: List[ModelApp]) -> Dict[str, Any]:
    models: Dict[str, Dict[str, Any]] = {}
    for app in model_apps:
        if app.model_id in models:  # a second app of the same model is a candidate revision
            models[app.model_id]["candidates"].append(
                {"app_name": app.app_name, "deployment_name": deployment_name(app.model_id)}
            )
            continue
        models[app.model_id] = {
            "model_id": app.model_id,
            "app_name": app.app_name,
            "deployment_name": deployment_name(app.model_id),
            "candidates": [],
            "max_model_len": None,
        }
    return {"version": version, "max_wait_unready_s": MAX_WAIT_UNREADY_S, "models": list(models.values())}


def put(version: str, served: List[ModelApp], deployed: Optional[List[ModelApp]] = None) -> None:
    """One declarative PUT: the ingress (user_config lists ``served``) plus ``deployed`` apps."""
    deployed = served if deployed is None else deployed
    ingress = {
        "name": INGRESS_APP,
        "route_prefix": "/",
        "import_path": "argus_serve.builders:build_ingress_app",
        "args": {},
        "runtime_env": STANDIN_RUNTIME_ENV,
        "deployments": [{"name": "ArgusIngress", "user_config": user_config(version, served)}],
    }
    body = {"applications": [ingress] + [app.serve_app() for app in deployed]}
    response = httpx.put(APPS_URL, json=body, timeout=30.0)
    assert response.status_code == 200, response.text


def serve_status() -> Dict[str, Any]:
    response = httpx.get(APPS_URL, timeout=HTTP_TIMEOUT_S)
    response.raise_for_status()
    return response.json().get("applications") or {}


def deployment_of(apps: Dict[str, Any], app_name: str, deployment: str) -> Optional[Dict[str, Any]]:
    return ((apps.get(app_name) or {}).get("deployments") or {}).get(deployment)


def running_replica_ids(apps: Dict[str, Any], app_name: str, deployment: str) -> List[str]:
    found = deployment_of(apps, app_name, deployment) or {}
    return sorted(r["replica_id"] for r in found.get("replicas", []) if r.get("state") == "RUNNING")


def wait_for(what: str, predicate: Callable[[], bool], timeout_s: float = DEPLOY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except httpx.HTTPError:
            pass  # the ingress or the proxy is (re)starting
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}; apps: {summary(serve_status())}")


def summary(apps: Dict[str, Any]) -> Dict[str, Any]:
    return {
        name: (app["status"], {d: (v["status"], [r["state"] for r in v["replicas"]]) for d, v in app["deployments"].items()})
        for name, app in apps.items()
    }


def routes() -> Dict[str, Any]:
    response = httpx.get(f"{SERVE_HTTP}/argus/routes", timeout=HTTP_TIMEOUT_S)
    response.raise_for_status()
    return response.json()


def chat(model: str, headers: Optional[Dict[str, str]] = None, timeout_s: float = HTTP_TIMEOUT_S) -> httpx.Response:
    return httpx.post(
        f"{SERVE_HTTP}/v1/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 4},
        headers=headers or {},
        timeout=timeout_s,
    )


def chat_until_ok(model: str, within_s: float = 1.0) -> httpx.Response:
    """The ingress re-reads Serve's status before refusing when its view is over 0.25 s old, so
    right after the dashboard shows a replica RUNNING it may refuse once more at most briefly."""
    deadline = time.monotonic() + within_s
    response = chat(model)
    while response.status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.1)
        response = chat(model)
    return response


def error_of(response: httpx.Response) -> Dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "code"}, body
    return body["error"]


def replica_log_mentions(apps: Dict[str, Any], app_name: str, deployment: str, needle: str) -> bool:
    """Serve writes each request's x-request-id into the replica's log file."""
    for replica in (deployment_of(apps, app_name, deployment) or {}).get("replicas", []):
        path = RAY_LOGS / str(replica.get("log_file_path", "")).lstrip("/")
        if path.is_file() and needle in path.read_text(errors="replace"):
            return True
    return False


INITIAL = [APPS["a"], APPS["a_candidate"], APPS["fail"], APPS["slow"], APPS["zero"]]


@pytest.fixture(scope="module")
def initial_stack() -> Iterator[None]:
    # Start from nothing: an identical PUT is a no-op (a leftover failed app would stay failed,
    # and a leftover ingress replica would keep the code it was started with).
    httpx.put(APPS_URL, json={"applications": []}, timeout=30.0).raise_for_status()
    wait_for("the node to drop every app", lambda: not serve_status(), 60.0)
    put("v1", INITIAL)

    def ready() -> bool:
        apps = serve_status()
        dep_a = deployment_name(MODEL_A)
        fail = deployment_of(apps, APP_FAIL, deployment_name(MODEL_FAIL)) or {}
        zero = deployment_of(apps, APP_ZERO, deployment_name(MODEL_ZERO)) or {}
        return (
            apps.get(INGRESS_APP, {}).get("status") == "RUNNING"
            and len(running_replica_ids(apps, APP_A, dep_a)) == 1
            and len(running_replica_ids(apps, APP_A_CANDIDATE, dep_a)) == 1
            and fail.get("status") == "DEPLOY_FAILED"
            and zero.get("status") == "HEALTHY"
            and APP_SLOW in apps
            and routes().get("version") == "v1"
        )

    wait_for("the initial apps (A running, its candidate running, F failed, Z at zero)", ready)
    yield
    httpx.put(APPS_URL, json={"applications": []}, timeout=30.0)


def test_running_model_answers_chat(initial_stack: None) -> None:
    response = chat(MODEL_A)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == MODEL_A
    assert body["choices"][0]["message"]["content"].startswith("echo: ping")


def test_streamed_chat_passes_through(initial_stack: None) -> None:
    # Streaming goes through the ingress's wrapper around Ray's response generator.
    response = httpx.post(
        f"{SERVE_HTTP}/v1/chat/completions",
        json={"model": MODEL_A, "messages": [{"role": "user", "content": "one two"}], "stream": True},
        timeout=HTTP_TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]" and len(events) >= 3


def test_models_lists_each_served_model_once(initial_stack: None) -> None:
    response = httpx.get(f"{SERVE_HTTP}/v1/models", timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200
    ids = [card["id"] for card in response.json()["data"]]
    assert sorted(ids) == sorted([MODEL_A, MODEL_FAIL, MODEL_SLOW, MODEL_ZERO])


def test_unknown_model_is_404_openai_json(initial_stack: None) -> None:
    response = chat("tester-nobody-1.0")
    assert response.status_code == 404
    error = error_of(response)
    assert (error["type"], error["code"]) == ("NotFoundError", "model_not_found")
    assert "tester-nobody-1.0" in error["message"] and "/v1/models" in error["message"]


def test_starting_model_is_503_at_once(initial_stack: None) -> None:
    started = time.monotonic()
    response = chat(MODEL_SLOW)
    elapsed = time.monotonic() - started
    assert response.status_code == 503, response.text
    error = error_of(response)
    assert (error["type"], error["code"]) == ("ServiceUnavailableError", "model_starting")
    assert MODEL_SLOW in error["message"]
    assert response.headers.get("retry-after") == "5"
    assert elapsed < 1.0, f"took {elapsed:.2f}s"


def test_failed_model_is_503_naming_the_failure(initial_stack: None) -> None:
    # The fixture saw DEPLOY_FAILED on the dashboard; the ingress's view may lag a little.
    deadline = time.monotonic() + 2.0
    response = chat(MODEL_FAIL)
    while response.status_code == 503 and error_of(response)["code"] == "model_starting" and time.monotonic() < deadline:
        time.sleep(0.3)
        response = chat(MODEL_FAIL)
    assert response.status_code == 503, response.text
    error = error_of(response)
    assert (error["type"], error["code"]) == ("ServiceUnavailableError", "model_failed")
    assert MODEL_FAIL in error["message"]
    assert "RuntimeError: boom" in error["message"]
    assert len(error["message"]) < 600


def test_revision_header_routes_to_that_app(initial_stack: None) -> None:
    dep_a = deployment_name(MODEL_A)
    for app_name, other in ((APP_A_CANDIDATE, APP_A), (APP_A, APP_A_CANDIDATE)):
        request_id = f"argus-test-{uuid.uuid4()}"
        response = chat(MODEL_A, {"x-argus-revision-app": app_name, "x-request-id": request_id})
        assert response.status_code == 200, response.text
        assert response.json()["model"] == MODEL_A  # the engine sees its own model name
        wait_for(f"{request_id} in {app_name}'s replica log",
                 lambda: replica_log_mentions(serve_status(), app_name, dep_a, request_id), 10.0)
        assert not replica_log_mentions(serve_status(), other, dep_a, request_id)

    response = chat(MODEL_A, {"x-argus-revision-app": "argus_test--tester-a--r9"})
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "revision_not_found"
    assert APP_A_CANDIDATE in error["message"]


def test_routes_reflect_the_applied_user_config(initial_stack: None) -> None:
    assert routes() == {
        "version": "v1",
        "models": {MODEL_A: APP_A, MODEL_FAIL: APP_FAIL, MODEL_SLOW: APP_SLOW, MODEL_ZERO: APP_ZERO},
    }


def test_adding_a_model_restarts_neither_ingress_nor_neighbour(initial_stack: None) -> None:
    before = serve_status()
    ingress_ids = running_replica_ids(before, INGRESS_APP, "ArgusIngress")
    a_ids = running_replica_ids(before, APP_A, deployment_name(MODEL_A))
    assert len(ingress_ids) == 1 and len(a_ids) == 1

    put("v2", INITIAL + [APPS["b"]])
    wait_for("model B running and routed",
             lambda: len(running_replica_ids(serve_status(), APP_B, deployment_name(MODEL_B))) == 1
             and routes()["version"] == "v2", 60.0)

    response = chat_until_ok(MODEL_B)
    assert response.status_code == 200, response.text
    assert chat(MODEL_A).status_code == 200
    after = serve_status()
    assert running_replica_ids(after, INGRESS_APP, "ArgusIngress") == ingress_ids
    assert running_replica_ids(after, APP_A, deployment_name(MODEL_A)) == a_ids
    assert routes()["models"][MODEL_B] == APP_B


def test_forwarded_request_is_answered_when_its_app_goes_away(initial_stack: None) -> None:
    # Z is scaled to zero: the gate forwards, and the request waits in Serve's queue for a cold
    # start that takes 300 s. Then Z's app is removed (user_config still lists the model).
    result: Dict[str, Any] = {}

    def send() -> None:
        try:
            result["response"] = chat(MODEL_ZERO, timeout_s=90.0)
        except httpx.HTTPError as err:  # surfaces below as a missing response
            result["error"] = repr(err)
        result["at"] = time.monotonic()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    sender.join(2.0)
    assert sender.is_alive(), f"answered before the app was removed: {result}"

    remaining = [APPS["a"], APPS["a_candidate"], APPS["fail"], APPS["slow"], APPS["b"]]
    removed_at = time.monotonic()
    put("v3", remaining + [APPS["zero"]], deployed=remaining)
    sender.join(MAX_WAIT_UNREADY_S + 20.0)
    assert not sender.is_alive(), "still waiting: the ingress left the request in Serve's queue"
    response = result.get("response")
    assert response is not None, result
    assert response.status_code == 503, response.text
    error = error_of(response)
    assert error["code"] == "model_starting" and MODEL_ZERO in error["message"]
    # Removal (~2 s) + max_wait_unready_s + a status refresh and a watch tick.
    assert result["at"] - removed_at < MAX_WAIT_UNREADY_S + 10.0
