"""Catalogue search: turn a typed query object into one SQL WHERE clause."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Computed, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

CENT = Decimal("0.01")


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "s5_5_ex_products"
    sku: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str | None] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(40))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    discount_pct: Mapped[int] = mapped_column(default=0)
    stock: Mapped[int | None]  # NULL: the warehouse has not reported a count
    attrs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    search: Mapped[str] = mapped_column(
        TSVECTOR, Computed("to_tsvector('english', name || ' ' || description)", persisted=True)
    )

    @hybrid_property
    def effective_price(self) -> Decimal:
        """The price after the discount, rounded half up to whole cents."""
        # TODO: compute price * (100 - discount_pct) / 100 and round it to CENT the way
        #       PostgreSQL's round(numeric, 2) does, so Python and SQL always agree.
        raise NotImplementedError

    # TODO: give effective_price a SQL side with @effective_price.inplace.expression
    #       on a classmethod that returns the same calculation as a ColumnElement.


@dataclass(frozen=True)
class CatalogQuery:
    """What the storefront's search form sends; every field is optional."""

    text: str | None = None  # substring of the name, any case; % and _ are literal
    categories: Sequence[str] | None = None  # None: any category; []: nothing matches
    min_price: Decimal | None = None  # inclusive, on the effective price
    max_price: Decimal | None = None  # inclusive, on the effective price
    exclude_brand: str | None = None  # products without a brand stay in the results
    attributes: Mapping[str, Any] | None = None  # e.g. {"color": "black"}, nested allowed
    in_stock: bool | None = None  # True: stock > 0; False: zero, negative or unknown
    words: str | None = None  # web-search syntax over name and description


def build_filter(query: CatalogQuery) -> ColumnElement[bool]:
    """One boolean SQL expression that holds exactly for the products the query asks for.

    A query with no criteria matches every product. Each criterion that is set narrows the
    result (they combine with AND). Nothing may be filtered in Python.
    """
    # TODO: collect one condition per criterion that is set, then combine them.
    raise NotImplementedError


def search_products(session: Session, query: CatalogQuery) -> list[str]:
    """The SKUs matching `query`, in SKU order, fetched with a single SELECT."""
    # TODO: select Product.sku where build_filter(query), ordered by sku.
    raise NotImplementedError
