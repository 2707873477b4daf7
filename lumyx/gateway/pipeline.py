"""The request path of one call, stage by stage:

    resolve → admit → send on a route → shape the answer → meter → settle

:func:`resolve` finds the model (the views call it before the call exists);
:func:`serve` admits the call (billing holds or counts it), sends it on the
first route that answers (:mod:`.routing`, with the translation of
:mod:`.formats`; the client's fallback models after its model:
:mod:`lumyx.routing.fallbacks`) and shapes the answer for the client — a body,
or for a stream an iterator of the client's events (:mod:`.streams`); :func:`finish`,
once the client has the answer or has gone, meters the call
(:mod:`.meter`), settles it (:mod:`lumyx.billing.settlement`) and logs it,
exactly once, and records its tokens and cost in the server's metrics
(lumyx.observability.metrics).

After the first event of a stream, a failure ends the stream with an error
event and the call is partial: billed for what was delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from lumyx.accounts.keys import KeyContext
from lumyx.accounts.keys import touch as touch_key
from lumyx.billing import admission, arithmetic, settlement
from lumyx.catalog.snapshot import Catalog, ModelInfo
from lumyx.errors import DATABASE_DOWN, ApiError
from lumyx.gateway import answers, meter, routing, tokens
from lumyx.gateway import passthrough_responses as responses_relay
from lumyx.gateway.call import Call, Outcome
from lumyx.gateway.meter import Usage
from lumyx.gateway.passthrough_openai import without_reasoning
from lumyx.gateway.routing import Dispatch
from lumyx.gateway.streams import Shaper, WithoutReasoning
from lumyx.observability import metrics, tracing
from lumyx.providers.base import COUNT_TOKENS
from lumyx.providers.streaming import StreamBroken
from lumyx.routing import fallbacks

log = logging.getLogger("lumyx.gateway")


def resolve(catalog: Catalog, model_id, key: KeyContext) -> ModelInfo:
    """The catalog model ``model_id`` names: 404 when there is none, 403 when
    ``key`` is limited to other models."""
    model = catalog.get(model_id) if isinstance(model_id, str) else None
    if model is None:
        raise ApiError(
            404, "model_not_found", f"The model '{model_id}' does not exist or is not available.", param="model"
        )
    if not key.allows(model.id):
        raise ApiError(
            403,
            "forbidden",
            f"This API key may not use the model '{model.id}'; it is limited to: {', '.join(sorted(key.models))}.",
            param="model",
        )
    return model


def _refused(outcome: Outcome, error: ApiError) -> None:
    outcome.status, outcome.error_code = error.status, error.code


def serve(call: Call, free_daily_limit: int) -> dict | Iterator:
    """The client's answer: a response body, or an iterator of the client's events."""
    request, outcome = call.input, call.outcome
    call.trace = tracing.begin(call)
    if request.operation == COUNT_TOKENS:
        outcome.route, answer = routing.count_tokens(request)
        return answer
    key = request.key
    try:
        # Before any balance or key limit (no top-up would help): the models that may
        # serve, those with a provider key; the hold covers the dearest of them.
        models = fallbacks.candidates(request)
        priced = any(not model.is_free for model in models)
        prompt_tokens = tokens.input_bound(request.body) if priced else 0
        call.admission = admission.admit(
            request_id=request.request_id,
            user_id=key.user_id,
            key_id=key.key_id,
            key_limit=key.spend_limit,
            timezone=key.timezone,
            model=arithmetic.dearest(models, prompt_tokens, admission.asked_output(request.body)),
            body=request.body,
            prompt_tokens=prompt_tokens,
            free_daily_limit=free_daily_limit,
        )
    except ApiError as error:
        _refused(outcome, error)
        raise
    with tracing.current(call.trace):  # each attempt's span is a child of the call's
        served, sent = fallbacks.send(request, models, call.admission.output_cap)
    outcome.thinking_requested = sent.thinking
    if sent.error is not None:
        _refused(outcome, sent.error)
        raise sent.error
    if sent.fell_back or served.model is not request.model:
        metrics.fell_back(request.model.id)
    call.input = request = served  # a fallback model served: the answer, the row and the price are its
    model = request.model
    outcome.route = sent.route
    if not request.stream:
        answers.read_reply(call, sent.reply.body)
        body = sent.translation.response(request, call.meter, sent.reply.body)
        body = meter.stamp(call.meter, model, request.body, request.client_format, body, stream=False)
        body = answers.stamp_body(call, body)
        return without_reasoning(body) if request.exclude_reasoning else body
    shaper = sent.translation.stream(request, call.meter)
    shaper = answers.Stamped(call, WithoutReasoning(shaper) if request.exclude_reasoning else shaper)
    return _stream(call, sent, shaper)


def _stream(call: Call, sent: Dispatch, shaper: Shaper) -> Iterator:
    outcome, link, reply = call.outcome, call.link, sent.reply
    link.lend(reply.cancel)
    metrics.stream_opened()
    # The answer's final event is written to the client: a client that leaves from then
    # on (as Codex does on response.completed, before the upstream's stream has closed)
    # has the whole answer, and the call is not cut short.
    whole = False
    try:
        if sent.first is not None:
            yield from _priced(call, shaper.feed(sent.first))
            whole = shaper.ended
            for event in reply.events:
                yield from _priced(call, shaper.feed(event))
                whole = shaper.ended
        if not shaper.ended:
            raise StreamBroken("protocol", "upstream stream ended before its final event")
        yield from _priced(call, shaper.end())
    except StreamBroken as broken:
        if link.gone:  # we dropped the upstream because the client left
            if not whole:
                outcome.partial, outcome.status, outcome.error_code = True, 499, "client_closed"
            return
        outcome.partial, outcome.status, outcome.error_code = True, 502, "upstream_error"
        metrics.upstream_failed(sent.route.provider.id, broken.reason)
        yield from shaper.fail(ApiError(502, "upstream_error", f"The upstream stream failed: {broken.message}"))
    except GeneratorExit:
        if not whole:
            outcome.partial, outcome.status, outcome.error_code = True, 499, "client_closed"
        raise
    finally:
        metrics.stream_closed()
        link.lend(None)
        reply.close()


def _priced(call: Call, events: list) -> list:
    """The client's stream events, the final usage event with the answer's cost."""
    request = call.input
    for event in events:
        meter.stamp(call.meter, request.model, request.body, request.client_format, event, stream=True)
    return events


def finish(call: Call, keys) -> None:
    """Runs once per call, after the client has its answer: meter, settle, log."""
    outcome = call.outcome
    if outcome.finished:
        return
    outcome.finished = True
    outcome.usage = call.meter.usage
    if call.input.operation != COUNT_TOKENS:
        _settle(call)
        routing.finished(call)
    tracing.end(call, _answer_id)
    route = f"{outcome.route.provider.id}/{outcome.route.model}" if outcome.route else "-"
    fields = {
        "request_id": call.request_id,
        "operation": call.input.operation,
        "model": call.input.model.id,
        "route": route,
        "status": outcome.status,
        "latency_ms": call.latency_ms,
        "input_tokens": outcome.usage.input_tokens,
        "output_tokens": outcome.usage.output_tokens,
        "partial": outcome.partial,
    }
    # One line per call; as JSON (LUMYX_LOG_FORMAT=json) these fields are its keys.
    log.info(
        "%s %s %s via %s status=%s latency_ms=%d in=%d out=%d%s",
        fields["request_id"],
        fields["operation"],
        fields["model"],
        route,
        outcome.status,
        fields["latency_ms"],
        fields["input_tokens"],
        fields["output_tokens"],
        " partial" if outcome.partial else "",
        extra={"fields": fields},
    )
    key_id = call.input.key.key_id
    if keys.due_for_touch(key_id):
        try:
            touch_key(key_id)
        except DATABASE_DOWN:
            metrics.storage_error("database")
            log.error("could not record key use, the database is unreachable")
        except Exception:
            log.exception("could not record key use")


def _answer_id(request) -> str | None:
    """The id the client got for the call's answer (None: embeddings, token counts)."""
    if request.client_format == "responses":
        return responses_relay.response_id(request)
    return answers.answer_id(request)


