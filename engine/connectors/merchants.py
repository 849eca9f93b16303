"""Connectors of merchant onboarding (PM 商户服务经理, process ``pm_onboarding``).

``pm.propose``  proposes the PM of a merchant's category with the fewest active merchants.
``pm.check``    checks the assignment sp_dispatch made before the PM is bound to the merchant.

Definitions used here (also written in processes/pm_onboarding.bpmn):

* A **PM** is an active user with the role ``pm``; the categories they serve are the user
  attribute ``categories``, a comma-separated list (``"家电,数码"``; the Chinese comma ``，``,
  ``、`` and ``;`` are accepted too; blanks around names are ignored; names compare exactly).
* A PM's **active merchants** are the ``pm_onboarding`` instances with status ``running`` or
  ``completed`` whose data has ``pm`` = that user **and** ``pm_assigned`` = true, i.e. where
  sp_dispatch has confirmed the assignment. The prefilled ``pm`` of an instance still waiting for
  sp_dispatch is only a proposal and does not count; cancelled and failed instances do not count.
  Completed instances count because the PM keeps looking after an onboarded merchant
  (第四篇 PM詳細工作內容 5、6: 商户资料维护, 解决销售过程中的问题).
* Ties (same number of active merchants) go to the username that sorts first.
* No PM serves the category → the proposal is the empty string and sp_dispatch chooses.
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Optional

from sqlalchemy import select

from engine.connectors.registry import connector
from engine.models import Instance, InstanceStatus
from engine.users import find_user, users_with_role

PROCESS_ID = "pm_onboarding"
ACTIVE_STATUSES = (InstanceStatus.RUNNING, InstanceStatus.COMPLETED)
PM_ROLE = "pm"
CATEGORY_SEPARATORS = re.compile(r"[,，、;；]")

# The six 上岗资格 of 000 第四篇 三、PM上崗資格要求: the choice values of the assignment form, and their
# Chinese labels there (forms/pm_onboarding_assign.json), which the problems name.
QUALIFICATION_LABELS = {
    "platform_backend": "对运营平台后台管理非常熟悉",
    "brand_operations": "对产品品牌运营非常熟悉",
    "category_brands": "对类目中的品牌非常熟悉",
    "data_analysis": "拥有数据分析能力，对品牌发展有较好的把控力",
    "communication": "拥有较好的上传下达沟通能力",
    "issue_reporting": "对问题的汇总呈报能力",
}
QUALIFICATIONS = tuple(QUALIFICATION_LABELS)


def categories_of(user) -> list[str]:
    """The categories a PM serves, from the ``categories`` attribute."""
    raw = user.attribute("categories") or ""
    return [c.strip() for c in CATEGORY_SEPARATORS.split(raw) if c.strip()]


def active_merchant_counts(session, usernames: Iterable[str]) -> dict[str, int]:
    """Active merchants (see the module docstring) of each of ``usernames``."""
    counts = {name: 0 for name in usernames}
    if not counts or session is None:
        return counts
    rows = session.execute(select(Instance.data).where(Instance.process_id == PROCESS_ID,
                                                       Instance.status.in_(ACTIVE_STATUSES)))
    for (data,) in rows:
        data = data or {}
        pm = data.get("pm")
        if data.get("pm_assigned") is True and pm in counts:
            counts[pm] += 1
    return counts


def pms_of_category(session, category: str) -> list:
    wanted = (category or "").strip()
    if not wanted or session is None:
        return []
    return [u for u in users_with_role(session, PM_ROLE) if wanted in categories_of(u)]


def propose_pm(session, category: str) -> str:
    candidates = pms_of_category(session, category)
    if not candidates:
        return ""
    counts = active_merchant_counts(session, [u.username for u in candidates])
    return min(candidates, key=lambda u: (counts[u.username], u.username)).username


@connector("pm.propose", inputs={"category": "str"}, outputs=["pm_proposed"],
           description="The PM (username) of the category with the fewest active merchants (running or "
                       "completed pm_onboarding instances with the assignment confirmed); ties by username; "
                       "'' when no PM serves the category.")
def propose(context, category: str = "") -> str:
    return propose_pm(getattr(context, "session", None), category)


def assignment_problems(session, pm: Optional[str], category: str, pm_proposed: str,
                        qualifications_checked: Any, assignment_note: Optional[str]) -> list[str]:
    """What is wrong with sp_dispatch's assignment (empty list: nothing)."""
    problems: list[str] = []
    username = (pm or "").strip()
    user = find_user(session, username) if username and session is not None else None
    if user is None or not user.active:
        problems.append(f"用户“{username}”不存在或已停用 (user '{username}' does not exist or is inactive).")
    elif PM_ROLE not in user.roles:
        problems.append(f"用户“{username}”不是 PM (user '{username}' does not have the role pm).")
    checked = set(qualifications_checked or [])
    unknown = sorted(str(q) for q in checked if q not in QUALIFICATIONS)
    if unknown:
        problems.append("未知的上岗资格: " + ", ".join(unknown) + " (use " + ", ".join(QUALIFICATIONS) + ").")
    missing = [q for q in QUALIFICATIONS if q not in checked]
    if missing:
        problems.append("未核对全部六项上岗资格，缺：" + "、".join(f"“{QUALIFICATION_LABELS[q]}”" for q in missing)
                        + " (all six 上岗资格 must be checked: " + ", ".join(missing) + ").")
    if pm_proposed and username != pm_proposed and not (assignment_note or "").strip():
        problems.append(f"改派（系统推荐 {pm_proposed}）须填写原因 (give the reason for overriding the proposal).")
    return problems


@connector("pm.check", inputs={"pm": "str", "category": "str", "pm_proposed": "str",
                               "qualifications_checked": "list", "assignment_note": "str"},
           outputs=["assignment_problems"],
           description="Checks sp_dispatch's PM assignment: the user exists, is active and has the role pm; all "
                       "six 上岗资格 are checked (and no unknown value); an override of the proposal has a reason. Returns the list of "
                       "problems (empty when the assignment is valid). A PM outside the category is allowed "
                       "(needed when no PM serves it).")
def check(context, pm: str = "", category: str = "", pm_proposed: str = "",
          qualifications_checked: Any = None, assignment_note: Optional[str] = None) -> list[str]:
    return assignment_problems(getattr(context, "session", None), pm, category, pm_proposed,
                               qualifications_checked, assignment_note)
