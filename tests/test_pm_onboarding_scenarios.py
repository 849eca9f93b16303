"""PM onboarding 商户入驻 / PM 辅导 (processes/pm_onboarding.bpmn, docs/procedures.md §5): one test per path.

Paths: proposal of the least-loaded PM, tie by username, sp_dispatch override, no PM for the category,
an invalid assignment sent back, the shop not yet online (follow-up loop), operations reject then approve,
an incomplete operations decision, merchant_issue at two stages and before the assignment, routing of every
pm task to the chosen PM only.
"""
from __future__ import annotations

ALL_SIX = ["platform_backend", "brand_operations", "category_brands", "data_analysis", "communication",
           "issue_reporting"]
PM_TASKS = {"Task_pm_coach_backend", "Task_pm_coach_operations", "Task_pm_apply_resources",
            "Task_pm_report_brand_ops", "Task_pm_record_merchant", "Task_pm_handle_issue"}
HAPPY_PATH = ["Task_sp_assign_pm", "Task_pm_coach_backend", "Task_pm_coach_operations", "Task_pm_apply_resources",
              "Task_operations_review", "Task_pm_report_brand_ops", "Task_brand_ops_receive",
              "Task_pm_record_merchant"]


# -- helpers ------------------------------------------------------------------------------------

def make_pms(scenario):
    scenario.user("pm", name="pm_li", categories="家电,数码")
    scenario.user("pm", name="pm_wang", categories="家电")
    scenario.user("pm", name="pm_zhao", categories="服装")


def start(scenario, merchant="M-1", category="家电", brand="美的"):
    started = scenario.start("pm_onboarding", {
        "merchant": merchant, "company": f"{brand}电器有限公司", "brand": brand, "category": category,
        "contact": "陈经理", "phone": "13800000000", "licence_refs": "营业执照 91440000XXXX; 品牌授权书 BA-1"},
        as_role="sp_dispatch")
    return started["id"]


def assign(scenario, instance_id, pm=None, note=None, qualifications=ALL_SIX, valid=True, as_user=None):
    """sp_dispatch completes the assignment; ``valid``: the check is expected to accept it."""
    data = {"qualifications_checked": list(qualifications)}
    if pm is not None:
        data["pm"] = pm
    else:
        data["pm"] = scenario.data(instance_id)["pm_proposed"]
    if note is not None:
        data["assignment_note"] = note
    scenario.complete(instance_id, "Task_sp_assign_pm", data, as_user=as_user)
    problems = scenario.data(instance_id)["assignment_problems"]
    assert (problems == []) is valid, problems


def coach_until_review(scenario, instance_id):
    scenario.complete(instance_id, "Task_pm_coach_backend",
                      {"progress_note": "后台已开通，商品已上传", "shop_online": True,
                       "shop_url": "https://shop.example/m1", "online_date": "2026-11-03"})
    scenario.complete(instance_id, "Task_pm_coach_operations",
                      {"coaching_items": ["promotion_slots", "shop_messages", "buyer_messages", "complaints",
                                          "reports", "payment_tools"]})
    apply_resources(scenario, instance_id)


def apply_resources(scenario, instance_id, plan="开馆庆满减活动"):
    scenario.complete(instance_id, "Task_pm_apply_resources",
                      {"event_plan": plan, "requested_resources": "首页焦点图一天", "preferred_date": "2026-11-20"})


def approve(scenario, instance_id, schedule="2026-11-21"):
    scenario.complete(instance_id, "Task_operations_review", {"resources_approved": True, "schedule": schedule})


def finish(scenario, instance_id):
    scenario.complete(instance_id, "Task_pm_report_brand_ops",
                      {"category_activities": "双十二家电节", "product_materials": "20 款主推商品资料包"})
    scenario.complete(instance_id, "Task_brand_ops_receive", {"brand_ops_note": "已收到"})
    scenario.complete(instance_id, "Task_pm_record_merchant",
                      {"main_products": "空调、冰箱", "shop_url": "https://shop.example/m1",
                       "contact_changes": "联系电话改为 13800000001"})


def onboard(scenario, merchant, category="家电", pm=None, note=None):
    """A whole onboarding; returns the instance id."""
    instance_id = start(scenario, merchant, category)
    assign(scenario, instance_id, pm, note)
    coach_until_review(scenario, instance_id)
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    return instance_id


