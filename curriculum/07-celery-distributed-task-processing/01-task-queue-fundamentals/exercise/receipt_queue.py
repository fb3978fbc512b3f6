"""A reliable Redis work queue for receipt jobs: reserve, acknowledge, recover, dead-letter.

Keys, for a queue named NAME:

    NAME:pending                 the queue: producers LPUSH, consumers take from the right
    NAME:processing:CONSUMER     jobs CONSUMER has reserved and not yet acknowledged
    NAME:deliveries              a hash: job id -> how many times the job was handed out
    NAME:dead                    jobs that used up their deliveries, kept for inspection

A message is the JSON text of {"id": "<hex id>", "payload": {...}}.
"""

import json  # noqa: F401  (you will need these)
import uuid  # noqa: F401
from dataclasses import dataclass
from typing import Any

import redis


@dataclass(frozen=True)
class Job:
    id: str
    payload: dict[str, Any]
    deliveries: int  # times this job has been handed to a consumer, this time included
    raw: str  # the message exactly as stored in Redis: ack() needs it to find the job


class ReliableQueue:
    def __init__(self, client: redis.Redis, name: str) -> None:
        self.client = client
        self.name = name
        self.pending = f"{name}:pending"
        self.deliveries = f"{name}:deliveries"
        self.dead = f"{name}:dead"

    def processing(self, consumer: str) -> str:
        return f"{self.name}:processing:{consumer}"

    def enqueue(self, payload: dict[str, Any]) -> str:
        """Queue one job and return its id."""
        # TODO: a new uuid4().hex id; LPUSH the JSON of {"id": ..., "payload": ...} onto
        #       the pending list; return the id.
        raise NotImplementedError

    def reserve(self, consumer: str, timeout: float = 0.1) -> Job | None:
        """Move the oldest pending job into the consumer's processing list and return it;
        None if no job arrives within `timeout` seconds."""
        # TODO: BLMOVE from the right of pending to the left of this consumer's processing
        #       list, in one command, so that no moment exists when the job is in neither.
        #       Count the delivery in the deliveries hash (HINCRBY) and build a Job.
        raise NotImplementedError

    def ack(self, consumer: str, job: Job) -> bool:
        """Forget a finished job. False if the consumer did not hold it (already acknowledged,
        or recovered by someone else)."""
        # TODO: remove exactly this message (job.raw) from the consumer's processing list
        #       (LREM), forget its delivery count, and say whether anything was removed.
        raise NotImplementedError

    def recover(self, consumer: str, max_deliveries: int = 3) -> dict[str, int]:
        """For a consumer known to be dead: put each job it held back at the front of the queue,
        or into the dead-letter list once it has been delivered max_deliveries times.
        Returns {"requeued": n, "dead_lettered": m}."""
        # TODO: oldest first (the right end of the processing list): look at the job's
        #       delivery count and LMOVE it either to the right end of pending (so it is the
        #       next job reserved) or into the dead list. Return both counts.
        raise NotImplementedError

    def replay_dead(self) -> int:
        """Move every dead-lettered job back to the queue with a fresh delivery count."""
        # TODO: LMOVE each dead job back to pending and reset its delivery count.
        raise NotImplementedError

    def depth(self) -> dict[str, int]:
        """How many jobs wait in the queue and in the dead-letter list:
        {"pending": n, "dead": m}."""
        # TODO
        raise NotImplementedError
