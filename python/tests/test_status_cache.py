"""The status cache: parsing recorded controller output, remembering a briefly missing
deployment, and keeping the last view when a read fails (no cluster)."""
import asyncio
import copy
import json
from pathlib import Path
from typing import Any, Dict, List

from ray.serve._private.common import DeploymentStatus, ReplicaState
from ray.serve.schema import ApplicationStatus

from argus_serve.gate import Verdict, decide
from argus_serve.routing_table import Target
from argus_serve.status_cache import REMEMBER_MISSING_S, StatusCache, merge_snapshot, parse_instance_details

FIXTURES = Path(__file__).parent / "fixtures"


def recorded(name: str) -> Dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def test_recorded_failed_and_running_models() -> None:
    apps, deployments = parse_instance_details(recorded("get-applications-with_failed_D.json"))
    assert apps["model-D"][0] == "DEPLOY_FAILED"
    d = deployments[Target("model-D", "StandInLLMServer:D")]
    assert (d.deployment_status, d.status_trigger, d.running_replicas, d.target_num_replicas) == (
        "DEPLOY_FAILED", "REPLICA_STARTUP_FAILED", 0, 1)
    assert decide(d).verdict is Verdict.FAILED
    a = deployments[Target("model-A", "StandInLLMServer:A")]
    assert a.running_replicas == 1 and decide(a).verdict is Verdict.SERVE


def test_recorded_scale_to_zero_model_is_forwarded() -> None:
    _, deployments = parse_instance_details(recorded("get-applications-scale_zero_at_zero.json"))
    z = deployments[Target("model-Z", "StandInLLMServer:Z")]
    assert (z.target_num_replicas, z.running_replicas, z.min_replicas) == (0, 0, 0)
    assert decide(z).verdict is Verdict.SERVE


def test_in_process_enum_statuses_read_as_plain_names() -> None:
    # Called through the actor handle, the controller returns its str-Enums, not strings.
    details = copy.deepcopy(recorded("get-applications-with_failed_D.json"))
    app = details["applications"]["model-A"]
    app["status"] = ApplicationStatus.RUNNING
    deployment = app["deployments"]["StandInLLMServer:A"]
    deployment["status"] = DeploymentStatus.HEALTHY
    deployment["replicas"][0]["state"] = ReplicaState.RUNNING
    apps, deployments = parse_instance_details(details)
    state = deployments[Target("model-A", "StandInLLMServer:A")]
    assert apps["model-A"][0] == "RUNNING"
    assert state.deployment_status == "HEALTHY" and state.running_replicas == 1


def _with_deployments(details: Dict[str, Any], app: str, deployments: Dict[str, Any]) -> Dict[str, Any]:
    changed = copy.deepcopy(details)
    changed["applications"][app]["deployments"] = deployments
    return changed


def test_deployment_briefly_missing_keeps_its_last_state() -> None:
    details = recorded("get-applications-with_failed_D.json")
    target = Target("model-A", "StandInLLMServer:A")
    first = merge_snapshot(None, details, now=100.0)
    rebuilding = _with_deployments(details, "model-A", {})  # ~0.6 s while Ray rebuilds the app
    during = merge_snapshot(first, rebuilding, now=100.6)
    assert during.lookup(target) == first.lookup(target)
    later = merge_snapshot(during, rebuilding, now=100.0 + REMEMBER_MISSING_S + 0.1)
    forgotten = later.lookup(target)
    assert forgotten is not None and forgotten.deployment_status is None
    assert decide(forgotten).verdict is Verdict.STARTING


def test_remembered_state_takes_the_apps_new_status() -> None:
    details = recorded("get-applications-with_failed_D.json")
    first = merge_snapshot(None, details, now=0.0)
    failed = _with_deployments(details, "model-A", {})
    failed["applications"]["model-A"]["status"] = "DEPLOY_FAILED"
    state = merge_snapshot(first, failed, now=0.5).lookup(Target("model-A", "StandInLLMServer:A"))
    assert state is not None and state.app_status == "DEPLOY_FAILED"


def test_removed_app_is_not_remembered() -> None:
    details = recorded("get-applications-with_failed_D.json")
    first = merge_snapshot(None, details, now=0.0)
    gone = copy.deepcopy(details)
    del gone["applications"]["model-A"]
    assert merge_snapshot(first, gone, now=0.1).lookup(Target("model-A", "StandInLLMServer:A")) is None


class FlakyController:
    def __init__(self, answers: List[Any]) -> None:
        self.answers = answers
        self.calls = 0

    async def __call__(self) -> Dict[str, Any]:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_failed_refresh_keeps_the_last_view() -> None:
    details = recorded("get-applications-with_failed_D.json")
    controller = FlakyController([details, RuntimeError("controller restarting")])
    cache = StatusCache(controller)
    target = Target("model-A", "StandInLLMServer:A")

    async def run() -> None:
        assert await cache.refresh() is True
        assert await cache.refresh() is False

    asyncio.run(run())
    state = cache.lookup(target)
    assert state is not None and state.running_replicas == 1


def test_refresh_if_older_than_reads_at_most_once_per_window() -> None:
    details = recorded("get-applications-with_failed_D.json")
    now = [0.0]
    controller = FlakyController([details] * 5)
    cache = StatusCache(controller, clock=lambda: now[0])

    async def run() -> None:
        await cache.ensure_loaded()
        await asyncio.gather(*(cache.refresh_if_older_than(0.25) for _ in range(10)))
        assert controller.calls == 1
        now[0] = 0.3
        await asyncio.gather(*(cache.refresh_if_older_than(0.25) for _ in range(10)))
        assert controller.calls == 2

    asyncio.run(run())