def tasks_for(scenario, username, scope):
    response = scenario.client.get(f"/api/v1/tasks?scope={scope}&process_id=pm_onboarding",
                                   headers=scenario.auth(username))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def created(scenario, instance_id, element_id):
    return [e for e in scenario.history(instance_id) if e["type"] == "task_created" and e["element_id"] == element_id]


def assert_onboarded(scenario, instance_id, pm, proposed):
    instance = scenario.instance(instance_id)
    data = instance["data"]
    assert instance["status"] == "completed"
    assert data["outcome"] == "onboarded"
    assert data["pm"] == pm and data["pm_proposed"] == proposed and data["pm_assigned"] is True
    assert sorted(data["qualifications_checked"]) == sorted(ALL_SIX)
    assert data["resources_approved"] is True and data["schedule"] == "2026-11-21"
    for merchant_key in ("merchant", "company", "brand", "category", "contact"):
        assert data[merchant_key]
    # every task of the pm lane was created for the chosen PM and completed by them
    for event in scenario.history(instance_id):
        if event["element_id"] in PM_TASKS and event["type"] == "task_created":
            assert event["data"]["assignee"] == pm, event
        if event["element_id"] in PM_TASKS and event["type"] == "task_completed":
            assert event["actor"] == pm, event
    assert scenario.event_types(instance_id)[-1] == "instance_completed"


# -- assignment paths -------------------------------------------------------------------------------

def test_proposal_picks_least_loaded_pm_of_category(scenario):
    make_pms(scenario)
    # pm_li already looks after two 家电 merchants (one completed, one running), pm_wang after one
    onboard(scenario, "M-old-1", pm="pm_li")
    second = start(scenario, "M-old-2")
    assign(scenario, second, pm="pm_li", note="同一集团")
    third = start(scenario, "M-old-3")
    assign(scenario, third)  # the proposal: pm_wang
    # an application still waiting for sp_dispatch does not count for its prefilled PM
    start(scenario, "M-pending")

    instance_id = start(scenario, "M-1")
    data = scenario.data(instance_id)
    assert data["pm_proposed"] == "pm_wang"
    assert data["pm"] == "pm_wang"  # the assignment form is prefilled with the proposal
    assert data["pm_assigned"] is False
    assert scenario.open_elements(instance_id) == ["Task_sp_assign_pm"]
    assign(scenario, instance_id)
    coach_until_review(scenario, instance_id)
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert_onboarded(scenario, instance_id, "pm_wang", "pm_wang")
    assert scenario.path(instance_id) == HAPPY_PATH
    proposal = [e for e in scenario.history(instance_id) if e["type"] == "instance_started"]
    assert proposal and proposal[0]["data"]["data"]["category"] == "家电"


def test_proposal_tie_goes_to_first_username(scenario):
    make_pms(scenario)
    instance_id = start(scenario, "M-1")
    assert scenario.data(instance_id)["pm_proposed"] == "pm_li"  # 0 = 0 merchants: pm_li < pm_wang
    other = start(scenario, "M-2", category="数码")
    assert scenario.data(other)["pm_proposed"] == "pm_li"  # the only PM of 数码
    prefill = [e for e in scenario.history(instance_id)
               if e["type"] == "script_changed_data" and e["element_id"] == "Script_prefill_assignment"]
    assert prefill[0]["data"]["changed"]["pm"] == "pm_li"
    assert scenario.instance(instance_id)["status"] == "running"
    assert scenario.task(instance_id, "Task_sp_assign_pm")["role"] == "sp_dispatch"


def test_sp_dispatch_overrides_the_proposal(scenario):
    make_pms(scenario)
    instance_id = start(scenario, "M-1")
    assert scenario.data(instance_id)["pm_proposed"] == "pm_li"
    assign(scenario, instance_id, pm="pm_wang", note="pm_wang 熟悉该品牌")
    data = scenario.data(instance_id)
    assert data["pm"] == "pm_wang" and data["pm_proposed"] == "pm_li" and data["pm_assigned"] is True
    assert data["assignment_note"] == "pm_wang 熟悉该品牌" and data["assignment_problems"] == []
    task = scenario.task(instance_id, "Task_pm_coach_backend")
    assert task["assignee"] == "pm_wang"
    coach_until_review(scenario, instance_id)
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert_onboarded(scenario, instance_id, "pm_wang", "pm_li")
    assert scenario.path(instance_id) == HAPPY_PATH


