"""Exports are complete (issue 15 item 8): the audit exports (search result, an instance's history, the operation
log) stream every matching row — 200,000 events here, four times the old silent cap — with flat memory; the
file says how many rows it holds (CSV: a last line ``# rows: N``; JSON: ``{"rows": [...], "count": N}``), the
``X-Row-Count`` header says it before the first row, and the page with the export links says it before the
download (with a progress line for large exports, a plain link without scripts)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import tempfile
import time
import tracemalloc
from datetime import timedelta

from sqlalchemy import func, select, update

from engine import database as engine_database, encoding, hash_chain, history
from engine.models import HistoryChain, HistoryEvent
from web_support import browser_as, refund_world, text, web  # noqa: F401 (fixtures)

BIG = 200_000
ACTORS = ("zhuguan", "caiwu", "system")
TYPES = ("task_completed", "task_claimed", "element_completed", "gateway_taken")
COLUMNS = ("instance_id", "type", "actor", "element_id", "task_id", "at", "data", "operation", "entity_type",
           "entity_id", "prev_hash", "hash")
CANONICAL = ('{"actor":"%s","at":"%s","data":{"n":%d,"note":"批量"},"element_id":"Task_Approve","entity_id":null,'
             '"entity_type":null,"instance_id":%d,"operation":null,"prev":"%s","task_id":null,"type":"%s"}')
MEMORY_BOUND = 40 * 1024 * 1024  # measured: 1.5 MB over the whole read of 200,000 rows (and over 50,000)


def add_events(app, instance_id: int, count: int, start) -> None:
    """``count`` chained events on the instance, one a second from ``start`` (actors and types in turn),
    inserted in one statement run for all of them. Their hashes are ``hash_chain.event_hash``'s: the canonical
    JSON of these events is filled into a template (a hundred times faster), checked against
    ``hash_chain.canonical`` for the first events."""
    sqlite = app.extensions["liucheng_db"].url.startswith("sqlite")
    with app.extensions["liucheng_db"].session() as session:
        head = session.scalar(select(HistoryChain.head).where(HistoryChain.id == 1).with_for_update())
        rows = []
        for n in range(count):
            at = start + timedelta(seconds=n)
            event = {"instance_id": instance_id, "type": TYPES[n % len(TYPES)], "actor": ACTORS[n % len(ACTORS)],
                     "element_id": "Task_Approve", "task_id": None, "data": {"n": n, "note": "批量"}, "at": at,
                     "operation": None, "entity_type": None, "entity_id": None}
            canonical = CANONICAL % (event["actor"], at.isoformat(timespec="microseconds"), n, instance_id, head,
                                     event["type"])
            if n < 100:
                assert canonical.encode() == hash_chain.canonical(event, head)
            prev, head = head, hashlib.sha256(canonical.encode()).hexdigest()
            rows.append((instance_id, event["type"], event["actor"], "Task_Approve", None,
                         at.isoformat(" ", "microseconds") if sqlite else at,  # as SQLAlchemy writes times there
                         encoding.dumps(event["data"]), None, None, None, prev, head))
        marker = "?" if sqlite else "%s"
        session.connection().exec_driver_sql(
            f"INSERT INTO history_events ({', '.join(COLUMNS)}) VALUES ({', '.join([marker] * len(COLUMNS))})", rows)
        session.execute(update(HistoryChain).where(HistoryChain.id == 1)
                        .values(head=head, events=HistoryChain.events + count))
        session.commit()


def events_in_database(app, *conditions) -> int:
    with app.extensions["liucheng_db"].session() as session:
        return session.scalar(select(func.count()).select_from(HistoryEvent).where(*conditions))


def streamed_to_file(client, url: str, traced_rows: int = 0, **query):
    """Read the export chunk by chunk into a temporary file (the test holds no more of it than the app does),
    tracing the memory allocated until ``traced_rows`` lines have come (tracing all of it costs four times
    the export's time; an export that gathers its rows before sending, or grows with each row, shows in a
    quarter as well) → (response, file, peak bytes traced)."""
    out = tempfile.TemporaryFile("w+b")
    lines, peak = 0, 0
    tracemalloc.start()
    try:
        response = client.get(url, query_string=query, buffered=False)
        for chunk in response.iter_encoded():
            out.write(chunk)
            lines += chunk.count(b"\n")
            if tracemalloc.is_tracing() and lines >= traced_rows:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
        response.close()
    finally:
        tracemalloc.stop()
    out.seek(0)
    return response, out, peak


def csv_rows(out) -> tuple[list[str], list[list[str]], str]:
    """(header, rows, trailer line) of a CSV export."""
    rows = list(csv.reader(io.TextIOWrapper(out, encoding="utf-8-sig", newline="")))
    return rows[0], rows[1:-1], rows[-1][0]


# -- 200,000 events -------------------------------------------------------------------------------------------

def test_200000_events_export_in_full_with_flat_memory_and_say_how_many(clock, refund_world, browser_as, web):
    add_events(web, refund_world.instance_id, BIG, clock.now() + timedelta(minutes=1))
    total = events_in_database(web, HistoryEvent.instance_id.is_not(None))
    assert total > BIG
    client = browser_as("shenji")

    page = text(client.get("/audit/"))  # the page before the download says how many rows the export holds
    assert f"共 {total} 条事件" in page and f'data-export-rows="{total}"' in page
    assert "导出此结果（" + f"{total:,}" + " 行）" in page and "export-progress.js" in page

    began = time.monotonic()
    response, out, peak = streamed_to_file(client, "/audit/export.csv", traced_rows=BIG // 4)
    seconds = time.monotonic() - began
    assert response.status_code == 200 and response.headers["X-Row-Count"] == str(total)
    assert peak < MEMORY_BOUND, f"the export's memory grew to {peak / 2**20:.1f} MB"
    header, rows, trailer = csv_rows(out)
    assert header[:3] == ["id", "instance_id", "process_id"] and trailer == f"# rows: {total}"
    assert len(rows) == total and len({row[0] for row in rows}) == total  # every event once: no cap, no repeat
    assert rows[-1][header.index("data")] == json.dumps({"n": BIG - 1, "note": "批量"}, ensure_ascii=False)
    print(f"CSV: {total} rows, {seconds:.1f} s, peak {peak / 2**20:.1f} MB")

    response, out, peak = streamed_to_file(client, "/audit/export.json", traced_rows=BIG // 4)
    exported = json.load(out)
    assert peak < MEMORY_BOUND and exported["count"] == len(exported["rows"]) == total
    assert response.headers["X-Row-Count"] == str(total)

    chosen = {"type": "task_completed", "user": "zhuguan"}  # filters apply: count, rows and page agree
    expected = events_in_database(web, HistoryEvent.type == "task_completed", HistoryEvent.actor == "zhuguan")
    assert expected > BIG // 12 - 1
    _response, out, _peak = streamed_to_file(client, "/audit/export.csv", **chosen)
    header, rows, trailer = csv_rows(out)
    assert trailer == f"# rows: {expected}" and len(rows) == expected
    assert {(row[header.index("type")], row[header.index("actor")]) for row in rows} == {("task_completed", "zhuguan")}
    assert f"共 {expected} 条事件" in text(client.get("/audit/", query_string=chosen))


# -- what every export says about itself ---------------------------------------------------------------------

def operations(app, *items) -> None:
    """Operation events: ``(actor, operation, entity_type, entity_id, old, new, reason)`` each."""
    database = app.extensions["liucheng_db"]
    with database.session() as session:
        with engine_database.command(session):
            for actor, operation, entity_type, entity_id, old, new, reason in items:
                history.record_operation(session, actor, operation, entity_type, entity_id, property="assignee",
                                         old=old, new=new, reason=reason, note="=cmd")


def test_the_headers_name_the_file_count_the_rows_and_nothing_compresses_or_caches(refund_world, browser_as, web):
    client = browser_as("shenji")
    for url, name in ((f"/audit/instances/{refund_world.instance_id}/history.csv",
                       f"liucheng-instance-{refund_world.instance_id}-history.csv"),
                      ("/audit/export.json?labels=1", "liucheng-history-search-labels.json")):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        disposition = response.headers["Content-Disposition"]
        assert disposition == f"attachment; filename=\"{name}\"; filename*=UTF-8''{name}"
        assert response.headers["Cache-Control"] == "no-store" and "Content-Encoding" not in response.headers
        assert response.headers["X-Accel-Buffering"] == "no" and "Content-Length" not in response.headers  # streamed
        body = response.get_data(as_text=True)
        count = int(response.headers["X-Row-Count"])
        if url.endswith("csv"):
            assert response.mimetype == "text/csv" and body.startswith("\ufeff")
            assert body.endswith(f"\r\n# rows: {count}\r\n") and body.count("\r\n") == count + 2
        else:
            assert response.mimetype == "application/json" and len(json.loads(body)["rows"]) == count > 0
    assert client.get("/audit/export.xml").status_code == 404
    assert browser_as("zhuguan").get("/audit/export.csv").status_code == 403  # supervisors read no audit exports


def test_an_export_of_nothing_still_says_so(refund_world, browser_as, web):
    client = browser_as("shenji")
    body = client.get("/audit/export.csv", query_string={"process": "no_such"}).get_data(as_text=True)
    assert body == "\ufeffid,instance_id,process_id,business_key,at (Asia/Shanghai),type,actor,element_id,task_id," \
                   "data\r\n# rows: 0\r\n"
    assert json.loads(client.get("/audit/export.json?process=no_such").get_data(as_text=True)) == {"rows": [], "count": 0}


def test_labelled_exports_count_in_the_readers_language(refund_world, browser_as, web):
    client = browser_as("shenji")
    url = f"/audit/instances/{refund_world.instance_id}/history.csv?labels=1"
    response = client.get(url)
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "事件编号" and rows[-1] == [f"# 行数：{len(rows) - 2}"]
    assert response.headers["X-Row-Count"] == str(len(rows) - 2) and rows[1][5] == "流程已发起"
    client.get("/lang/en")
    rows = list(csv.reader(io.StringIO(client.get(url).get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "Event no." and rows[-1] == [f"# rows: {len(rows) - 2}"]
    exported = client.get(url.replace(".csv", ".json")).get_json()
    assert exported["count"] == len(exported["rows"]) == len(rows) - 2 and exported["rows"][0]["event"] == "Instance started"


def test_the_operation_log_exports_with_the_filters_of_its_page(clock, refund_world, browser_as, web):
    operations(web, ("guanli", "reassign", "task", 7, "zhuguan", "caiwu", "休假"),
               ("guanli", "cancel", "instance", refund_world.instance_id, None, None, "重复申请"),
               ("root", "reassign", "task", 8, "caiwu", "zhuguan", "=HYPERLINK(\"x\")"))
    client = browser_as("shenji")
    page = text(client.get("/audit/operations", query_string={"operation": "reassign"}))
    assert 'data-export-rows="2"' in page and "导出（2 行）" in page and "export-progress.js" in page
    link = re.search(r'id="export-operations-csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    response = client.get(link)
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["id", "at (Asia/Shanghai)", "actor", "operation", "entity_type", "entity_id", "property", "old",
                       "new", "reason", "instance_id", "details"]
    assert [(r[2], r[5], r[7], r[8]) for r in rows[1:-1]] == [("guanli", "7", "zhuguan", "caiwu"),
                                                               ("root", "8", "caiwu", "zhuguan")]  # oldest first
    assert rows[2][9] == "'=HYPERLINK(\"x\")" and rows[1][11] == '{"note": "=cmd"}'  # no formula runs
    assert rows[-1] == ["# rows: 2"] and response.headers["X-Row-Count"] == "2"
    exported = client.get("/audit/operations/export.json", query_string={"actor": "guanli"}).get_json()
    assert exported["count"] == 2 and [o["operation"] for o in exported["rows"]] == ["reassign", "cancel"]
    assert exported["rows"][1]["reason"] == "重复申请" and exported["rows"][0]["at"].endswith("+08:00")
    labelled = client.get("/audit/operations/export.json", query_string={"actor": "guanli", "labels": "1"}).get_json()
    assert [o["operation"] for o in labelled["rows"]] == ["转派", "取消实例"] and labelled["rows"][0]["entity_type"] == "任务"
    assert browser_as("zhuguan").get("/audit/operations/export.csv").status_code == 403


def test_the_timeline_and_the_search_say_how_many_rows_their_exports_hold(refund_world, browser_as, web):
    client = browser_as("shenji")
    expected = events_in_database(web, HistoryEvent.instance_id == refund_world.instance_id)
    page = text(client.get(f"/audit/instances/{refund_world.instance_id}"))
    assert f"导出共 {expected} 行" in page and f'data-export-rows="{expected}"' in page
    assert 'data-progress-from="10000"' in page and "正在下载：{rows} / {total} 行…" in page
    page = text(client.get("/audit/", query_string={"type": "instance_started"}))
    assert "导出此结果（1 行）" in page and 'data-export-rows="1"' in page
    client.get("/lang/en")
    page = text(client.get(f"/audit/instances/{refund_world.instance_id}"))
    assert f"Exports hold {expected} rows" in page and "Downloading: {rows} of {total} rows…" in page
    script = client.get("/static/js/export-progress.js")
    assert script.status_code == 200 and b"X-Row-Count" in script.get_data()


# -- a snapshot that lives as long as the download --------------------------------------------------------------

def test_the_count_and_the_rows_agree_while_others_write(clock, refund_world, browser_as, web):
    add_events(web, refund_world.instance_id, 3000, clock.now())
    client = browser_as("shenji")
    response = client.get("/audit/export.csv", buffered=False)
    chunks = response.iter_encoded()
    first = next(chunks)  # the download has begun; events written now are not in it
    add_events(web, refund_world.instance_id, 500, clock.now() + timedelta(hours=2))
    body = (first + b"".join(chunks)).decode("utf-8-sig")
    response.close()
    rows = list(csv.reader(io.StringIO(body)))
    count = int(response.headers["X-Row-Count"])
    assert rows[-1] == [f"# rows: {count}"] and len(rows) - 2 == count
    assert count == events_in_database(web, HistoryEvent.instance_id.is_not(None)) - 500


def test_a_download_dropped_half_way_gives_its_connection_back(clock, refund_world, browser_as, web):
    add_events(web, refund_world.instance_id, 3000, clock.now())
    client = browser_as("shenji")
    pool = web.extensions["liucheng_db"].engine.pool
    before = pool.checkedout()
    response = client.get("/audit/export.json?labels=1", buffered=False)
    assert len(next(response.iter_encoded())) > 0 and pool.checkedout() > before
    response.close()
    assert pool.checkedout() == before
