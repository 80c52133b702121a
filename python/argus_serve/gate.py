"""Pure decisions on one deployment's state: forward the request, or answer 503 ourselves.

Kept free of Ray and of I/O so every branch is unit-tested with plain values.
"""
from dataclasses import dataclass
from enum import Enum
from typing import Optional

from argus_serve.status_cache import DeploymentState


class Verdict(str, Enum):
    SERVE = "serve"  # forward: a replica runs, or Serve itself will start one (scale to zero)
    STARTING = "starting"  # 503 model_starting + Retry-After: it may serve soon
    FAILED = "failed"  # 503 model_failed: it will not serve without a new deploy


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    # For STARTING/FAILED: what a person reads, e.g. "deployment UPDATING, 0/1 replicas running".
    detail: str = ""
    # Ray's message (traceback) behind a failure, to be summarized for the answer.
    ray_message: str = ""


def _is_failed(state: DeploymentState) -> bool:
    if state.deployment_status == "DEPLOY_FAILED" or state.app_status == "DEPLOY_FAILED":
        return True
    # A failed cold start of a scale-to-zero model: the app stays UNHEALTHY, never DEPLOY_FAILED,
    # and a queued request would hang for minutes (seen on Ray 2.58).
    return state.deployment_status == "UNHEALTHY" and state.status_trigger == "REPLICA_STARTUP_FAILED"


def decide(state: Optional[DeploymentState]) -> Decision:
    """``state`` None means the controller does not list the target's application."""
    if state is None:
        return Decision(Verdict.STARTING, "its application is not deployed yet")
    # A RUNNING replica answers whatever the status says: e.g. a rolling update whose new
    # version failed leaves the old replicas RUNNING under a DEPLOY_FAILED deployment. Cutting
    # those requests would turn a failed update into an outage.
    if state.running_replicas > 0:
        return Decision(Verdict.SERVE)
    if _is_failed(state):
        status = state.deployment_status or "not listed"
        return Decision(
            Verdict.FAILED,
            f"application {state.app_status}, deployment {status}",
            state.message or state.app_message,
        )
    if state.deployment_status in ("HEALTHY", "UPSCALING", "DOWNSCALING") and state.target_num_replicas == 0:
        # Scaled to zero, or on its way there (its last replica stopping): Serve starts a replica
        # for the queued request (a cold start).
        return Decision(Verdict.SERVE)
    if state.deployment_status == "UPSCALING" and state.min_replicas == 0:
        # The cold start of a scale-to-zero model is under way; its queued requests are the
        # reason it scales up and they succeed once it loads.
        return Decision(Verdict.SERVE)
    if state.deployment_status is None:
        return Decision(
            Verdict.STARTING,
            f"application {state.app_status}, deployment not listed yet",
            state.app_message,
        )
    return Decision(
        Verdict.STARTING,
        f"deployment {state.deployment_status}, "
        f"{state.running_replicas}/{state.target_num_replicas} replicas running",
        state.message,
    )


@dataclass(frozen=True)
class WaitCheck:
    """Result of one look at a forwarded request still waiting for its first response item."""

    cut: Optional[Decision]  # not None: cancel the request and answer this decision
    unready_since: Optional[float]  # when the target was first seen not serving, if it is not


def check_waiting(
    state: Optional[DeploymentState],
    unready_since: Optional[float],
    now: float,
    max_wait_unready_s: float,
) -> WaitCheck:
    """A waiting request is cut when its target failed, or when it has not been serving for
    longer than ``max_wait_unready_s``. A target that is serving is never cut: a slow generation
    is waiting for a busy replica, not for a dead one."""
    decision = decide(state)
    if decision.verdict is Verdict.SERVE:
        return WaitCheck(None, None)
    if decision.verdict is Verdict.FAILED:
        return WaitCheck(decision, unready_since)
    since = now if unready_since is None else unready_since
    if now - since > max_wait_unready_s:
        return WaitCheck(decision, since)
    return WaitCheck(None, since)