def test_no_pm_for_category_sp_dispatch_chooses(scenario):
    make_pms(scenario)
    instance_id = start(scenario, "M-1", category="母婴")
    data = scenario.data(instance_id)
    assert data["pm_proposed"] == "" and data["pm"] == ""
    # the form will not take an empty PM
    scenario.complete(instance_id, "Task_sp_assign_pm", {"pm": "", "qualifications_checked": ALL_SIX}, expect=422)
    # (the refused completion left the task claimed by sp_dispatch_user)
    assign(scenario, instance_id, pm="pm_zhao", as_user="sp_dispatch_user")  # no proposal: no reason needed
    assert scenario.task(instance_id, "Task_pm_coach_backend")["assignee"] == "pm_zhao"
    coach_until_review(scenario, instance_id)
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert_onboarded(scenario, instance_id, "pm_zhao", "")
    assert scenario.path(instance_id) == HAPPY_PATH


def test_invalid_assignment_goes_back_to_sp_dispatch(scenario):
    make_pms(scenario)
    scenario.user("operations")  # operations_user: exists but is no PM
    instance_id = start(scenario, "M-1")
    assign(scenario, instance_id, pm="nobody", valid=False)
    problems = scenario.data(instance_id)["assignment_problems"]
    assert len(problems) == 2 and "nobody" in problems[0] and "改派" in problems[1]
    assert scenario.open_elements(instance_id) == ["Task_sp_assign_pm"]
    assign(scenario, instance_id, pm="operations_user", note="临时", valid=False)
    assert "不是 PM" in scenario.data(instance_id)["assignment_problems"][0]
    assign(scenario, instance_id, pm="pm_li", qualifications=ALL_SIX[:5], valid=False)
    assert "issue_reporting" in scenario.data(instance_id)["assignment_problems"][0]
    assert scenario.data(instance_id)["pm_assigned"] is False
    assign(scenario, instance_id, pm="pm_li")
    data = scenario.data(instance_id)
    assert data["assignment_problems"] == [] and data["pm_assigned"] is True
    assert scenario.open_elements(instance_id) == ["Task_pm_coach_backend"]
    coach_until_review(scenario, instance_id)
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert_onboarded(scenario, instance_id, "pm_li", "pm_li")
    assert scenario.path(instance_id) == ["Task_sp_assign_pm"] * 3 + HAPPY_PATH
    valid = [e for e in scenario.history(instance_id)
             if e["type"] == "gateway_taken" and e["element_id"] == "Gateway_assignment_valid"]
    assert [e["data"]["flows"] for e in valid] == [["Flow_assignment_invalid"]] * 3 + [["Flow_assignment_valid"]]


# -- coaching and operations paths -----------------------------------------------------------------------

def test_shop_not_online_yet_is_followed_up_again(scenario):
    make_pms(scenario)
    instance_id = start(scenario, "M-1")
    assign(scenario, instance_id)
    scenario.complete(instance_id, "Task_pm_coach_backend",
                      {"progress_note": "资质审核中", "shop_online": False})
    assert scenario.open_elements(instance_id) == ["Task_pm_coach_backend"]
    assert scenario.task(instance_id, "Task_pm_coach_backend")["assignee"] == "pm_li"
    coach_until_review(scenario, instance_id)
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert_onboarded(scenario, instance_id, "pm_li", "pm_li")
    assert scenario.data(instance_id)["shop_online"] is True
    assert scenario.path(instance_id) == HAPPY_PATH[:2] + ["Task_pm_coach_backend"] + HAPPY_PATH[2:]


