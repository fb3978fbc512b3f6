"""What each inheritance strategy costs: ORM inserts, a polymorphic load and a newest-first page.

Uses the three mappings of inheritance_strategies.py, with 20,000 payments in each.
"""

import re
import statistics
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from inheritance_strategies import (
    POSTGRES_URL,
    ConcreteBank,
    ConcreteBase,
    ConcreteCard,
    ConcretePayment,
    JoinedBank,
    JoinedBase,
    JoinedCard,
    JoinedPayment,
    SingleBank,
    SingleBase,
    SingleCard,
    SinglePayment,
)
from sqlalchemy import Engine, Select, create_engine, event, select, text
from sqlalchemy.orm import DeclarativeBase, Session, configure_mappers, with_polymorphic

ROWS_PER_KIND = 10_000
LOAD_SQL = {
    "single table": [
        "INSERT INTO s5_11_single_payments (kind, invoice_number, amount, card_last4, iban)"
        " SELECT CASE WHEN n % 2 = 0 THEN 'card' ELSE 'bank' END, 'INV-' || n, n % 500,"
        " CASE WHEN n % 2 = 0 THEN lpad((n % 10000)::text, 4, '0') END,"
        " CASE WHEN n % 2 = 1 THEN 'DE' || lpad(n::text, 20, '0') END"
        " FROM generate_series(1, :total) AS n",
    ],
    "joined table": [
        "INSERT INTO s5_11_joined_payments (kind, invoice_number, amount)"
        " SELECT CASE WHEN n % 2 = 0 THEN 'card' ELSE 'bank' END, 'INV-' || n, n % 500"
        " FROM generate_series(1, :total) AS n",
        "INSERT INTO s5_11_joined_card_payments (id, card_last4)"
        " SELECT id, lpad((id % 10000)::text, 4, '0') FROM s5_11_joined_payments"
        " WHERE kind = 'card'",
        "INSERT INTO s5_11_joined_bank_payments (id, iban)"
        " SELECT id, 'DE' || lpad(id::text, 20, '0') FROM s5_11_joined_payments"
        " WHERE kind = 'bank'",
    ],
    "concrete table": [
        "INSERT INTO s5_11_concrete_card_payments (invoice_number, amount, card_last4)"
        " SELECT 'INV-' || n, n % 500, lpad((n % 10000)::text, 4, '0')"
        " FROM generate_series(1, :total / 2) AS n",
        "INSERT INTO s5_11_concrete_bank_payments (invoice_number, amount, iban)"
        " SELECT 'INV-' || n, n % 500, 'DE' || lpad(n::text, 20, '0')"
        " FROM generate_series(1, :total / 2) AS n",
    ],
}


def median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm the statement cache and the buffer cache
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.engine, self.count = engine, 0

    def _count(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> "StatementCounter":
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def flush_new(engine: Engine, card: Any, bank: Any, interleaved: bool) -> tuple[int, float]:
    """Flush 100 new payments (50 of each kind) through the ORM, then roll back."""

    def new_payment(i: int) -> Any:
        if i % 2 == 0:
            return card(invoice_number=f"NEW-{i}", amount=Decimal("1.00"), card_last4="0000")
        return bank(invoice_number=f"NEW-{i}", amount=Decimal("1.00"), iban="DE00")

    order = range(100) if interleaved else [*range(0, 100, 2), *range(1, 100, 2)]

    def flush_batch() -> None:
        with Session(engine) as session:
            session.add_all(new_payment(i) for i in order)
            session.flush()
            session.rollback()

    with StatementCounter(engine) as counter:
        flush_batch()
    return counter.count, median_ms(flush_batch, repeat=5)


def explain(engine: Engine, session: Session, query: Select[Any], options: str) -> list[str]:
    sql = query.compile(engine, compile_kwargs={"literal_binds": True})
    return [line for (line,) in session.execute(text(f"EXPLAIN ({options}) {sql}"))]


def pages_touched(engine: Engine, session: Session, query: Select[Any]) -> int:
    """Shared buffer pages the query hit or read: the top node of EXPLAIN (ANALYZE, BUFFERS)."""
    options = "ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF"
    buffers = next(line for line in explain(engine, session, query, options) if "Buffers:" in line)
    return sum(int(pages) for pages in re.findall(r"(?:hit|read)=(\d+)", buffers))


def measure(engine: Engine, name: str, base: type[DeclarativeBase], classes: Any) -> None:
    payment, card, bank = classes
    with engine.begin() as conn:
        for statement in LOAD_SQL[name]:
            conn.execute(text(statement), {"total": 2 * ROWS_PER_KIND})
        for table in base.metadata.sorted_tables:
            conn.execute(text(f"ANALYZE {table.name}"))
    entity = payment if payment is ConcretePayment else with_polymorphic(payment, "*")
    newest = select(entity).order_by(entity.id.desc())
    # Reads first, while the tables hold only the 20,000 loaded rows: the flushes below roll
    # back, but leave dead index entries at the newest end of every table.
    with Session(engine) as session:
        pages = [pages_touched(engine, session, newest.limit(n)) for n in (2000, 50)]
        plan = explain(engine, session, newest.limit(50), "COSTS OFF")
        objects = median_ms(lambda: session.scalars(newest.limit(2000)).all(), repeat=5)
        session.expunge_all()
        page = median_ms(lambda: session.execute(newest.limit(50)).all(), repeat=15)
    print(f"== {name} ==")
    for interleaved in (True, False):
        statements, elapsed = flush_new(engine, card, bank, interleaved)
        label = "card, bank, card, ..." if interleaved else "50 cards, then 50 banks"
        print(f"   flush 100 new ({label:23}): {statements:3} INSERTs {elapsed:6.1f} ms")
    print(f"   newest 2,000 as objects: {objects:6.1f} ms, newest 50 rows: {page:5.2f} ms")
    print(f"   buffer pages touched: {pages[0]:,} for the newest 2,000, {pages[1]} for the 50")
    print("   plan of the newest 50:")
    for line in plan:
        print(f"     {line}")


def main() -> None:
    configure_mappers()  # AbstractConcreteBase maps ConcretePayment only at this point
    engine = create_engine(POSTGRES_URL)
    strategies = [
        ("single table", SingleBase, (SinglePayment, SingleCard, SingleBank)),
        ("joined table", JoinedBase, (JoinedPayment, JoinedCard, JoinedBank)),
        ("concrete table", ConcreteBase, (ConcretePayment, ConcreteCard, ConcreteBank)),
    ]
    for _, base, _ in strategies:
        base.metadata.drop_all(engine)
        base.metadata.create_all(engine)
    try:
        for name, base, classes in strategies:
            measure(engine, name, base, classes)
    finally:
        for _, base, _ in strategies:
            base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
