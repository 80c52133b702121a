"""Deployment handles keyed by (app, deployment), kept across reconfigures.

Creating a handle is costly (each one starts a metrics pusher and a long-poll on the controller),
and a reconfigure happens on every model change, so a handle whose target did not change is
reused rather than rebuilt.
"""
from typing import Any, Callable, Dict, Iterable

from argus_serve.routing_table import Target

HandleFactory = Callable[[Target], Any]


def serve_handle_factory(target: Target) -> Any:
    from ray import serve

    # _check_exists=False: the control plane creates the model app in the same PUT that brings
    # this user_config, so the deployment may not exist yet; the default check raises then.
    return serve.get_deployment_handle(
        target.deployment_name, app_name=target.app_name, _check_exists=False
    )


class HandlePool:
    def __init__(self, factory: HandleFactory = serve_handle_factory) -> None:
        self._factory = factory
        self._plain: Dict[Target, Any] = {}
        self._streaming: Dict[Target, Any] = {}

    def sync(self, targets: Iterable[Target]) -> None:
        """Keeps the handles of ``targets`` (creating missing ones) and drops all others."""
        wanted = list(dict.fromkeys(targets))
        plain = {t: self._plain[t] if t in self._plain else self._factory(t) for t in wanted}
        self._streaming = {t: h for t, h in self._streaming.items() if t in plain}
        self._plain = plain

    def plain(self, target: Target) -> Any:
        return self._plain[target]

    def streaming(self, target: Target) -> Any:
        """``.options(stream=True)`` of the target's handle, cached (options() builds a handle)."""
        handle = self._streaming.get(target)
        if handle is None:
            if target not in self._plain:
                self._plain[target] = self._factory(target)
            handle = self._plain[target].options(stream=True)
            self._streaming[target] = handle
        return handle
