"""The stock ledger (库存台账) and its connectors: receiving adds, dispatch takes, stocktake adjusts.

The ledger is one append-only table, ``stock_movements``: one signed row per SKU per booking.
The balance of a SKU is the sum of its rows. It lives here, beside the connectors that write it,
and not in the engine core: the engine only knows it as a module of ``engine.connectors``.

Connectors (service tasks name them with ``spiffworkflow:serviceTaskOperator id="..."``):

``stock.receive``  inputs ``lines`` [{sku, qty}], ``reference`` (e.g. the ``po_no``).
    Adds the quantities (reason ``receipt``). Returns ``{"booked": units, "movements": rows,
    "balances": {sku: balance after}}``; ``booked`` is the number of units booked.
``stock.ship``     inputs ``lines`` [{sku, qty}], ``reference`` (e.g. the ``order_no``).
    Takes the quantities (reason ``shipment``, rows with negative ``qty``). **Refuses** (raises,
    nothing written) when a SKU's balance would go below zero: the ledger then disagrees with the
    shelf (a receipt not booked yet, a miscount), which 账物组 must clear up before the goods leave
    the books. The service task fails, the engine retries it (30 s, 5 min) and then opens an
    incident; once the stock is booked (receipt or stocktake) a supervisor retries it. Returns
    ``{"booked": units, "movements": rows, "balances": {sku: balance after}}``.
``stock.adjust``   inputs ``counts`` [{sku, counted_qty}], ``reference`` (the ``stocktake_no``).
    Books, per counted SKU, the difference counted − balance (reason ``stocktake``). Returns
    ``{"differences": [{sku, expected, counted, difference}], "counted": n}``; ``differences``
    lists only the SKUs whose count differed from the books. A row is written for every counted
    SKU, a zero row when the count agreed, so the ledger shows which SKUs a stocktake confirmed.
    SKUs that were not counted are not touched.
``stock.count_sheet``  no inputs. The stocktake sheet (B2C016 生成盘点表): ``{"lines": [{sku, book_qty}],
    "skus": [sku]}`` for every SKU the ledger knows, by SKU.

Rules common to the three bookings:

* Lines of the same SKU are added up (a SKU counted at two locations, an order with the SKU twice).
* Quantities are whole numbers ≥ 0 (``1``, ``"2"``, ``3.0`` are accepted); lines of quantity 0
  book nothing (receive/ship). Anything else is refused before anything is written.
* **Idempotent**: a booking is identified by (instance id, reference, reason). If the ledger already
  holds rows for it (the engine retried the service task after the rows were written), nothing is
  written again and the result of the first booking is returned. A process that really books twice
  in one instance gives each booking its own reference. The unique constraint
  (instance_id, reason, reference, sku) backs this in the database.
* On PostgreSQL a transaction-scoped advisory lock per SKU serializes ``ship`` and ``adjust`` of the
  same SKU across instances, so two shipments cannot both pass the balance check; SQLite
  serializes all writers already.

Tests and tools without a running instance call ``receive_lines``/``ship_lines``/``adjust_counts``
with a session (``instance_id`` None: no idempotency key, every call books).
"""
from __future__ import annotations

import os

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable, Optional

from sqlalchemy import CheckConstraint, DateTime, Integer, String, UniqueConstraint, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine import clock
from engine.connectors.registry import connector
from engine.models import Base

MAX_QTY = 10_000_000
ALLOW_NEGATIVE = os.environ.get("LIUCHENG_STOCK_ALLOW_NEGATIVE", "1") != "0"


