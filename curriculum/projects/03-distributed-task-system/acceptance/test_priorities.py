"""Priorities: a customer waiting at the counter overtakes the overnight archive scans.

With every worker stopped, three low-priority documents (priority 1) are submitted through
the Python API, `docpipe.submit()`, and then two high-priority ones (priority 8). One worker
then starts with one pool process and a prefetch multiplier of 1, so it holds one message at a
time and the broker's order is the order of work. On a RabbitMQ queue declared with
x-max-priority, the four high-priority pages run before any low-priority page, although they
were published last. On a queue without it (or with priority sent nowhere) they run in
publication order.
"""

from typing import Any

from support import NAMESPACE, ApiServer, Cluster, attempts_of, document


def test_high_priority_pages_start_before_low_priority_ones(
    cluster: Cluster, api: ApiServer
) -> None:
    import docpipe

    cluster.stop_all()
    low = [
        docpipe.submit(document(f"Archive scan {index}", 2, seed=400 + index, priority=1))
        for index in range(3)
    ]
    high = [
        docpipe.submit(document(f"Customer waiting {index}", 2, seed=410 + index, priority=8))
        for index in range(2)
    ]
    assert all(isinstance(job_id, str) for job_id in low + high), (
        "docpipe.submit(document) returns the new job's id as a string"
    )
    cluster.ensure(["solo"], concurrency=1)
    states = cluster.wait_for_jobs(low + high, timeout=30)
    assert set(states.values()) == {"succeeded"}, f"every job succeeds: {states}"
    firsts: dict[tuple[str, int], Any] = {}
    for attempt in attempts_of(low + high):
        firsts.setdefault((attempt["job_id"], attempt["page"]), attempt["started_at"])
    order = [
        f"{'HIGH' if job_id in high else 'low '} job {job_id[:8]} page {page}"
        for (job_id, page), _ in sorted(firsts.items(), key=lambda item: item[1])
    ]
    assert len(order) == 10, f"10 pages ran: {order}"
    assert all(line.startswith("HIGH") for line in order[:4]), (
        f"the 4 high-priority pages run first, although they were queued last. Declare "
        f"{NAMESPACE}.pages with x-max-priority (kombu: Queue(..., max_priority=9)) and send "
        "each page task with the job's priority. Order observed:\n    " + "\n    ".join(order)
    )
