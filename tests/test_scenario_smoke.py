"""The scenario driver itself, on the smallest refund path."""


def test_refund_only_approved_path(scenario):
    started = scenario.start("refund", {
        "order_no": "S-1", "buyer": "小王", "amount": "88.00", "shipping_fee": "8.00", "free_shipping": False,
        "goods_received": False, "quality_issue": False, "days_since_signed": 1, "reason": "未收到货"},
        as_role="aftersales_cs")
    instance_id = started["id"]
    assert scenario.open_elements(instance_id) == ["Task_supervisor_approve_refund_only"]
    scenario.complete(instance_id, "Task_supervisor_approve_refund_only", {"approved": True})
    scenario.complete(instance_id, "Task_finance_refund", {"payment_ref": "ALI-1"})
    data = scenario.instance(instance_id)
    assert data["status"] == "completed"
    assert data["data"]["outcome"] == "refunded" and data["data"]["refund_amount"] == 88
    assert scenario.path(instance_id) == ["Task_supervisor_approve_refund_only", "Task_finance_refund"]
