"""Demo data: one user per role and sample instances in several states.

Samples are walked through the engine like real work (start, then complete
the first steps as the users of the right roles), so the worklist, the
instance pages and the history all show something on a fresh install.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import definitions, runtime, users
from engine.errors import EngineError
from engine.models import HumanTask, Instance, TaskStatus

DEMO_ATTRIBUTES = {"pm": {"categories": "家电,数码"}}

REFUND = {"buyer": "淘宝买家", "amount": "199.00", "shipping_fee": "10.00", "free_shipping": False,
          "goods_received": True, "quality_issue": False, "days_since_signed": 3, "reason": "尺码不合适"}
# (process id, start data, [(element id, data), ...] steps to complete after starting)
SAMPLES: list[tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]]]] = [
    ("refund", {**REFUND, "order_no": "DEMO-R-1001"}, []),
    ("refund", {**REFUND, "order_no": "DEMO-R-1002"},
     [("Task_aftersales_offer_exchange", {"real_reason": "尺码偏小", "exchange_instead": False})]),
    ("refund", {**REFUND, "order_no": "DEMO-R-1003", "goods_received": False, "reason": "未收到货"},
     [("Task_supervisor_approve_refund_only", {"approved": True, "approval_comment": "同意"}),
      ("Task_finance_refund", {"payment_ref": "ALIPAY-20261102-01"})]),
    ("goods_receiving", {"po_no": "DEMO-PO-2001", "supplier": "杭州织造厂", "delivery_method": "物流",
                         "settlement_method": "月结",
                         "lines": [{"sku": "T-100", "name": "纯棉T恤", "colour": "白", "size": "M", "qty": 50,
                                    "unit_price": "25.00"}]}, []),
    ("order_dispatch", {"order_no": "DEMO-D-3001", "buyer": "李女士", "address": "上海市浦东新区世纪大道100号",
                        "phone": "13800000000", "buyer_notes": "请尽快发货",
                        "lines": [{"sku": "T-100", "qty": 2, "size": "M"}]}, []),
    ("contract_negotiation", {"inquiry_no": "DEMO-I-4001", "purchaser": "purchaser", "supplier": "supplier",
                              "goods": [{"sku": "T-100", "qty": 1000}], "notes": "需要样品"}, []),
    ("pm_onboarding", {"merchant": "DEMO-M-5001", "company": "深圳小米粒科技有限公司", "brand": "米粒",
                       "category": "数码", "contact": "王经理 13900000000"}, []),
]


def create_users(session: Session) -> list[tuple[str, str, list[str]]]:
    """One user per role, named after it, password ``<role>-demo``; existing users are kept."""
    created = []
    for role in users.ROLES:
        password = f"{role}-demo"
        if users.find_user(session, role) is None:
            users.add_user(session, role, password, [role], DEMO_ATTRIBUTES.get(role))
        created.append((role, password, [role]))
    session.commit()
    return created


def create_sample_instances(session: Session) -> int:
    """Start the samples once (nothing is added when instances exist); returns how many started."""
    if session.scalar(select(func.count()).select_from(Instance)):
        return 0
    admin = users.get_user(session, "admin")
    started = 0
    for process_id, data, steps in SAMPLES:
        if definitions.find_definition(session, process_id) is None:
            continue
        try:
            instance = runtime.start_instance(session, process_id, data, admin)
            for element_id, values in steps:
                complete_as_role(session, instance.id, element_id, values)
            started += 1
        except EngineError:
            session.rollback()  # a sample that no longer fits its model is skipped, not fatal
    return started


def complete_as_role(session: Session, instance_id: int, element_id: str, values: dict) -> None:
    task = session.scalar(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                  HumanTask.element_id == element_id,
                                                  HumanTask.status == TaskStatus.OPEN))
    if task is None:
        return
    actor = users.get_user(session, task.assignee or task.role)
    runtime.complete_task(session, task.id, values, actor)
