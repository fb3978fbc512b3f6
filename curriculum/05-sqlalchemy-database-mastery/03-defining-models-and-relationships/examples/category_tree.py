"""Self-referential models: a category tree (adjacency list) and "see also" links."""

import os
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Table, create_engine, event, literal, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column, relationship

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


# Both columns point at the same table, so the ORM cannot guess which side is which.
see_also = Table(
    "s5_3_tree_see_also",
    Base.metadata,
    Column("from_id", ForeignKey("s5_3_tree_categories.id", ondelete="CASCADE"), primary_key=True),
    Column("to_id", ForeignKey("s5_3_tree_categories.id", ondelete="CASCADE"), primary_key=True),
)


class Category(Base):
    __tablename__ = "s5_3_tree_categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("s5_3_tree_categories.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    # remote_side names the column on the *parent* row: this side is many-to-one.
    parent: Mapped["Category | None"] = relationship(back_populates="children", remote_side=[id])
    children: Mapped[list["Category"]] = relationship(
        back_populates="parent", cascade="all, delete-orphan", passive_deletes=True, order_by=name
    )
    related: Mapped[list["Category"]] = relationship(
        secondary=see_also,
        primaryjoin=id == see_also.c.from_id,
        secondaryjoin=id == see_also.c.to_id,
        passive_deletes=True,
    )


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.count += 1


def print_tree(node: Category, depth: int = 0) -> None:
    print(f"   {'  ' * depth}{node.name}")
    for child in node.children:  # each unloaded .children is one SELECT
        print_tree(child, depth + 1)


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    counter = QueryCounter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        with Session(engine) as session:
            kitchen = Category(name="Kitchen")
            cookware = Category(name="Cookware", parent=kitchen)
            kettles = Category(name="Kettles", parent=cookware)
            Category(name="Pans", parent=cookware)
            tableware = Category(name="Tableware", parent=kitchen)
            Category(name="Mugs", parent=tableware)
            kettles.related.append(tableware)
            session.add(kitchen)  # the whole tree follows through save-update cascade
            session.commit()

        with Session(engine) as session:
            counter.count = 0
            root = session.scalars(select(Category).where(Category.parent_id.is_(None))).one()
            print("1. walking the tree with lazy loads")
            print_tree(root)
            print(f"   statements: {counter.count} for 6 categories")

            print("2. the same subtree with one recursive CTE")
            counter.count = 0
            tree = (
                select(Category.id, Category.name, literal(0).label("depth"))
                .where(Category.id == root.id)
                .cte("tree", recursive=True)
            )
            child = aliased(Category)
            tree = tree.union_all(
                select(child.id, child.name, tree.c.depth + 1).join(
                    tree, child.parent_id == tree.c.id
                )
            )
            for name, depth in session.execute(
                select(tree.c.name, tree.c.depth).order_by(tree.c.depth, tree.c.name)
            ):
                print(f"   depth {depth}: {name}")
            print(f"   statements: {counter.count}")

            kettles = session.scalars(select(Category).where(Category.name == "Kettles")).one()
            print("3. see-also is directional:", [c.name for c in kettles.related])

            root_id = root.id

        with Session(engine) as session:
            print("4. delete the root from a fresh session; ON DELETE CASCADE removes the subtree")
            counter.count = 0
            session.delete(session.get_one(Category, root_id))
            session.commit()
            print(f"   statements: {counter.count}")
            left = session.scalars(select(Category.name)).all()
            print(f"   categories left: {left}")
    finally:
        event.remove(engine, "before_cursor_execute", counter)
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