class StockMovement(Base):
    """One signed change of one SKU's stock (receipt +, shipment −, stocktake ±/0)."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        UniqueConstraint("instance_id", "reason", "reference", "sku", name="uq_stock_movements_booking"),
        CheckConstraint("reason IN ('receipt', 'shipment', 'stocktake')", name="ck_stock_movements_reason"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), index=True)
    qty: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(16))
    process_id: Mapped[Optional[str]] = mapped_column(String(128), nullable=True)
    instance_id: Mapped[Optional[int]] = mapped_column(Integer, nullable=True, index=True)
    reference: Mapped[str] = mapped_column(String(128), default="")
    at: Mapped[datetime] = mapped_column(DateTime)


class StockError(ValueError):
    """A booking the ledger refuses; the message says what to correct."""


# -- reading -------------------------------------------------------------------------------

def balance(session: Session, sku: str) -> int:
    """The current stock of ``sku`` (0 for a SKU never booked)."""
    value = session.scalar(select(func.coalesce(func.sum(StockMovement.qty), 0)).where(StockMovement.sku == sku))
    return int(value or 0)


def balances(session: Session, skus: Optional[Iterable[str]] = None) -> dict[str, int]:
    """Current stock per SKU: every SKU the ledger knows, or only ``skus`` (unknown ones are 0)."""
    query = select(StockMovement.sku, func.sum(StockMovement.qty)).group_by(StockMovement.sku)
    wanted = None
    if skus is not None:
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        query = query.where(StockMovement.sku.in_(wanted))
    found = {sku: int(total or 0) for sku, total in session.execute(query)}
    if wanted is not None:
        return {sku: found.get(sku, 0) for sku in wanted}
    return dict(sorted(found.items()))


def movements(session: Session, sku: Optional[str] = None, instance_id: Optional[int] = None) -> list[StockMovement]:
    """Ledger rows in booking order, optionally of one SKU or one instance."""
    query = select(StockMovement).order_by(StockMovement.id)
    if sku is not None:
        query = query.where(StockMovement.sku == sku)
    if instance_id is not None:
        query = query.where(StockMovement.instance_id == instance_id)
    return list(session.scalars(query))


# -- checking inputs ---------------------------------------------------------------------------

def _quantity(value: Any, where: str) -> int:
    if isinstance(value, bool) or value is None:
        raise StockError(f"{where}: the quantity must be a whole number, not {value!r}.")
    try:
        number = Decimal(str(value).strip())
    except Exception:
        raise StockError(f"{where}: the quantity must be a whole number, not {value!r}.") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise StockError(f"{where}: the quantity must be a whole number, not {value!r}.")
    if number < 0 or number > MAX_QTY:
        raise StockError(f"{where}: the quantity must be between 0 and {MAX_QTY}, not {value!r}.")
    return int(number)


def _sku(value: Any, where: str) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise StockError(f"{where}: every line needs a SKU (货号).")
    sku = str(value).strip()
    if len(sku) > 64:
        raise StockError(f"{where}: SKU {sku[:20]!r}... is longer than 64 characters.")
    return sku


def _totals(lines: Any, qty_key: str, what: str) -> dict[str, int]:
    """{sku: total quantity} of a list of line objects; refuses anything malformed."""
    if not isinstance(lines, (list, tuple)):
        raise StockError(f"'{what}' must be a list of lines like {{\"sku\": \"A1\", \"{qty_key}\": 3}}.")
    totals: dict[str, int] = {}
    for number, line in enumerate(lines, start=1):
        where = f"{what} line {number}"
        if not isinstance(line, dict):
            raise StockError(f"{where}: expected an object with 'sku' and '{qty_key}'.")
        if qty_key not in line:
            raise StockError(f"{where}: '{qty_key}' is missing.")
        sku = _sku(line.get("sku"), where)
        totals[sku] = totals.get(sku, 0) + _quantity(line.get(qty_key), where)
    return totals


def _reference(value: Any) -> str:
    if value is None or not str(value).strip():
        raise StockError("A booking needs a reference (the po_no, order_no or stocktake_no).")
    reference = str(value).strip()
    if len(reference) > 128:
        raise StockError("The reference is longer than 128 characters.")
    return reference


# -- writing ------------------------------------------------------------------------------------

def _earlier(session: Session, instance_id: Optional[int], reference: str, reason: str) -> list[StockMovement]:
    if instance_id is None:
        return []
    return list(session.scalars(select(StockMovement).where(
        StockMovement.instance_id == instance_id, StockMovement.reference == reference,
        StockMovement.reason == reason).order_by(StockMovement.id)))


def _lock_skus(session: Session, skus: Iterable[str]) -> None:
    """PostgreSQL: hold a transaction advisory lock per SKU (sorted, so no deadlock)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for sku in sorted(set(skus)):
        key = int.from_bytes(hashlib.sha1(f"stock:{sku}".encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _add(session: Session, rows: list[tuple[str, int]], reason: str, reference: str,
         instance_id: Optional[int], process_id: Optional[str], at: Optional[datetime]) -> None:
    when = at or clock.now()
    session.add_all(StockMovement(sku=sku, qty=qty, reason=reason, reference=reference, instance_id=instance_id,
                                  process_id=process_id, at=when) for sku, qty in rows)
    session.flush()


def _booked(session: Session, rows: list[StockMovement], sign: int) -> dict[str, Any]:
    skus = [r.sku for r in rows]
    return {"booked": sum(sign * r.qty for r in rows), "movements": len(rows),
            "balances": balances(session, skus)}


def receive_lines(session: Session, lines: Any, reference: Any, instance_id: Optional[int] = None,
                  process_id: Optional[str] = None, at: Optional[datetime] = None) -> dict[str, Any]:
    """Book a receipt: add each line's quantity to its SKU."""
    totals = _totals(lines, "qty", "lines")
    reference = _reference(reference)
    earlier = _earlier(session, instance_id, reference, "receipt")
    if earlier:
        return {**_booked(session, earlier, 1), "repeated": True}
    rows = [(sku, qty) for sku, qty in totals.items() if qty > 0]
    _add(session, rows, "receipt", reference, instance_id, process_id, at)
    return {"booked": sum(q for _, q in rows), "movements": len(rows),
            "balances": balances(session, [s for s, _ in rows])}


def ship_lines(session: Session, lines: Any, reference: Any, instance_id: Optional[int] = None,
               process_id: Optional[str] = None, at: Optional[datetime] = None) -> dict[str, Any]:
    """Book a shipment: take each line's quantity.

    Goods that were scanned, packed and handed to the courier have left, so by default the
    shipment is booked even when the books say there were not enough (the balance goes negative
    and ``shortfalls`` says where: the next stocktake corrects it). With
    ``LIUCHENG_STOCK_ALLOW_NEGATIVE=0`` such a shipment is refused instead and the step retried.
    """
    totals = _totals(lines, "qty", "lines")
    reference = _reference(reference)
    earlier = _earlier(session, instance_id, reference, "shipment")
    if earlier:
        return {**_booked(session, earlier, -1), "repeated": True}
    rows = [(sku, qty) for sku, qty in totals.items() if qty > 0]
    _lock_skus(session, [s for s, _ in rows])
    current = balances(session, [s for s, _ in rows])
    short = [f"{sku}: in stock {current[sku]}, to ship {qty}" for sku, qty in rows if current[sku] < qty]
    if short and not ALLOW_NEGATIVE:
        raise StockError("Not enough stock on the books to ship " + reference + " (" + "; ".join(short) +
                         "). Book the missing receipt or correct the stock by a stocktake, then retry.")
    _add(session, [(sku, -qty) for sku, qty in rows], "shipment", reference, instance_id, process_id, at)
    return {"booked": sum(q for _, q in rows), "movements": len(rows),
            "balances": balances(session, [s for s, _ in rows]), **({"shortfalls": short} if short else {})}


def _differences_of(session: Session, rows: list[StockMovement]) -> list[dict[str, Any]]:
    """Rebuild {sku, expected, counted, difference} of stocktake rows already booked."""
    found = []
    for row in rows:
        before = session.scalar(select(func.coalesce(func.sum(StockMovement.qty), 0)).where(
            StockMovement.sku == row.sku, StockMovement.id < row.id))
        expected = int(before or 0)
        found.append({"sku": row.sku, "expected": expected, "counted": expected + row.qty, "difference": row.qty})
    return found


def _adjust_result(entries: list[dict[str, Any]]) -> dict[str, Any]:
    entries = sorted(entries, key=lambda e: e["sku"])
    return {"differences": [e for e in entries if e["difference"] != 0], "counted": len(entries)}


def adjust_counts(session: Session, counts: Any, reference: Any, instance_id: Optional[int] = None,
                  process_id: Optional[str] = None, at: Optional[datetime] = None) -> dict[str, Any]:
    """Book a stocktake: per counted SKU, the difference counted − balance."""
    totals = _totals(counts, "counted_qty", "counts")
    reference = _reference(reference)
    earlier = _earlier(session, instance_id, reference, "stocktake")
    if earlier:
        return {**_adjust_result(_differences_of(session, earlier)), "repeated": True}
    if not totals:
        return _adjust_result([])
    _lock_skus(session, totals)
    current = balances(session, totals)
    entries = [{"sku": sku, "expected": current[sku], "counted": counted, "difference": counted - current[sku]}
               for sku, counted in totals.items()]
    _add(session, [(e["sku"], e["difference"]) for e in entries], "stocktake", reference, instance_id,
         process_id, at)
    return _adjust_result(entries)


# -- connectors -----------------------------------------------------------------------------------

def _session_of(context) -> Session:
    session = getattr(context, "session", None)
    if session is None:
        raise StockError("The stock ledger needs the database session of the running command; "
                         "this service task ran without one.")
    return session


@connector("stock.receive", inputs={"lines": "list", "reference": "str"}, outputs=["booked", "movements", "balances"],
           description="Adds received quantities to stock (reason receipt); idempotent per instance+reference.")
def receive(context, lines=None, reference=None):
    return receive_lines(_session_of(context), lines, reference, context.instance_id, context.process_id,
                         context.now)


@connector("stock.ship", inputs={"lines": "list", "reference": "str"}, outputs=["booked", "movements", "balances"],
           description="Takes shipped quantities from stock (reason shipment); refuses to go below zero; "
                       "idempotent per instance+reference.")
def ship(context, lines=None, reference=None):
    return ship_lines(_session_of(context), lines, reference, context.instance_id, context.process_id, context.now)


@connector("stock.adjust", inputs={"counts": "list", "reference": "str"}, outputs=["differences", "counted"],
           description="Books stocktake differences (counted − balance) per counted SKU; idempotent per "
                       "instance+reference.")
def adjust(context, counts=None, reference=None):
    return adjust_counts(_session_of(context), counts, reference, context.instance_id, context.process_id,
                         context.now)


@connector("stock.count_sheet", inputs={}, outputs=["lines", "skus"],
           description="The stocktake sheet (生成盘点表): every SKU on the books with its balance.")
def count_sheet(context):
    current = balances(_session_of(context))
    return {"lines": [{"sku": sku, "book_qty": qty} for sku, qty in current.items()],
            "skus": list(current)}