def test_operations_reject_then_approve(scenario):
    make_pms(scenario)
    instance_id = start(scenario, "M-1")
    assign(scenario, instance_id)
    coach_until_review(scenario, instance_id)
    scenario.complete(instance_id, "Task_operations_review",
                      {"resources_approved": False, "rejection_reason": "焦点图档期已满，请改申请频道页"})
    data = scenario.data(instance_id)
    assert data["last_rejection_reason"] == "焦点图档期已满，请改申请频道页" and data["rejection_count"] == 1
    assert data["resources_approved"] is None and data["schedule"] is None
    assert scenario.open_elements(instance_id) == ["Task_pm_apply_resources"]
    assert scenario.task(instance_id, "Task_pm_apply_resources")["assignee"] == "pm_li"
    apply_resources(scenario, instance_id, plan="开馆庆频道页活动")
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert_onboarded(scenario, instance_id, "pm_li", "pm_li")
    assert scenario.data(instance_id)["event_plan"] == "开馆庆频道页活动"
    assert scenario.path(instance_id) == HAPPY_PATH[:5] + ["Task_pm_apply_resources", "Task_operations_review"] \
        + HAPPY_PATH[5:]
    decisions = [e["data"]["flows"] for e in scenario.history(instance_id)
                 if e["type"] == "gateway_taken" and e["element_id"] == "Gateway_resources_approved"]
    assert decisions == [["Flow_resources_rejected"], ["Flow_resources_approved"]]


def test_operations_incomplete_decision_comes_back(scenario):
    make_pms(scenario)
    instance_id = start(scenario, "M-1")
    assign(scenario, instance_id)
    coach_until_review(scenario, instance_id)
    scenario.complete(instance_id, "Task_operations_review", {"resources_approved": True})  # no schedule
    assert scenario.open_elements(instance_id) == ["Task_operations_review"]
    assert "排期" in scenario.data(instance_id)["review_problem"]
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert_onboarded(scenario, instance_id, "pm_li", "pm_li")
    assert scenario.path(instance_id) == HAPPY_PATH[:5] + ["Task_operations_review"] + HAPPY_PATH[5:]


def test_operations_reject_without_reason_goes_back_to_the_pm(scenario):
    """The contract's decision alone (resources_approved = false) is a rejection: the reason defaults."""
    make_pms(scenario)
    instance_id = start(scenario, "M-1")
    assign(scenario, instance_id)
    coach_until_review(scenario, instance_id)
    scenario.complete(instance_id, "Task_operations_review", {"resources_approved": False})
    assert scenario.open_elements(instance_id) == ["Task_pm_apply_resources"]
    data = scenario.data(instance_id)
    assert data["last_rejection_reason"] == "未说明原因 (no reason given)" and data["rejection_count"] == 1
    apply_resources(scenario, instance_id)
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert_onboarded(scenario, instance_id, "pm_li", "pm_li")


# -- merchant_issue --------------------------------------------------------------------------------------------

def test_merchant_issue_at_two_stages_creates_tasks_for_the_pm(scenario):
    make_pms(scenario)
    instance_id = start(scenario, "M-1")
    other = start(scenario, "M-2")  # another merchant: must not receive M-1's issues
    assign(scenario, instance_id, pm="pm_wang", note="熟悉该品牌")
    assign(scenario, other)

    # stage 3: while the PM coaches the backend
    reply = scenario.message("merchant_issue", {"merchant": "M-1"}, {"description": "商品无法上传"})
    assert reply["status"] == "delivered" and reply["instance_ids"] == [instance_id]
    assert scenario.open_elements(instance_id) == ["Task_pm_coach_backend", "Task_pm_handle_issue"]
    assert scenario.open_elements(other) == ["Task_pm_coach_backend"]
    first = scenario.task(instance_id, "Task_pm_handle_issue")
    assert first["assignee"] == "pm_wang"
    assert scenario.data(instance_id)["merchant_issues"] == [{"no": 1, "description": "商品无法上传"}]

    scenario.complete(instance_id, "Task_pm_coach_backend",
                      {"progress_note": "已上线", "shop_online": True})
    scenario.complete(instance_id, "Task_pm_coach_operations", {"coaching_items": ["promotion_slots"]})
    apply_resources(scenario, instance_id)

    # stage 5: while operations reviews the resources; the first issue is still open
    scenario.message("merchant_issue", {"merchant": "M-1"}, {"description": "支付宝收款未到账"})
    open_issue_tasks = [t for t in scenario.open_tasks(instance_id) if t["element_id"] == "Task_pm_handle_issue"]
    assert len(open_issue_tasks) == 2 and {t["assignee"] for t in open_issue_tasks} == {"pm_wang"}
    assert scenario.data(instance_id)["merchant_issues"][-1] == {"no": 2, "description": "支付宝收款未到账"}

    # the PM solves both (the first by task id, then the other)
    response = scenario.client.post(f"/api/v1/tasks/{first['id']}/complete",
                                    json={"data": {"issue_resolution": "已指导批量上传", "issue_resolved": True}},
                                    headers=scenario.auth("pm_wang"))
    assert response.status_code == 200, response.get_json()
    scenario.complete(instance_id, "Task_pm_handle_issue",
                      {"issue_resolution": "已联系财务核实", "issue_resolved": True})
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert_onboarded(scenario, instance_id, "pm_wang", "pm_li")
    data = scenario.data(instance_id)
    assert [i["description"] for i in data["merchant_issues"]] == ["商品无法上传", "支付宝收款未到账"]
    history = scenario.history(instance_id)
    correlated = [e for e in history if e["type"] == "message_correlated"]
    assert [e["data"]["data"]["description"] for e in correlated] == ["商品无法上传", "支付宝收款未到账"]
    assert [e["data"]["assignee"] for e in history
            if e["type"] == "task_created" and e["element_id"] == "Task_pm_handle_issue"] == ["pm_wang", "pm_wang"]
    assert scenario.path(instance_id).count("Task_pm_handle_issue") == 2
    # after onboarding nobody waits for issues any more: a late one is kept, not delivered
    late = scenario.message("merchant_issue", {"merchant": "M-1"}, {"description": "迟到的问题"})
    assert late["status"] == "kept"


