"""A reliable Redis work queue for receipt jobs: reserve, acknowledge, recover, dead-letter.

Keys, for a queue named NAME:

    NAME:pending                 the queue: producers LPUSH, consumers take from the right
    NAME:processing:CONSUMER     jobs CONSUMER has reserved and not yet acknowledged
    NAME:deliveries              a hash: job id -> how many times the job was handed out
    NAME:dead                    jobs that used up their deliveries, kept for inspection

A message is the JSON text of {"id": "<hex id>", "payload": {...}}.
"""

import json
import uuid
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
        job_id = uuid.uuid4().hex
        self.client.lpush(self.pending, json.dumps({"id": job_id, "payload": payload}))
        return job_id

    def reserve(self, consumer: str, timeout: float = 0.1) -> Job | None:
        """Move the oldest pending job into the consumer's processing list and return it;
        None if no job arrives within `timeout` seconds."""
        target = self.processing(consumer)
        # redis-py annotates the timeout as int; Redis has accepted a fraction since 6.0.
        raw = self.client.blmove(self.pending, target, timeout, "RIGHT", "LEFT")  # type: ignore[arg-type]
        if raw is None:
            return None
        text = raw if isinstance(raw, str) else raw.decode()
        message = json.loads(text)
        deliveries = self.client.hincrby(self.deliveries, message["id"], 1)
        return Job(id=message["id"], payload=message["payload"], deliveries=deliveries, raw=text)

    def ack(self, consumer: str, job: Job) -> bool:
        """Forget a finished job. False if the consumer did not hold it (already acknowledged,
        or recovered by someone else)."""
        removed = self.client.lrem(self.processing(consumer), 1, job.raw)
        if removed:
            self.client.hdel(self.deliveries, job.id)
        return removed == 1

    def recover(self, consumer: str, max_deliveries: int = 3) -> dict[str, int]:
        """For a consumer known to be dead: put each job it held back at the front of the queue,
        or into the dead-letter list once it has been delivered max_deliveries times.
        Returns {"requeued": n, "dead_lettered": m}."""
        counts = {"requeued": 0, "dead_lettered": 0}
        source = self.processing(consumer)
        while (raw := self.client.lindex(source, -1)) is not None:
            job_id = json.loads(raw)["id"]
            delivered = int(self.client.hget(self.deliveries, job_id) or 0)
            if delivered >= max_deliveries:
                self.client.lmove(source, self.dead, "RIGHT", "LEFT")
                counts["dead_lettered"] += 1
            else:
                self.client.lmove(source, self.pending, "RIGHT", "RIGHT")
                counts["requeued"] += 1
        return counts

    def replay_dead(self) -> int:
        """Move every dead-lettered job back to the queue with a fresh delivery count."""
        replayed = 0
        while (raw := self.client.lmove(self.dead, self.pending, "RIGHT", "LEFT")) is not None:
            self.client.hdel(self.deliveries, json.loads(raw)["id"])
            replayed += 1
        return replayed

    def depth(self) -> dict[str, int]:
        """How many jobs wait in the queue and in the dead-letter list:
        {"pending": n, "dead": m}."""
        return {"pending": self.client.llen(self.pending), "dead": self.client.llen(self.dead)}
