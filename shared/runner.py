"""The stage runner: the whole failure policy of the Celery hops, in this one file.

A stage declares what it consumes and what it does (``Stage``: task name, message model,
handler ``(deps, message) -> Outcome | None``, stage name for its ``RetryPolicy`` and
counters). The runner owns everything else, for every message:

=============================  =========================================================
what happened                  what the runner does
=============================  =========================================================
delivered                      delivery count +1 in Redis (key: the Celery task id)
count above ``MAX_DELIVERIES``  dead letter ``poison``: its earlier deliveries ended with
                               the process killed or the hard time limit, not an outcome
message fails its model        dead letter ``bad_message``
handler returned               its ``Outcome`` recorded (log event + counter)
``HostBusy``                   our own host slot: delayed to the booked slot, ``waits``+1
                               (and the booking travels with it); over ``max_waits``: dead
                               letter ``retries_exhausted``
``RetryableError``             delayed by backoff (or the site's Retry-After), ``attempt``
                               +1; over ``max_attempts``: dead letter ``retries_exhausted``
``PermanentError``             skipped with its reason (final)
``DeadLetter``                 dead letter with its reason
Redis / broker error           the message comes back: ``Reject(requeue=True)`` (or, if
                               the broker cannot even take that, it stays unacknowledged
                               and returns after the visibility timeout). Never deleted.
soft time limit                comes back likewise, and its delivery still counts (poison)
any other exception            dead letter ``internal_error`` (a bug: replay after the fix)
=============================  =========================================================

A final outcome (done, skipped, dead letter; not a delay) also calls the stage's
``on_final`` hook, e.g. to settle the URL's seen-set entry. Every handled end clears the
delivery count. Delays go through ``shared.delay`` (never a
Celery countdown), dead letters through ``shared.deadletters``, outcomes through
``shared.outcomes``. Whatever the handler sent on before a broker error is sent again on
the next delivery: at least once, made idempotent by the stages themselves.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, TypeVar

import redis
import structlog
from celery import Celery, Task
from celery.exceptions import Reject, SoftTimeLimitExceeded
from kombu.exceptions import OperationalError
from pydantic import BaseModel, ValidationError

from shared.deps import Deps, process_deps
from shared.errors import DeadLetter, HostBusy, PermanentError, PipelineError, Reason, RetryableError
from shared.logging import truncate
from shared.messages import Booking
from shared.outcomes import OutcomeTally
from shared.retry import RetryPolicy, delay_seconds

log = structlog.get_logger(__name__)

# Our own store or the broker is away: nothing can be recorded, so the message must return.
BROKER_ERRORS: tuple[type[Exception], ...] = (redis.RedisError, OperationalError)
# A delivery count outlives any message that still sits in a queue.
DELIVERY_TTL_SECONDS = 7 * 86400
# Message fields bound to the log context when a message has them.
_CONTEXT_FIELDS = ("url", "source_id", "doc_id", "kind")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Outcome:
    """What a handler did, recorded as one log event and one counter ``stage:outcome``."""

    event: str
    outcome: str
    reason: Reason | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage(Generic[M]):
    task: str  # Celery task name (shared.messages.TaskName)
    message: type[M]  # the pydantic model its kwargs must satisfy
    handler: Callable[[Deps, M], Outcome | None]
    stage: str  # counter prefix and RetryPolicy name: "crawl" or "extract"
    noun: str  # event prefix: "listing" -> listing_retry, listing_dead_lettered, ...
    skipped: str = "skipped"  # outcome name of a PermanentError
    # Called once a message has its final outcome (done, skipped or dead-lettered, never
    # for a delay) with its kwargs and that Outcome (the handler's own, or the runner's with
    # ``detail``/``error`` in its fields): e.g. the worker settles the URL's seen-set entry.
    # Runs before the acknowledgement; a Redis error requeues the message.
    on_final: Callable[[Deps, Mapping[str, Any], Outcome], None] | None = None


class Verdict(StrEnum):
    DONE = "done"  # acknowledge: the message ended in a recorded outcome
    REQUEUE = "requeue"  # must come back: hand it to the broker again


def execute(stage: Stage[Any], deps: Deps, kwargs: dict[str, Any], *, delivery_id: str | None) -> Verdict:
    """Run one message through ``stage`` (in a Celery task, or in-process in a test)."""
    tally = OutcomeTally(deps.redis, deps.keys, stage.stage)
    with structlog.contextvars.bound_contextvars(task_name=stage.task, task_id=delivery_id):
        try:
            deliveries = _start_delivery(deps, delivery_id)
            _run(stage, deps, kwargs, deliveries, tally)
        except BROKER_ERRORS as exc:
            log.warning("message_requeued", reason="broker_error", error=truncate(exc, 300))
            _undo_delivery(deps, delivery_id)  # best effort: an outage is not poison
            tally.flush()
            return Verdict.REQUEUE
        except SoftTimeLimitExceeded:
            log.error("message_requeued", reason="soft_time_limit")
            tally.flush()
            return Verdict.REQUEUE  # the delivery stays counted: a page that hangs is poison
        # Counters and the end of the delivery count in one round trip, both best effort:
        # the outcome itself is already recorded (a stale count expires).
        tally.flush(forget=deps.keys.deliveries(delivery_id) if delivery_id is not None else None)
        return Verdict.DONE


def _run(stage: Stage[Any], deps: Deps, kwargs: dict[str, Any], deliveries: int, tally: OutcomeTally) -> None:
    policy = RetryPolicy.for_stage(deps.settings, stage.stage)
    if deliveries > deps.settings.max_deliveries:
        error = f"{deliveries - 1} deliveries ended without an outcome (process killed or hard time limit)"
        _dead_letter(stage, deps, tally, kwargs, Reason.POISON, error, attempts=deliveries - 1)
        return
    try:
        message = stage.message.model_validate(kwargs)
    except ValidationError as exc:
        _dead_letter(stage, deps, tally, kwargs, Reason.BAD_MESSAGE, exc, attempts=0)
        return
    context = {k: kwargs[k] for k in _CONTEXT_FIELDS if isinstance(kwargs.get(k), str)}
    with structlog.contextvars.bound_contextvars(**context):
        try:
            outcome = stage.handler(deps, message)
        except HostBusy as exc:
            _wait(stage, deps, tally, policy, message, exc)
        except RetryableError as exc:
            _retry(stage, deps, tally, policy, message, exc)
        except PermanentError as exc:
            detail = {"detail": truncate(exc.detail, 300)}
            skipped = Outcome(f"{stage.noun}_{stage.skipped}", stage.skipped, exc.reason, detail)
            _final(stage, deps, tally, kwargs, skipped)
        except DeadLetter as exc:
            _dead_letter(stage, deps, tally, _dump(message), exc.reason, exc, attempts=message.attempt + 1)
        except (*BROKER_ERRORS, SoftTimeLimitExceeded):
            raise
        except Exception as exc:  # a bug or an input nobody foresaw: keep it for replay
            log.exception(f"{stage.noun}_crashed")
            _dead_letter(
                stage, deps, tally, _dump(message), Reason.INTERNAL_ERROR, exc, attempts=message.attempt + 1
            )
        else:
            _final(stage, deps, tally, kwargs, outcome)


def _wait(
    stage: Stage[Any], deps: Deps, tally: OutcomeTally, policy: RetryPolicy, message: Any, exc: HostBusy
) -> None:
    if message.waits >= policy.max_waits:
        _dead_letter(
            stage, deps, tally, _dump(message), Reason.RETRIES_EXHAUSTED, exc, attempts=message.attempt + 1
        )
        return
    booking = Booking(host=exc.host, at=time.time() + exc.wait, url=exc.resume) if exc.booked else None
    again = message.model_copy(update={"waits": message.waits + 1, "booking": booking})
    deps.delay.schedule_in(stage.task, _dump(again), exc.wait)
    tally.record(
        f"{stage.noun}_waiting",
        outcome="wait",
        reason=Reason.HOST_BUSY,
        host=exc.host,
        waits=again.waits,
        delay=round(exc.wait, 3),
        booked=exc.booked,
    )


def _retry(
    stage: Stage[Any], deps: Deps, tally: OutcomeTally, policy: RetryPolicy, message: Any, exc: RetryableError
) -> None:
    if message.attempt >= policy.max_attempts:
        _dead_letter(
            stage, deps, tally, _dump(message), Reason.RETRIES_EXHAUSTED, exc, attempts=message.attempt + 1
        )
        return
    wait = delay_seconds(policy, exc, message.attempt, random.random())
    again = message.model_copy(update={"attempt": message.attempt + 1, "booking": None})
    deps.delay.schedule_in(stage.task, _dump(again), wait)
    tally.record(
        f"{stage.noun}_retry",
        outcome="retry",
        reason=exc.reason,
        attempt=again.attempt,
        delay=round(wait, 2),
        error=truncate(exc.detail, 300),
    )


def _dead_letter(
    stage: Stage[Any],
    deps: Deps,
    tally: OutcomeTally,
    kwargs: Mapping[str, Any],
    reason: Reason,
    error: object,
    *,
    attempts: int,
) -> None:
    if isinstance(error, Exception) and not isinstance(error, PipelineError):
        error = f"{type(error).__name__}: {error}"
    entry = deps.dead_letters.add(
        task=stage.task, kwargs=kwargs, reason=reason, error=error, attempts=attempts
    )
    fields = {"dead_letter": entry, "attempts": attempts, "error": truncate(error, 300)}
    _final(stage, deps, tally, kwargs, Outcome(f"{stage.noun}_dead_lettered", "dead_letter", reason, fields))


def _final(
    stage: Stage[Any], deps: Deps, tally: OutcomeTally, kwargs: Mapping[str, Any], outcome: Outcome | None
) -> None:
    """A final outcome: the stage's hook, then its log event and counter (a handler that
    returned None recorded its own outcomes)."""
    if stage.on_final is not None:
        stage.on_final(deps, kwargs, outcome or Outcome(f"{stage.noun}_done", "done"))
    if outcome is not None:
        tally.record(outcome.event, outcome=outcome.outcome, reason=outcome.reason, **outcome.fields)


def _dump(message: BaseModel) -> dict[str, Any]:
    return message.model_dump(mode="json")


# --- delivery counting: a message that kills its process is bounded -----------------------


def _start_delivery(deps: Deps, delivery_id: str | None) -> int:
    if delivery_id is None:
        return 1
    key = deps.keys.deliveries(delivery_id)
    pipe = deps.redis.pipeline(transaction=False)
    pipe.incr(key)
    pipe.expire(key, DELIVERY_TTL_SECONDS)
    count, _ = pipe.execute()
    return int(count)


def _undo_delivery(deps: Deps, delivery_id: str | None) -> None:
    if delivery_id is None:
        return
    with contextlib.suppress(redis.RedisError):  # Redis is what failed: this delivery then counts
        deps.redis.decr(deps.keys.deliveries(delivery_id))


# --- the Celery shell ---------------------------------------------------------------------


def register(app: Celery, stage: Stage[Any]) -> Task:
    """The Celery task for ``stage``: this process's Deps, then :func:`execute`.

    Nothing escapes but ``Reject(requeue=True)``: with ``task_acks_on_failure_or_timeout``
    off (so a hard time limit requeues), any other escaping exception would make kombu
    delete the message.
    """

    @app.task(name=stage.task, bind=True, acks_late=True, ignore_result=True)
    def run(self: Task, **kwargs: Any) -> str:
        try:
            deps = process_deps(app)
            verdict = execute(stage, deps, kwargs, delivery_id=self.request.id)
        except Exception as exc:  # cannot even build clients: try again later
            log.error("message_requeued", reason="runner_failed", error=truncate(exc, 300))
            raise Reject(reason=str(exc)[:200], requeue=True) from exc
        if verdict is Verdict.REQUEUE:
            raise Reject(reason="requeue", requeue=True)
        return str(verdict)

    return run