def test_merchant_issue_before_assignment_waits_for_the_pm(scenario):
    make_pms(scenario)
    instance_id = start(scenario, "M-1")
    early = scenario.message("merchant_issue", {"merchant": "M-1"}, {"description": "入驻资料填错了"})
    assert early["status"] == "kept"  # no PM yet: no task for all PMs
    assert scenario.open_elements(instance_id) == ["Task_sp_assign_pm"]
    assign(scenario, instance_id)
    assert scenario.open_elements(instance_id) == ["Task_pm_coach_backend", "Task_pm_handle_issue"]
    assert scenario.task(instance_id, "Task_pm_handle_issue")["assignee"] == "pm_li"
    scenario.complete(instance_id, "Task_pm_handle_issue", {"issue_resolution": "已更正", "issue_resolved": True})
    coach_until_review(scenario, instance_id)
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert_onboarded(scenario, instance_id, "pm_li", "pm_li")
    assert scenario.data(instance_id)["merchant_issues"] == [{"no": 1, "description": "入驻资料填错了"}]
    correlated = [e for e in scenario.history(instance_id) if e["type"] == "message_correlated"]
    assert len(correlated) == 1 and correlated[0]["data"].get("kept_since")


def test_issue_left_open_keeps_instance_running_until_handled(scenario):
    make_pms(scenario)
    instance_id = start(scenario, "M-1")
    assign(scenario, instance_id)
    coach_until_review(scenario, instance_id)
    scenario.message("merchant_issue", {"merchant": "M-1"}, {"description": "活动报名入口找不到"})
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    # onboarding is done, the instance runs on until the PM has handled the issue. (The data of a running
    # instance is that of its active branches, so outcome shows once the instance completes; the history has it.)
    assert scenario.instance(instance_id)["status"] == "running"
    assert scenario.open_elements(instance_id) == ["Task_pm_handle_issue"]
    outcome_set = [e for e in scenario.history(instance_id)
                   if e["type"] == "script_changed_data" and e["element_id"] == "Script_outcome_onboarded"]
    assert outcome_set[0]["data"]["changed"] == {"outcome": "onboarded"}
    scenario.complete(instance_id, "Task_pm_handle_issue", {"issue_resolution": "已发链接", "issue_resolved": True})
    assert_onboarded(scenario, instance_id, "pm_li", "pm_li")
    assert scenario.data(instance_id)["issue_resolution"] == "已发链接"


# -- routing --------------------------------------------------------------------------------------------------

