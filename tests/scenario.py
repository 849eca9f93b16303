"""A driver for scenario tests: walks a process through the public REST API.

Each role gets one user (``<role>_user``, made on first use); ``complete``
claims the open task as a member of its role and completes it; ``advance``
moves the test clock and runs one worker tick (``liucheng worker --once``), so
timers fire without sleeping.
"""
from __future__ import annotations

from typing import Any, Optional

from engine import scheduler


class Scenario:
    def __init__(self, client, make_user, auth, clock, database):
        self.client, self.make_user, self.auth, self.clock, self.database = client, make_user, auth, clock, database
        self.users: dict[str, str] = {}

    # -- people --------------------------------------------------------------------------------
    def user(self, role: str, name: Optional[str] = None, **attributes: str) -> str:
        """The user acting for ``role`` (created on first use); ``name`` makes a specific one."""
        key = name or role
        if key not in self.users:
            username = name or f"{role}_user"
            self.make_user(username, role, **attributes)
            self.users[key] = username
        return self.users[key]

    def headers(self, role_or_user: str) -> dict:
        """Headers of the user acting for a role, or of a user already made (by name)."""
        if role_or_user in self.users.values():
            return self.auth(role_or_user)
        return self.auth(self.users.get(role_or_user) or self.user(role_or_user))

    # -- commands through the API -------------------------------------------------------------
    def start(self, process_id: str, data: dict, as_role: str = "admin", expect: int = 201) -> dict:
        response = self.client.post("/api/v1/instances", json={"process_id": process_id, "data": data},
                                    headers=self.headers(as_role))
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def open_tasks(self, instance_id: int) -> list[dict]:
        response = self.client.get(f"/api/v1/tasks?scope=all&instance_id={instance_id}",
                                   headers=self.headers("admin"))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def open_elements(self, instance_id: int) -> list[str]:
        return sorted(t["element_id"] for t in self.open_tasks(instance_id))

    def task(self, instance_id: int, element_id: str) -> dict:
        found = [t for t in self.open_tasks(instance_id) if t["element_id"] == element_id]
        assert found, f"no open task {element_id}; open: {self.open_elements(instance_id)}"
        return found[0]

    def complete(self, instance_id: int, element_id: str, data: Optional[dict] = None,
                 as_user: Optional[str] = None, expect: int = 200) -> Any:
        """Claim (as a member of the task's role, or ``as_user``) and complete the open task."""
        task = self.task(instance_id, element_id)
        headers = self.auth(as_user) if as_user else self.headers(task["assignee"] or task["role"])
        if task["status"] == "open":
            claimed = self.client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers)
            assert claimed.status_code == 200, claimed.get_json()
        response = self.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data or {}},
                                    headers=headers)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    def message(self, name: str, correlation: dict, data: Optional[dict] = None,
                message_id: Optional[str] = None, as_role: str = "integrator") -> dict:
        response = self.client.post("/api/v1/messages", json={"name": name, "correlation": correlation,
                                                              "data": data or {}, "message_id": message_id},
                                    headers=self.headers(as_role))
        assert response.status_code in (200, 201, 202), response.get_json()
        return response.get_json()

    def advance(self, **delta: float) -> int:
        """Move the clock and run one worker tick; returns how many timers fired."""
        self.clock.advance(**delta)
        return scheduler.tick(self.database)

    def advance_to(self, when) -> int:
        """Move the clock to ``when`` (naive UTC, not in the past) and run one worker tick."""
        delta = when - self.clock.now()
        assert delta.total_seconds() >= 0, f"{when} is before the clock ({self.clock.now()})"
        return self.advance(seconds=delta.total_seconds())

    # -- reading ----------------------------------------------------------------------------------
    def instance(self, instance_id: int) -> dict:
        response = self.client.get(f"/api/v1/instances/{instance_id}", headers=self.headers("admin"))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def data(self, instance_id: int) -> dict:
        return self.instance(instance_id)["data"]

    def history(self, instance_id: int) -> list[dict]:
        response = self.client.get(f"/api/v1/instances/{instance_id}/history", headers=self.headers("auditor"))
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def events(self, instance_id: int, event_type: str) -> list[dict]:
        return [e for e in self.history(instance_id) if e["type"] == event_type]

    def gateway_flows(self, instance_id: int, gateway: str) -> list[list[str]]:
        """The flows taken at each pass through ``gateway``."""
        return [e["data"]["flows"] for e in self.events(instance_id, "gateway_taken") if e["element_id"] == gateway]

    def event_types(self, instance_id: int) -> list[str]:
        return [e["type"] for e in self.history(instance_id)]

    def path(self, instance_id: int) -> list[str]:
        """Element ids of the tasks completed, in order (what an auditor reads as the path taken)."""
        return [e["element_id"] for e in self.history(instance_id) if e["type"] == "task_completed"]