def _settle(call: Call) -> None:
    request, outcome = call.input, call.outcome
    answered = outcome.route is not None
    try:
        usage, priced = meter.charge(
            call.meter, request.model, request.body, answered=answered, partial=outcome.partial
        )
        outcome.usage = usage
        metrics.call_used(request.model.id, usage, priced.total)
        settlement.settle(call.admission, _usage_row(call, usage), priced.total, answered=answered)
    except DATABASE_DOWN as exc:
        metrics.storage_error("database")
        log.error(
            "could not settle %s, the database is unreachable (%s); its hold is released by the janitor",
            call.request_id,
            type(exc).__name__,
        )
    except Exception:
        settlement.leave_to_janitor(call.request_id)
        log.exception("could not settle %s; its hold is released by the janitor", call.request_id)


def _usage_row(call: Call, usage: Usage) -> dict:
    """The call's usage row; what it cost is filled in by its settlement."""
    request, outcome = call.input, call.outcome
    return {
        "id": request.request_id,
        "user_id": request.key.user_id,
        "api_key_id": request.key.key_id,
        "model_id": request.model.id,
        "provider_id": outcome.route.provider.id if outcome.route else None,
        "operation": request.operation,
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cached_tokens": usage.cached_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "cache_write_1h_tokens": usage.cache_write_1h_tokens,
        "tokens_reported": usage.reported,
        "cost": 0,
        "unpaid": 0,
        "latency_ms": call.latency_ms,
        "status_code": outcome.status,
        "error_code": outcome.error_code,
        "stream": request.stream,
        "partial": outcome.partial,
        "thinking_used": outcome.thinking_requested or call.meter.thinking_seen,
        "created_at": request.received_at,
        "upstream_model": outcome.route.model[:200] if outcome.route else None,
        "upstream_id": outcome.upstream_id,
        "finish_reason": outcome.finish_reason,
        "native_finish_reason": outcome.native_finish_reason,
        "first_token_ms": outcome.first_event_ms,
    }
