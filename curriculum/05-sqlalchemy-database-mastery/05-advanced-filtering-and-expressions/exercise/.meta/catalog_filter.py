"""Catalogue search: turn a typed query object into one SQL WHERE clause (reference solution)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import Computed, Numeric, String, Text, and_, false, func, select, true
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
        exact = self.price * (100 - self.discount_pct) / 100
        return exact.quantize(CENT, rounding=ROUND_HALF_UP)

    @effective_price.inplace.expression
    @classmethod
    def _effective_price_expression(cls) -> ColumnElement[Decimal]:
        return func.round(cls.price * (100 - cls.discount_pct) / 100, 2)


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
    """One boolean SQL expression that holds exactly for the products the query asks for."""
    conditions: list[ColumnElement[bool]] = []
    if query.text:
        conditions.append(Product.name.icontains(query.text, autoescape=True))
    if query.categories is not None:
        if query.categories:
            conditions.append(Product.category.in_(list(query.categories)))
        else:
            conditions.append(false())
    if query.min_price is not None:
        conditions.append(Product.effective_price >= query.min_price)
    if query.max_price is not None:
        conditions.append(Product.effective_price <= query.max_price)
    if query.exclude_brand is not None:
        conditions.append(Product.brand.is_distinct_from(query.exclude_brand))
    if query.attributes:
        conditions.append(Product.attrs.contains(dict(query.attributes)))
    if query.in_stock is True:
        conditions.append(Product.stock > 0)
    elif query.in_stock is False:
        conditions.append((Product.stock <= 0) | Product.stock.is_(None))
    if query.words:
        tsquery = func.websearch_to_tsquery("english", query.words)
        conditions.append(Product.search.bool_op("@@")(tsquery))
    return and_(true(), *conditions)


def search_products(session: Session, query: CatalogQuery) -> list[str]:
    """The SKUs matching `query`, in SKU order, fetched with a single SELECT."""
    stmt = select(Product.sku).where(build_filter(query)).order_by(Product.sku)
    return list(session.scalars(stmt))
