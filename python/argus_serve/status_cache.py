"""Per-deployment status, read from the Serve controller about once a second.

Why a cache: a request handed to a deployment with no RUNNING replica waits silently in the
handle's queue (up to 600 s in Ray Serve LLM). The ingress must know, before forwarding, whether
the model's deployment is serving, starting or failed, and it cannot ask the controller on every
request. ``get_serve_instance_details`` is the data behind the dashboard's
``GET /api/serve/applications/``; one call a second per ingress replica is cheap.

Parsing and the "remember the last known state" rule are pure (unit-tested with recorded JSON);
only ``controller_fetcher`` touches Ray.
"""
import asyncio
import logging
import time
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Awaitable, Callable, Dict, Mapping, Optional, Tuple

from argus_serve.routing_table import Target

# A child of "ray.serve": Serve routes it into the replica's log file.
logger = logging.getLogger("ray.serve.argus_serve")

# While an app is rebuilt the controller lists no deployments for it for about 0.6 s (measured on
# Ray 2.58). Within this window the last known state stands in; after it, the deployment counts
# as not there (so a model whose app really lost its deployment does not look healthy forever).
REMEMBER_MISSING_S = 5.0

# A controller call that hangs must not freeze the cache forever; the next tick retries.
FETCH_TIMEOUT_S = 5.0

Fetcher = Callable[[], Awaitable[Mapping[str, Any]]]


@dataclass(frozen=True)
class DeploymentState:
    """What the gate needs to know about one (app, deployment)."""

    app_status: str
    app_message: str
    # None when the app is listed but has no such deployment (bad import_path, app being built).
    deployment_status: Optional[str]
    status_trigger: Optional[str]
    message: str
    target_num_replicas: int
    running_replicas: int
    # autoscaling_config.min_replicas; 0 marks a scale-to-zero model (a cold start may be under way).
    min_replicas: Optional[int]


def _name(value: Any) -> Optional[str]:
    """Status fields as plain strings. Called in-process the controller hands out its str-Enums
    (str() would give "DeploymentStatus.UPDATING"); the dashboard's JSON has plain strings."""
    if value is None:
        return None
    return str(value.value) if isinstance(value, Enum) else str(value)


def _min_replicas(deployment: Mapping[str, Any]) -> Optional[int]:
    autoscaling = (deployment.get("deployment_config") or {}).get("autoscaling_config")
    if isinstance(autoscaling, Mapping) and isinstance(autoscaling.get("min_replicas"), int):
        return autoscaling["min_replicas"]
    return None


def parse_instance_details(
    details: Mapping[str, Any],
) -> Tuple[Dict[str, Tuple[str, str]], Dict[Target, DeploymentState]]:
    """Returns ({app: (status, message)}, {Target: DeploymentState}) from the controller's dict."""
    apps: Dict[str, Tuple[str, str]] = {}
    deployments: Dict[Target, DeploymentState] = {}
    for app_name, app in (details.get("applications") or {}).items():
        app_status = _name(app.get("status")) or ""
        app_message = str(app.get("message") or "")
        apps[app_name] = (app_status, app_message)
        for deployment_name, deployment in (app.get("deployments") or {}).items():
            replicas = deployment.get("replicas") or []
            deployments[Target(app_name, deployment_name)] = DeploymentState(
                app_status=app_status,
                app_message=app_message,
                deployment_status=_name(deployment.get("status")),
                status_trigger=_name(deployment.get("status_trigger")),
                message=str(deployment.get("message") or ""),
                target_num_replicas=int(deployment.get("target_num_replicas") or 0),
                running_replicas=sum(1 for r in replicas if _name(r.get("state")) == "RUNNING"),
                min_replicas=_min_replicas(deployment),
            )
    return apps, deployments


@dataclass(frozen=True)
class StatusSnapshot:
    apps: Mapping[str, Tuple[str, str]]
    deployments: Mapping[Target, DeploymentState]
    # monotonic time each deployment was last actually listed by the controller
    last_listed: Mapping[Target, float]

    def lookup(self, target: Target) -> Optional[DeploymentState]:
        """The state of ``target``; None when its application is not listed at all."""
        state = self.deployments.get(target)
        if state is not None:
            return state
        app = self.apps.get(target.app_name)
        if app is None:
            return None
        return DeploymentState(app[0], app[1], None, None, "", 0, 0, None)