def test_every_pm_task_is_routed_to_the_chosen_pm_only(scenario):
    make_pms(scenario)
    scenario.user("supervisor")
    instance_id = start(scenario, "M-1")
    assign(scenario, instance_id, pm="pm_wang", note="熟悉该品牌")
    scenario.message("merchant_issue", {"merchant": "M-1"}, {"description": "类目选错"})

    def check_routed(element_id):
        task = scenario.task(instance_id, element_id)
        # issue 14: a task routed to one user is created claimed by them (as a Camunda assignee)
        assert task["assignee"] == "pm_wang" and task["status"] == "claimed" and task["claimed_at"]
        for intruder in ("pm_li", "pm_zhao"):
            claim = scenario.client.post(f"/api/v1/tasks/{task['id']}/claim", headers=scenario.auth(intruder))
            assert claim.status_code == 403, claim.get_json()
            done = scenario.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": {}},
                                        headers=scenario.auth(intruder))
            assert done.status_code == 403, done.get_json()
            assert task["id"] not in [t["id"] for t in tasks_for(scenario, intruder, "mine")]
            assert task["id"] not in [t["id"] for t in tasks_for(scenario, intruder, "claimable")]
        assert task["id"] in [t["id"] for t in tasks_for(scenario, "pm_wang", "mine")]
        return task

    check_routed("Task_pm_handle_issue")
    scenario.complete(instance_id, "Task_pm_handle_issue", {"issue_resolution": "已改类目", "issue_resolved": True})
    for element_id, data in [
        ("Task_pm_coach_backend", {"progress_note": "已上线", "shop_online": True}),
        ("Task_pm_coach_operations", {"coaching_items": ["payment_tools"]}),
        ("Task_pm_apply_resources", {"event_plan": "开馆庆", "requested_resources": "频道页"}),
    ]:
        check_routed(element_id)
        scenario.complete(instance_id, element_id, data, as_user="pm_wang")
    # operations is a role task: any operations member, not routed
    review = scenario.task(instance_id, "Task_operations_review")
    assert review["assignee"] is None and review["role"] == "operations"
    approve(scenario, instance_id)
    check_routed("Task_pm_report_brand_ops")
    scenario.complete(instance_id, "Task_pm_report_brand_ops",
                      {"category_activities": "家电节", "product_materials": "资料包"}, as_user="pm_wang")
    scenario.complete(instance_id, "Task_brand_ops_receive", {})
    record = check_routed("Task_pm_record_merchant")
    # a supervisor may reassign a routed task to another PM
    moved = scenario.client.post(f"/api/v1/tasks/{record['id']}/reassign", json={"user": "pm_li", "reason": "休假"},
                                 headers=scenario.auth("supervisor_user"))
    assert moved.status_code == 200, moved.get_json()
    scenario.complete(instance_id, "Task_pm_record_merchant", {"main_products": "空调"}, as_user="pm_li")
    instance = scenario.instance(instance_id)
    assert instance["status"] == "completed" and instance["data"]["outcome"] == "onboarded"
    assert instance["data"]["pm"] == "pm_wang"
    routed = [e for e in scenario.history(instance_id)
              if e["type"] == "task_created" and e["element_id"] in PM_TASKS]
    assert len(routed) == 6 and {e["data"]["assignee"] for e in routed} == {"pm_wang"}
    assert [e["data"]["to"] for e in scenario.history(instance_id) if e["type"] == "task_reassigned"] == ["pm_li"]


def test_two_issues_open_at_the_end_keep_the_outcome(scenario):
    """Regression: the onboarding branch and the listener end as one token, so the onboarding data survives
    the later ends of the issue branches (engine pruning drops ended branches that are not waiting)."""
    make_pms(scenario)
    instance_id = start(scenario, "M-1")
    assign(scenario, instance_id)
    coach_until_review(scenario, instance_id)
    scenario.message("merchant_issue", {"merchant": "M-1"}, {"description": "问题一"})
    scenario.message("merchant_issue", {"merchant": "M-1"}, {"description": "问题二"})
    approve(scenario, instance_id)
    finish(scenario, instance_id)
    assert scenario.instance(instance_id)["status"] == "running"
    for _ in range(2):
        assert scenario.instance(instance_id)["status"] == "running"
        scenario.complete(instance_id, "Task_pm_handle_issue", {"issue_resolution": "已处理", "issue_resolved": True})
    assert_onboarded(scenario, instance_id, "pm_li", "pm_li")
    assert [i["description"] for i in scenario.data(instance_id)["merchant_issues"]] == ["问题一", "问题二"]


# -- contract-only clients ------------------------------------------------------------------------------------
# A client that knows only the data contract (docs/procedures.md §5) must be able to walk the whole process: every
# other field is optional (qualifications_checked defaults to all six, pm to the proposal, shop_online to true).

