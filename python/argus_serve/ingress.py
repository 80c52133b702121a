"""ArgusIngress: Ray's own OpenAI ingress, fed by user_config and gated by model status.

One ingress app (route_prefix "/") sits in front of one Serve app per model. Ray's
``OpenAiIngress`` keeps its routes, request parsing, streaming and error plumbing; this subclass
only
  * rebuilds the model set from ``user_config`` in ``reconfigure`` (no replica restart),
  * answers 404/503 itself, in OpenAI error JSON, for unknown, starting or failed models instead
    of letting the request wait silently in Serve's queue (up to 600 s),
  * bounds that wait for requests already forwarded (the model fails or goes away meanwhile),
  * answers 503 ``engine_unavailable`` with Retry-After when a replica's engine answers with a
    server error (a dead engine, until Serve's health check replaces the replica),
  * routes a probe carrying ``x-argus-revision-app`` to a candidate revision's app.

Private Ray members used here are pinned by python/tests/test_ray_private_members.py.
"""
import asyncio
import logging
import time
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import (
    Annotated, Any, AsyncGenerator, Awaitable, Callable, Dict, Mapping, Optional, Tuple, Union,
)

from fastapi import Form, Request
from ray.llm._internal.common.utils.lora_utils import get_base_model_id
from ray.llm._internal.serve.core.configs.openai_api_models import (
    ChatCompletionRequest,
    CompletionRequest,
    DetokenizeRequest,
    EmbeddingRequest,
    ErrorResponse,
    ModelCard,
    ScoreRequest,
    TokenizeCompletionRequest,
    TranscriptionRequest,
)
from ray.llm._internal.serve.utils.server_utils import replace_prefix
from ray.serve.llm.ingress import OpenAiIngress
from starlette.responses import Response

from argus_serve import openai_errors as errors
from argus_serve.gate import Decision, Verdict, check_waiting, decide
from argus_serve.handles import HandleFactory, HandlePool, serve_handle_factory
from argus_serve.routing_table import (
    ModelRoute, RoutingConfigError, RoutingTable, Target, parse_routing_table,
)
from argus_serve.status_cache import Fetcher, StatusCache, controller_fetcher

logger = logging.getLogger("ray.serve.argus_serve")

# Header with which the control plane sends a probe to one revision app of a model.
REVISION_HEADER = "x-argus-revision-app"
# A request about to be refused re-reads the status if the cache is older than this: the cache
# lags the controller by up to status_interval_s, and a model that just turned RUNNING (the
# control plane probes it right then) must not be refused from a stale view.
FRESH_FOR_REFUSAL_S = 0.25
# A request never waits longer than this for a status read of its own.
REQUEST_REFRESH_TIMEOUT_S = 1.0
# How often a forwarded request still waiting for its first item re-checks the status cache.
WATCH_INTERVAL_S = 0.5


@dataclass(frozen=True)
class ResolvedRoute:
    model_id: str
    target: Target
    probe_app: Optional[str]  # the revision app named by the header, if any


# The route admitted by the gate, read further down Ray's call chain (_get_response and
# _get_configured_serve_handle run in the same task as the route method): the request goes to
# exactly the deployment whose status was checked, even if a reconfigure lands in between.
_ADMITTED: ContextVar[Optional[ResolvedRoute]] = ContextVar("argus_admitted_route", default=None)


def _model_card(route: ModelRoute) -> ModelCard:
    # Shaped like Ray's to_model_metadata() so /v1/models looks as with build_openai_app.
    metadata: Dict[str, Any] = {"model_id": route.model_id, "input_modality": "text"}
    if route.max_model_len is not None:
        metadata["max_request_context_length"] = route.max_model_len
    return ModelCard(
        id=route.model_id, object="model", owned_by="organization-owner", permission=[],
        metadata=metadata,
    )


def _model_of(body: Any) -> Optional[str]:
    # vLLM's request models make "model" optional; the test shim's require it.
    model = getattr(body, "model", None)
    return model if isinstance(model, str) and model else None


async def _next_item(generator: AsyncGenerator[Any, None]) -> Any:
    return await generator.__anext__()


