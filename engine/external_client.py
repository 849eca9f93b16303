"""A small client of Liucheng's external task API, for the workers that do external service tasks
(``camunda:type="external"``): fetch and lock, complete, report a failure or a BPMN error, extend a lock.

It speaks HTTP with the standard library only (``urllib``) and imports nothing else of the engine, so a
worker can copy this one file. Credentials are an integrator's (or admin's) user name and password
(Basic) or an API token (bearer). Every method returns the API's JSON; an error answer raises
``ExternalTaskError`` with the HTTP status and the API's message (409: another worker holds the task or
the lock expired; 404: the task is gone, e.g. interrupted by a boundary event).

A worker loop::

    client = ExternalTaskClient("http://liucheng:8080", "payments-worker-1", token="...")
    while True:
        for task in client.fetch_and_lock([{"name": "payments", "lock_duration_ms": 60_000}], max_tasks=5):
            try:
                receipt = charge(task["variables"]["order_no"], task["variables"]["amount"])
            except CardDeclined:
                client.bpmn_error(task["id"], "CARD_DECLINED")
            except Exception as exc:
                client.failure(task["id"], str(exc), retries=(task["retries"] or 3) - 1, retry_timeout_ms=60_000)
            else:
                client.complete(task["id"], {"receipt": receipt})
        time.sleep(5)
"""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any, Optional


class ExternalTaskError(Exception):
    """The API refused a call: ``status`` (HTTP) and ``message`` (what to do)."""

    def __init__(self, status: int, message: str, body: Any = None):
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.body = status, message, body


class ExternalTaskClient:
    """One worker (``worker_id``) of a Liucheng server at ``base_url`` (without ``/api/v1``)."""

    def __init__(self, base_url: str, worker_id: str, username: Optional[str] = None,
                 password: Optional[str] = None, token: Optional[str] = None, timeout: float = 30.0):
        self.base_url, self.worker_id, self.timeout = base_url.rstrip("/"), worker_id, timeout
        if token:
            self._authorization = f"Bearer {token}"
        elif username is not None:
            self._authorization = "Basic " + base64.b64encode(f"{username}:{password or ''}".encode()).decode()
        else:
            raise ValueError("Give an integrator's username and password, or an API token.")

    def fetch_and_lock(self, topics: list[dict], max_tasks: int = 10) -> list[dict]:
        """Lock up to ``max_tasks`` tasks of ``topics`` ([{"name", "lock_duration_ms", "variables"?}])."""
        return self._post("/external-tasks/fetch-and-lock",
                          {"worker_id": self.worker_id, "max_tasks": max_tasks, "topics": topics})

    def complete(self, task_id: int, variables: Optional[dict] = None) -> dict:
        return self._post(f"/external-tasks/{task_id}/complete",
                          {"worker_id": self.worker_id, "variables": variables or {}})

    def failure(self, task_id: int, error_message: str, retries: int, retry_timeout_ms: int = 0,
                error_details: Optional[str] = None) -> dict:
        """Report a failure; ``retries`` 0 opens an incident on the task."""
        return self._post(f"/external-tasks/{task_id}/failure", {
            "worker_id": self.worker_id, "error_message": error_message, "error_details": error_details,
            "retries": retries, "retry_timeout_ms": retry_timeout_ms})

    def bpmn_error(self, task_id: int, error_code: str, error_message: Optional[str] = None,
                   variables: Optional[dict] = None) -> dict:
        return self._post(f"/external-tasks/{task_id}/bpmn-error", {
            "worker_id": self.worker_id, "error_code": error_code, "error_message": error_message,
            "variables": variables or {}})

    def extend_lock(self, task_id: int, new_duration_ms: int) -> dict:
        return self._post(f"/external-tasks/{task_id}/extend-lock",
                          {"worker_id": self.worker_id, "new_duration_ms": new_duration_ms})

    def _post(self, path: str, body: dict) -> Any:
        request = urllib.request.Request(f"{self.base_url}/api/v1{path}", data=json.dumps(body).encode(),
                                         method="POST", headers={"Content-Type": "application/json",
                                                                 "Authorization": self._authorization})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:  # noqa: S310 - the server given
                text = reply.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                answer = json.loads(raw)
            except ValueError:
                answer = {"message": raw.decode(errors="replace")}
            raise ExternalTaskError(exc.code, answer.get("message", "") if isinstance(answer, dict) else "",
                                    answer) from None
        return json.loads(text) if text else None
