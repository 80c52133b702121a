"""The gate's decisions on one deployment state, and the bounded wait's cut rule (pure)."""
from dataclasses import replace
from typing import Optional

import pytest

from argus_serve.gate import Verdict, check_waiting, decide
from argus_serve.status_cache import DeploymentState

RUNNING = DeploymentState(
    app_status="RUNNING", app_message="", deployment_status="HEALTHY",
    status_trigger="CONFIG_UPDATE_COMPLETED", message="", target_num_replicas=1,
    running_replicas=1, min_replicas=1,
)
STARTING = replace(
    RUNNING, app_status="DEPLOYING", deployment_status="UPDATING",
    status_trigger="CONFIG_UPDATE_STARTED", running_replicas=0,
)
TRACEBACK = 'Traceback (most recent call last):\n  File "x.py", line 1\nRuntimeError: boom'


def state(**changes: object) -> DeploymentState:
    return replace(RUNNING, **changes)


@pytest.mark.parametrize(
    "name, given, verdict",
    [
        ("running replica", RUNNING, Verdict.SERVE),
        ("starting", STARTING, Verdict.STARTING),
        ("app not listed", None, Verdict.STARTING),
        ("deployment DEPLOY_FAILED",
         replace(STARTING, app_status="DEPLOY_FAILED", deployment_status="DEPLOY_FAILED",
                 status_trigger="REPLICA_STARTUP_FAILED", message=TRACEBACK), Verdict.FAILED),
        ("app DEPLOY_FAILED, no deployment (bad import_path)",
         replace(STARTING, app_status="DEPLOY_FAILED", deployment_status=None, app_message=TRACEBACK),
         Verdict.FAILED),
        ("failed cold start of a scale-to-zero model",
         replace(STARTING, app_status="UNHEALTHY", deployment_status="UNHEALTHY",
                 status_trigger="REPLICA_STARTUP_FAILED", min_replicas=0), Verdict.FAILED),
        ("unhealthy for another reason: may recover",
         replace(STARTING, deployment_status="UNHEALTHY", status_trigger="HEALTH_CHECK_FAILED"),
         Verdict.STARTING),
        ("scaled to zero", state(target_num_replicas=0, running_replicas=0, min_replicas=0,
                                 status_trigger="DOWNSCALE_COMPLETED"), Verdict.SERVE),
        ("scaling to zero, its last replica stopping",
         state(deployment_status="DOWNSCALING", target_num_replicas=0, running_replicas=0, min_replicas=0),
         Verdict.SERVE),
        ("cold start under way", state(deployment_status="UPSCALING", running_replicas=0, min_replicas=0),
         Verdict.SERVE),
        ("upscaling a model that keeps a replica, none running",
         state(deployment_status="UPSCALING", running_replicas=0, min_replicas=1), Verdict.STARTING),
        ("failed update with old replicas still running",
         state(app_status="DEPLOY_FAILED", deployment_status="DEPLOY_FAILED", running_replicas=2),
         Verdict.SERVE),
        ("app listed, deployment not yet", replace(STARTING, deployment_status=None), Verdict.STARTING),
    ],
)
def test_decide(name: str, given: Optional[DeploymentState], verdict: Verdict) -> None:
    assert decide(given).verdict is verdict, name


def test_starting_detail_counts_replicas() -> None:
    assert decide(STARTING).detail == "deployment UPDATING, 0/1 replicas running"


def test_failed_decision_carries_rays_message() -> None:
    failed = replace(STARTING, deployment_status="DEPLOY_FAILED", message=TRACEBACK)
    assert decide(failed).ray_message == TRACEBACK
    only_app = replace(STARTING, app_status="DEPLOY_FAILED", deployment_status=None, app_message="ModuleNotFoundError: x")
    assert decide(only_app).ray_message == "ModuleNotFoundError: x"


def test_waiting_request_on_a_serving_target_is_never_cut() -> None:
    check = check_waiting(RUNNING, unready_since=0.0, now=1000.0, max_wait_unready_s=10.0)
    assert check.cut is None and check.unready_since is None


def test_waiting_request_is_cut_at_once_when_its_target_fails() -> None:
    failed = replace(STARTING, deployment_status="DEPLOY_FAILED")
    check = check_waiting(failed, unready_since=None, now=5.0, max_wait_unready_s=10.0)
    assert check.cut is not None and check.cut.verdict is Verdict.FAILED


def test_waiting_request_is_cut_after_max_wait_without_replicas() -> None:
    first = check_waiting(STARTING, unready_since=None, now=100.0, max_wait_unready_s=10.0)
    assert first.cut is None and first.unready_since == 100.0
    within = check_waiting(STARTING, first.unready_since, now=110.0, max_wait_unready_s=10.0)
    assert within.cut is None
    after = check_waiting(None, first.unready_since, now=110.5, max_wait_unready_s=10.0)
    assert after.cut is not None and after.cut.verdict is Verdict.STARTING


def test_unready_clock_restarts_when_a_replica_runs_again() -> None:
    check = check_waiting(RUNNING, unready_since=100.0, now=105.0, max_wait_unready_s=10.0)
    assert check.unready_since is None