class ArgusIngress(OpenAiIngress):
    def __init__(
        self,
        status_interval_s: float = 1.0,
        *,
        _status_fetcher: Optional[Fetcher] = None,
        _handle_factory: Optional[HandleFactory] = None,
    ) -> None:
        # No models at construction: the model set arrives only through user_config, so a model
        # change never changes the deployment's init args (which would restart the ingress).
        super().__init__({}, {})
        self._table = RoutingTable()
        self._config_error: Optional[str] = None
        self._handles = HandlePool(_handle_factory or serve_handle_factory)
        self._status = StatusCache(_status_fetcher or controller_fetcher())
        self._status_interval_s = float(status_interval_s)
        self._status_task: Optional["asyncio.Task[None]"] = None
        self._ensure_status_task()

    # ----- model set ------------------------------------------------------------------------

    async def reconfigure(self, user_config: Dict[str, Any]) -> None:
        """Serve calls this on start and on every user_config change, without a restart."""
        self._ensure_status_task()
        try:
            table = parse_routing_table(user_config)
        except RoutingConfigError as err:
            # Raising would fail the replica and take every model down for one bad write; keep
            # serving the last good table and show the error on GET /argus/routes instead (the
            # control plane sees its version was not taken).
            self._config_error = str(err)
            logger.error("user_config rejected, keeping version %r: %s", self._table.version, err)
            return
        self._apply(table)

    def _apply(self, table: RoutingTable) -> None:
        # No await in here: a request sees either the old model set or the new one, never a mix.
        old = self._table
        self._handles.sync(table.all_targets())
        for cached_id in list(self._configured_serve_handles):
            # Ray caches a configured handle per requested id (LoRA ids included); drop those
            # whose model went away or now routes to another app.
            base_id = get_base_model_id(cached_id)
            before, after = old.models.get(base_id), table.models.get(base_id)
            if before is None or after is None or before.routed != after.routed:
                del self._configured_serve_handles[cached_id]
        self._default_serve_handles = {m: self._handles.plain(r.routed) for m, r in table.models.items()}
        self._model_cards = {m: _model_card(r) for m, r in table.models.items()}
        self._table = table
        self._config_error = "; ".join(table.problems) or None
        if table.problems:
            logger.error("user_config %r: models left out: %s", table.version, self._config_error)
        logger.info("routing table version %r: %d models", table.version, len(table.models))

    async def routes(self) -> Dict[str, Any]:
        """GET /argus/routes: which app serves each model, and the user_config version applied."""
        view = self._table.routes_view()
        if self._config_error is not None:
            view["config_error"] = self._config_error
        return view

    # ----- status ---------------------------------------------------------------------------

    def _ensure_status_task(self) -> None:
        if self._status_task is not None and not self._status_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # constructed outside a loop (unit tests): started by the first async call
        self._status_task = loop.create_task(self._status.run_forever(self._status_interval_s))

    # ----- gate -----------------------------------------------------------------------------

    def _resolve(self, model: Optional[str], headers: Mapping[str, str]) -> ResolvedRoute:
        table = self._table
        if model is None:
            if len(table.models) != 1:
                raise errors.ArgusHTTPError(
                    400, "BadRequestError", "model_required",
                    "The request names no model; GET /v1/models lists the models served here.",
                )
            model = next(iter(table.models))
        route = table.models.get(get_base_model_id(model))
        if route is None:
            raise errors.model_not_found(model)
        probe_app = headers.get(REVISION_HEADER) or None
        if probe_app is None:
            return ResolvedRoute(route.model_id, route.routed, None)
        target = route.target_for_app(probe_app)
        if target is None:
            known = [t.app_name for t in route.targets()]
            raise errors.revision_not_found(route.model_id, probe_app, known)
        return ResolvedRoute(route.model_id, target, probe_app)

    def _rejection(self, decision: Decision, route: ResolvedRoute) -> errors.ArgusHTTPError:
        if decision.verdict is Verdict.FAILED:
            return errors.model_failed(
                route.model_id, decision.detail, decision.ray_message, route.probe_app
            )
        return errors.model_starting(
            route.model_id, decision.detail, decision.ray_message, route.probe_app
        )

    async def _admit(self, model: Optional[str], request: Optional[Request]) -> ResolvedRoute:
        """The route to forward to, or raises the ArgusHTTPError to answer instead."""
        route = self._resolve(model, request.headers if request is not None else {})
        self._ensure_status_task()
        await self._status.ensure_loaded(REQUEST_REFRESH_TIMEOUT_S)  # a just-started replica
        if not self._status.loaded:
            raise errors.model_starting(
                route.model_id, "Serve's status is not readable yet", "", route.probe_app
            )
        decision = decide(self._status.lookup(route.target))
        if decision.verdict is not Verdict.SERVE:
            await self._status.refresh_if_older_than(FRESH_FOR_REFUSAL_S, REQUEST_REFRESH_TIMEOUT_S)
            decision = decide(self._status.lookup(route.target))
        if decision.verdict is not Verdict.SERVE:
            raise self._rejection(decision, route)
        return route

    async def _gated(
        self, model: Optional[str], request: Optional[Request], call: Callable[[], Awaitable[Response]]
    ) -> Response:
        try:
            route = await self._admit(model, request)
            token = _ADMITTED.set(route)
            try:
                return await call()
            finally:
                _ADMITTED.reset(token)
        except errors.ArgusHTTPError as err:
            # Returned, not raised: Ray's exception middleware would rewrite type and code. Ray's
            # messages name node paths; users see the logical ones.
            return err.rewritten(self._table.user_facing).response()

    # ----- bounded wait for the first response item -----------------------------------------

    def _watch(
        self, route: ResolvedRoute, unready_since: Optional[float]
    ) -> Tuple[Optional[errors.ArgusHTTPError], Optional[float]]:
        """One look at a waiting request: (the answer to cut it with or None, unready since)."""
        table = self._table
        if route.model_id not in table.models:
            return errors.model_removed(route.model_id, route.probe_app), unready_since
        # A model switched to another app meanwhile keeps being watched on the app it was sent
        # to: if that one still serves, the request completes there.
        check = check_waiting(
            self._status.lookup(route.target), unready_since, time.monotonic(), table.max_wait_unready_s
        )
        if check.cut is not None:
            return self._rejection(check.cut, route), check.unready_since
        return None, check.unready_since

    async def _first_item(self, upstream: AsyncGenerator[Any, None], route: ResolvedRoute) -> Any:
        token = _ADMITTED.set(route)  # the task below copies the context, and with it the route
        try:
            task = asyncio.ensure_future(_next_item(upstream))
        finally:
            _ADMITTED.reset(token)
        unready_since: Optional[float] = None
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=WATCH_INTERVAL_S)
                if task in done:
                    return task.result()  # StopAsyncIteration and upstream errors pass through
                cut, unready_since = self._watch(route, unready_since)
                if cut is not None:
                    logger.warning("cutting a request waiting for %s: %s", route.target, cut.message)
                    raise cut
        finally:
            if not task.done():
                task.cancel()  # cancels the queued request in Serve's router too
                await asyncio.wait({task}, timeout=1.0)

    async def _get_response(
        self,
        *,
        body: Union[
            CompletionRequest, ChatCompletionRequest, EmbeddingRequest, TranscriptionRequest, ScoreRequest
        ],
        call_method: str,
        raw_request: Optional[Request] = None,
    ) -> AsyncGenerator[Any, None]:
        route = _ADMITTED.get()
        if route is None:  # reached by a Ray code path that is not one of our gated routes
            route = await self._admit(_model_of(body), raw_request)
        upstream = super()._get_response(body=body, call_method=call_method, raw_request=raw_request)
        try:
            try:
                first = await self._first_item(upstream, route)
            except StopAsyncIteration:
                return
            except errors.ArgusHTTPError:
                raise
            except Exception as err:  # the replica died under the request
                raise errors.engine_unavailable(route.model_id, f"{type(err).__name__}: {err}", route.probe_app) from err
            # A dead vLLM engine answers every request with a generic 500 until Serve's health
            # check replaces the replica; say what is happening and when to retry instead.
            chunk = first[0] if isinstance(first, list) and first else first
            if isinstance(chunk, ErrorResponse) and chunk.error.code >= 500:
                raise errors.engine_unavailable(route.model_id, chunk.error.message, route.probe_app)
            yield first
            async for item in upstream:
                yield item
        finally:
            try:
                await upstream.aclose()
            except RuntimeError:  # still running: its cancelled first-item task did not finish
                logger.warning("upstream response generator for %s did not stop in time", route.target)

    def _get_configured_serve_handle(self, model_id: str) -> Any:
        route = _ADMITTED.get()
        if route is not None and model_id == route.model_id:
            return self._handles.streaming(route.target)
        return super()._get_configured_serve_handle(model_id)

    # ----- routes: Ray's, each gated first (same signatures as OpenAiIngress) ----------------

    async def model_data(self, model: str) -> Union[ModelCard, Response]:
        if model in self._model_cards:
            # Looked up as given first: Ray's replace_prefix would turn a "--" in an id into "/".
            return self._model_cards[model]
        if replace_prefix(model) not in self._model_cards:
            return errors.model_not_found(model).response()
        return await super().model_data(model)

    async def completions(self, body: CompletionRequest, request: Request) -> Response:
        return await self._gated(_model_of(body), request, partial(super().completions, body, request))

    async def chat(self, body: ChatCompletionRequest, request: Request) -> Response:
        return await self._gated(_model_of(body), request, partial(super().chat, body, request))

    async def embeddings(self, body: EmbeddingRequest, request: Request) -> Response:
        return await self._gated(_model_of(body), request, partial(super().embeddings, body, request))

    async def transcriptions(
        self, body: Annotated[TranscriptionRequest, Form()], request: Request
    ) -> Response:
        call = partial(super().transcriptions, body, request)
        return await self._gated(_model_of(body), request, call)

    async def score(self, body: ScoreRequest, request: Request) -> Response:
        return await self._gated(_model_of(body), request, partial(super().score, body, request))

    async def tokenize(self, body: TokenizeCompletionRequest, request: Request) -> Response:
        return await self._gated(_model_of(body), request, partial(super().tokenize, body, request))

    async def detokenize(self, body: DetokenizeRequest, request: Request) -> Response:
        return await self._gated(_model_of(body), request, partial(super().detokenize, body, request))