CONTRACT_START = {"merchant": "M-C1", "company": "格力电器有限公司", "brand": "格力", "category": "家电",
                  "contact": "陈经理"}


def test_contract_only_start_without_licence_refs(scenario):
    make_pms(scenario)
    instance_id = scenario.start("pm_onboarding", CONTRACT_START, as_role="sp_dispatch")["id"]
    data = scenario.data(instance_id)
    assert data["licence_refs"] is None and data["pm_proposed"] == "pm_li"
    assert scenario.open_elements(instance_id) == ["Task_sp_assign_pm"]


def test_contract_only_walk_is_onboarded(scenario):
    make_pms(scenario)
    # a first merchant of 家电, assigned with {}: the proposal (tie between pm_li and pm_wang -> pm_li)
    first = scenario.start("pm_onboarding", {**CONTRACT_START, "merchant": "M-C0"}, as_role="sp_dispatch")["id"]
    scenario.complete(first, "Task_sp_assign_pm", {})
    data = scenario.data(first)
    assert data["pm"] == "pm_li" and data["pm_assigned"] is True and data["assignment_problems"] == []
    assert sorted(data["qualifications_checked"]) == sorted(ALL_SIX)

    # the next one goes to the least-loaded PM of the category: pm_wang
    instance_id = scenario.start("pm_onboarding", CONTRACT_START, as_role="sp_dispatch")["id"]
    assert scenario.data(instance_id)["pm_proposed"] == "pm_wang"
    scenario.complete(instance_id, "Task_sp_assign_pm", {})
    data = scenario.data(instance_id)
    assert data["pm"] == "pm_wang" and data["pm_assigned"] is True and data["assignment_problems"] == []
    assert scenario.open_elements(instance_id) == ["Task_pm_coach_backend"]

    # a merchant issue becomes a task for the assigned PM, completed with {}
    reply = scenario.message("merchant_issue", {"merchant": "M-C1"}, {"description": "商品无法上传"})
    assert reply["status"] == "delivered" and reply["instance_ids"] == [instance_id]
    assert scenario.task(instance_id, "Task_pm_handle_issue")["assignee"] == "pm_wang"
    scenario.complete(instance_id, "Task_pm_handle_issue", {})

    for element_id in ("Task_pm_coach_backend", "Task_pm_coach_operations", "Task_pm_apply_resources"):
        assert scenario.task(instance_id, element_id)["assignee"] == "pm_wang"
        scenario.complete(instance_id, element_id, {})
    # the contract's rejection alone goes back to the PM
    scenario.complete(instance_id, "Task_operations_review", {"resources_approved": False})
    assert scenario.open_elements(instance_id) == ["Task_pm_apply_resources"]
    scenario.complete(instance_id, "Task_pm_apply_resources", {})
    # an approval still needs its schedule
    scenario.complete(instance_id, "Task_operations_review", {"resources_approved": True})
    assert scenario.open_elements(instance_id) == ["Task_operations_review"]
    scenario.complete(instance_id, "Task_operations_review", {"resources_approved": True, "schedule": "2026-12-01"})
    assert scenario.task(instance_id, "Task_pm_report_brand_ops")["assignee"] == "pm_wang"
    scenario.complete(instance_id, "Task_pm_report_brand_ops", {})
    scenario.complete(instance_id, "Task_brand_ops_receive", {})
    assert scenario.task(instance_id, "Task_pm_record_merchant")["assignee"] == "pm_wang"
    scenario.complete(instance_id, "Task_pm_record_merchant", {})

    instance = scenario.instance(instance_id)
    data = instance["data"]
    assert instance["status"] == "completed" and data["outcome"] == "onboarded"
    assert data["pm"] == "pm_wang" and data["pm_proposed"] == "pm_wang"
    assert data["resources_approved"] is True and data["schedule"] == "2026-12-01"
    assert data["merchant_issues"] == [{"no": 1, "description": "商品无法上传"}]
    for event in scenario.history(instance_id):
        if event["element_id"] in PM_TASKS and event["type"] == "task_created":
            assert event["data"]["assignee"] == "pm_wang", event
    assert scenario.open_elements(first) == ["Task_pm_coach_backend"]