def merge_snapshot(
    previous: Optional[StatusSnapshot], details: Mapping[str, Any], now: float
) -> StatusSnapshot:
    """Builds the new snapshot, carrying over a deployment its still-listed app briefly dropped."""
    apps, deployments = parse_instance_details(details)
    last_listed: Dict[Target, float] = {target: now for target in deployments}
    if previous is not None:
        for target, old in previous.deployments.items():
            if target in deployments or target.app_name not in apps:
                continue  # listed again, or the whole app is gone: nothing to remember
            seen = previous.last_listed.get(target, now)
            if now - seen <= REMEMBER_MISSING_S:
                app_status, app_message = apps[target.app_name]
                # Keep the deployment's last state but the app's current status (it may have
                # turned DEPLOY_FAILED, which the gate must see).
                deployments[target] = replace(old, app_status=app_status, app_message=app_message)
                last_listed[target] = seen
    return StatusSnapshot(apps=apps, deployments=deployments, last_listed=last_listed)


def controller_fetcher() -> Fetcher:
    """Reads ``get_serve_instance_details`` from the Serve controller without blocking the loop."""
    import ray
    from ray.serve._private.constants import SERVE_CONTROLLER_NAME, SERVE_NAMESPACE

    controller: Dict[str, Any] = {}

    async def fetch() -> Mapping[str, Any]:
        if "actor" not in controller:
            # get_actor is a synchronous GCS lookup: keep it off the event loop, and do it once.
            controller["actor"] = await asyncio.to_thread(
                ray.get_actor, SERVE_CONTROLLER_NAME, namespace=SERVE_NAMESPACE
            )
        try:
            return await controller["actor"].get_serve_instance_details.remote()
        except Exception:
            controller.pop("actor", None)  # a restarted controller is a new actor: look it up again
            raise

    return fetch


class StatusCache:
    """Holds the latest snapshot; ``refresh`` never raises, a failure keeps the last snapshot."""

    def __init__(self, fetch: Fetcher, clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = fetch
        self._clock = clock
        self._snapshot: Optional[StatusSnapshot] = None
        self._attempted_at: Optional[float] = None
        self._lock = asyncio.Lock()
        self._failures = 0

    @property
    def loaded(self) -> bool:
        return self._snapshot is not None

    def lookup(self, target: Target) -> Optional[DeploymentState]:
        return self._snapshot.lookup(target) if self._snapshot is not None else None

    async def refresh(self, timeout_s: float = FETCH_TIMEOUT_S) -> bool:
        """One read of the controller. Returns whether it succeeded."""
        async with self._lock:  # the loop and requests asking for a fresher state may race
            return await self._refresh_locked(timeout_s)

    async def refresh_if_older_than(self, max_age_s: float, timeout_s: float = FETCH_TIMEOUT_S) -> None:
        """Reads again unless the last read (even a failed one) is at most ``max_age_s`` old, so
        requests cause at most one read per ``max_age_s``; concurrent callers share one read."""
        async with self._lock:
            if self._attempted_at is not None and self._clock() - self._attempted_at <= max_age_s:
                return
            await self._refresh_locked(timeout_s)

    async def ensure_loaded(self, timeout_s: float = FETCH_TIMEOUT_S) -> None:
        """One read if none was tried yet (a replica that just started); later ones are the loop's."""
        if self._snapshot is None:
            await self.refresh_if_older_than(float("inf"), timeout_s)

    async def _refresh_locked(self, timeout_s: float) -> bool:
        self._attempted_at = self._clock()
        try:
            details = await asyncio.wait_for(self._fetch(), timeout_s)
            self._snapshot = merge_snapshot(self._snapshot, details, self._clock())
        except Exception as err:  # noqa: BLE001 - any failure: keep serving from the last cache
            self._failures += 1
            # Log the first failure and then every 60th, not once a second forever.
            if self._failures == 1 or self._failures % 60 == 0:
                logger.warning("status refresh failed (%d in a row): %r", self._failures, err)
            return False
        self._failures = 0
        return True

    async def run_forever(self, interval_s: float) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(interval_s)
