import json
import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from receipt_queue import Job, ReliableQueue

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield connection
    connection.close()


@pytest.fixture
def queue(client: redis.Redis) -> Iterator[ReliableQueue]:
    name = f"s7_1_ex_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    yield ReliableQueue(client, name)
    stale = list(client.scan_iter(match=f"{name}:*"))
    if stale:
        client.delete(*stale)


def receipt(order_id: int) -> dict[str, object]:
    return {"order_id": order_id, "email": f"buyer{order_id}@example.com"}


def reserve_one(queue: ReliableQueue, consumer: str) -> Job:
    job = queue.reserve(consumer)
    assert job is not None, f"reserve({consumer!r}) returned None although a job was pending"
    return job


def test_enqueue_stores_plain_json_any_consumer_can_read(
    queue: ReliableQueue, client: redis.Redis
) -> None:
    job_id = queue.enqueue(receipt(1001))
    stored = client.lrange(f"{queue.name}:pending", 0, -1)
    assert len(stored) == 1, "enqueue must push exactly one message onto NAME:pending"
    assert json.loads(stored[0]) == {"id": job_id, "payload": receipt(1001)}, (
        'the message must be the JSON of {"id": ..., "payload": ...}, so that a consumer in '
        "any language can read it"
    )


def test_every_job_gets_its_own_id_even_with_equal_payloads(queue: ReliableQueue) -> None:
    ids = {queue.enqueue(receipt(1001)) for _ in range(3)}
    assert len(ids) == 3, "a retried request can enqueue the same payload twice: ids must differ"


def test_jobs_are_reserved_in_the_order_they_were_enqueued(queue: ReliableQueue) -> None:
    ids = [queue.enqueue(receipt(order_id)) for order_id in (1001, 1002, 1003)]
    reserved = [reserve_one(queue, "worker-1") for _ in ids]
    assert [job.id for job in reserved] == ids, "the queue must be first in, first out"
    assert reserved[0].payload == receipt(1001), "the payload must come back unchanged"
    assert reserved[0].deliveries == 1, "a job handed out for the first time has deliveries == 1"


def test_reserve_gives_up_after_its_timeout_on_an_empty_queue(queue: ReliableQueue) -> None:
    started = time.monotonic()
    assert queue.reserve("worker-1", timeout=0.2) is None, "an empty queue must give None"
    assert time.monotonic() - started < 3, "reserve must pass its timeout to BLMOVE, not block"


def test_a_reserved_job_is_held_in_the_consumers_processing_list(
    queue: ReliableQueue, client: redis.Redis
) -> None:
    queue.enqueue(receipt(1001))
    job = reserve_one(queue, "worker-1")
    assert queue.depth() == {"pending": 0, "dead": 0}, "a reserved job is no longer pending"
    assert client.lrange(queue.processing("worker-1"), 0, -1) == [job.raw], (
        "between reserve and ack the job must sit in NAME:processing:CONSUMER, or a crash "
        "would lose it"
    )


def test_ack_forgets_the_job_once_and_only_once(queue: ReliableQueue, client: redis.Redis) -> None:
    queue.enqueue(receipt(1001))
    job = reserve_one(queue, "worker-1")
    assert queue.ack("worker-1", job) is True, "acknowledging a held job must return True"
    assert client.llen(queue.processing("worker-1")) == 0, "ack must empty the processing list"
    assert queue.ack("worker-1", job) is False, "a second ack of the same job must return False"
    assert not client.hexists(f"{queue.name}:deliveries", job.id), (
        "ack must delete the job's delivery count, or NAME:deliveries grows forever"
    )


def test_ack_removes_only_the_job_it_was_given(queue: ReliableQueue, client: redis.Redis) -> None:
    queue.enqueue(receipt(1001))
    queue.enqueue(receipt(1001))
    first, second = reserve_one(queue, "worker-1"), reserve_one(queue, "worker-1")
    queue.ack("worker-1", first)
    assert client.lrange(queue.processing("worker-1"), 0, -1) == [second.raw], (
        "ack must remove exactly the acknowledged message (LREM with count 1 and job.raw)"
    )


def test_two_consumers_never_receive_the_same_job(queue: ReliableQueue) -> None:
    ids = {queue.enqueue(receipt(order_id)) for order_id in range(2001, 2041)}
    taken: dict[str, list[str]] = {"worker-1": [], "worker-2": []}

    def drain(consumer: str) -> None:
        while (job := queue.reserve(consumer, timeout=0.2)) is not None:
            taken[consumer].append(job.id)

    threads = [threading.Thread(target=drain, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(taken["worker-1"]) & set(taken["worker-2"]), "a job went to both consumers"
    assert set(taken["worker-1"]) | set(taken["worker-2"]) == ids, "some jobs were never handed out"


def test_recover_puts_a_dead_consumers_job_first_in_line(queue: ReliableQueue) -> None:
    crashed_on = queue.enqueue(receipt(1001))
    waiting = queue.enqueue(receipt(1002))
    reserve_one(queue, "worker-1")  # ... and worker-1 dies without acknowledging
    assert queue.recover("worker-1") == {"requeued": 1, "dead_lettered": 0}, (
        "a job delivered once, with the default max_deliveries=3, must be requeued"
    )
    again = reserve_one(queue, "worker-2")
    assert again.id == crashed_on, (
        f"the recovered job must be reserved next, before {waiting}: move it to the right end "
        "of pending, where consumers take from"
    )
    assert again.deliveries == 2, "the second delivery of a job must report deliveries == 2"


def test_recover_dead_letters_a_job_that_used_up_its_deliveries(queue: ReliableQueue) -> None:
    job_id = queue.enqueue(receipt(1001))
    reserve_one(queue, "worker-1")
    first = queue.recover("worker-1", max_deliveries=2)
    assert first == {"requeued": 1, "dead_lettered": 0}, "one delivery of two: requeue it"
    reserve_one(queue, "worker-2")
    result = queue.recover("worker-2", max_deliveries=2)
    assert result == {"requeued": 0, "dead_lettered": 1}, (
        "a job delivered max_deliveries times must go to NAME:dead instead of back to the queue"
    )
    assert queue.depth() == {"pending": 0, "dead": 1}, "depth() must count NAME:dead"
    dead = json.loads(queue.client.lindex(f"{queue.name}:dead", 0) or "{}")
    assert dead.get("id") == job_id, "NAME:dead must hold the original message, unchanged"


def test_recover_with_nothing_in_flight_changes_nothing(queue: ReliableQueue) -> None:
    queue.enqueue(receipt(1001))
    assert queue.recover("worker-9") == {"requeued": 0, "dead_lettered": 0}, (
        "recover() for a consumer that holds nothing must return zero counts"
    )
    assert queue.depth() == {"pending": 1, "dead": 0}, "recover() must not touch pending jobs"


def test_replay_dead_sends_jobs_back_with_a_fresh_delivery_count(queue: ReliableQueue) -> None:
    job_id = queue.enqueue(receipt(1001))
    reserve_one(queue, "worker-1")
    queue.recover("worker-1", max_deliveries=1)
    assert queue.replay_dead() == 1, "replay_dead must return how many jobs it moved"
    assert queue.depth() == {"pending": 1, "dead": 0}, "a replayed job is pending again"
    replayed = reserve_one(queue, "worker-2")
    assert (replayed.id, replayed.deliveries) == (job_id, 1), (
        "a replayed job starts counting deliveries again, or it would go straight back to dead"
    )
