"""Staged retention executed (issue 10 §2): the planner's boundaries for the ZVH rule
(active 6 months from de-escalation, archived until 12, then deleted) and for Emmen
(deleted 3 months after the evaluation), exceptions with a review date, archived files
closed (403 ``archived``) until reopened, erased consents 410 ``erased``, the evidence
chain still verifying, the dry run changing nothing, the command and the worker as real
processes, and the worker's daily job running once a day."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cases import _client_for, _org_person, _world, emmen_variant

ZVH = '''
[[phases]]
key = "aanmelding"
label = "1. Aanmelding en intake"
visible_to = ["bringer", "procesregisseur", "chair", "coordinator"]

[[phases]]
key = "overleg"
label = "3. Casusoverleg"
visible_to = ["bringer", "procesregisseur", "chair", "coordinator", "participants"]

[[phases]]
key = "afschaling"
label = "4. Afschaling"
visible_to = ["bringer", "procesregisseur", "chair", "coordinator", "participants"]

[retention]
from = "phase:afschaling"
archive_after_months = 6
delete_after_months = 12
exception_max_months = 6
'''

D = dt.date.fromisoformat


@pytest.fixture
def zvh_pack(tmp_path, monkeypatch):
    """The repository's packs plus ``zvh-test``: Emmen's texts with the ZVH phases and retention."""
    return emmen_variant(tmp_path, monkeypatch, "zvh-test", ZVH)


def _case(api, w, reference, opened_on, **extra):
    made = api.post("/api/v1/cases", {"table_id": w["table"], "reference": reference, "opened_on": opened_on,
                                      "brought_by_person_id": w["bringer"], **extra})
    assert made.status_code == 201, made.json
    return made.json["id"]


def _consent(api, w, reference, signed_on, name="Wilhelmina Zeldzaamheid"):
    made = api.post("/api/v1/consents", {
        "table_id": w["table"], "case_ref": reference, "signed_by": "resident", "resident_name": name,
        "resident_birth_date": "1960-04-04", "purpose": "bespreking", "categories": ["name_address"],
        "recipients": [w["ggd"]], "signed_on": signed_on})
    assert made.status_code == 201, made.json
    return made.json["id"]


def _plan(session, on):
    from registry import retention

    session.expire_all()
    return {s.case_id: s for s in retention.plan(session, D(on) if isinstance(on, str) else on)}


def _execute(session, on):
    from registry import retention

    on = D(on) if isinstance(on, str) else on
    session.expire_all()
    done = retention.execute(session, retention.plan(session, on), on)
    session.commit()
    return done


def test_zvh_active_six_months_from_deescalation_archived_until_twelve_then_deleted(api, app_session, zvh_pack):
    from registry.models import Case, CaseEvent, RetentionFigure
    from signatures.evidence import events_for, verify_chain

    w = _world(api, zvh_pack)
    case = _case(api, w, "ZVH-2026-1", "2026-01-01")
    assert api.post(f"/api/v1/cases/{case}/phase", {"phase": "overleg", "on": "2026-02-01"}).status_code == 200
    assert api.post(f"/api/v1/cases/{case}/phase", {"phase": "afschaling", "on": "2026-03-05"}).status_code == 200
    # still in the case conference: the clock does not run, however long it takes
    open_case = _case(api, w, "ZVH-2026-2", "2026-01-01")
    api.post(f"/api/v1/cases/{open_case}/phase", {"phase": "overleg", "on": "2026-01-02"})
    # closed without ever being de-escalated: counted from the closing date
    closed = _case(api, w, "ZVH-2026-3", "2026-01-01")
    assert api.post(f"/api/v1/cases/{closed}/closure", {"on": "2026-04-01", "reason": "referred"}).status_code == 200

    assert _plan(app_session, "2026-09-04") == {}
    due = _plan(app_session, "2026-09-05")
    assert set(due) == {case} and due[case].action == "archive"
    line = due[case].description
    assert line.startswith(f"casus {case} (tafel {w['table']}): archiveren") and "fase afschaling (2026-03-05)" in line
    assert "ZVH-2026" not in line and line.isascii()
    assert set(_plan(app_session, "2026-10-01")) == {case, closed}

    assert [s.case_id for s in _execute(app_session, "2026-09-05")] == [case]
    row = app_session.get(Case, case)
    assert (row.retention_stage, row.archived_on) == ("archived", D("2026-09-05"))
    assert [e.kind for e in app_session.query(CaseEvent).filter_by(case_id=case)][-1] == "archived"
    archived = [e for e in events_for(app_session, "case", case) if e.event == "retention_archived"]
    assert len(archived) == 1 and archived[0].details == {"rule": "retention:archive:6m:phase:afschaling"}
    assert _execute(app_session, "2026-09-05") == []  # a second run the same day does nothing

    assert set(_plan(app_session, "2027-03-04")) == {closed}  # archived, not yet deleted
    due = _plan(app_session, "2027-03-05")
    assert due[case].action == "erase" and "verwijderen - bewaartermijn 12 maanden" in due[case].description
    _execute(app_session, "2027-03-05")
    app_session.expire_all()
    row = app_session.get(Case, case)
    assert row.retention_stage == "erased" and row.reference == f"verwijderd-{case}"
    assert api.get(f"/api/v1/cases/{case}").status_code == 410
    assert _plan(app_session, "2040-01-01").keys() == {closed}  # the open case: never
    figures = {(f.month, f.kind): f.count for f in app_session.query(RetentionFigure).filter_by(table_id=w["table"])}
    assert figures[("2026-09", "case_archived")] == 1 and figures[("2027-03", "case_erased")] == 1
    assert verify_chain(app_session).ok


def test_emmen_deletes_three_months_after_evaluation_never_before_and_never_while_open(api, app_session):
    from registry.models import Consent, RetentionFigure
    from signatures.evidence import verify_chain

    w = _world(api, "emmen-casustafel")
    case = _case(api, w, "EN-2026-01", "2026-01-10")
    consent = _consent(api, w, "EN-2026-01", "2026-01-15")
    _case(api, w, "EN-2026-02", "2025-01-10")  # open for years: never touched
    assert api.get(f"/api/v1/consents/{consent}").status_code == 200
    assert api.post(f"/api/v1/cases/{case}/closure", {"on": "2026-02-01", "reason": "handled"}).status_code == 200
    assert _plan(app_session, "2030-01-01") == {}  # closed but not evaluated: not yet
    assert api.post(f"/api/v1/cases/{case}/evaluation", {"on": "2026-03-15"}).status_code == 200
    assert _plan(app_session, "2026-06-14") == {}
    due = _plan(app_session, "2026-06-15")
    assert set(due) == {case} and due[case].action == "erase"
    assert "3 maanden na evaluatie (2026-03-15)" in due[case].description

    _execute(app_session, "2026-06-15")
    gone = api.get(f"/api/v1/consents/{consent}")
    assert gone.status_code == 410 and gone.json["error"]["code"] == "erased"
    assert api.get(f"/api/v1/consents/{consent}/document.pdf").status_code == 410
    app_session.expire_all()
    row = app_session.get(Consent, consent)
    assert row.resident_name == "" and row.resident_birth_date is None
    figures = {(f.month, f.kind): f.count for f in app_session.query(RetentionFigure).filter_by(table_id=w["table"])}
    assert figures == {("2026-06", "case_erased"): 1, ("2026-06", "consent_erased"): 1}
    assert verify_chain(app_session).ok
    assert api.post(f"/api/v1/cases/{case}/retention-exception",
                    {"reason": "te laat", "review_on": (dt.date.today() + dt.timedelta(days=30)).isoformat()}
                    ).status_code == 410


def test_an_exception_holds_the_case_until_its_review_date(api, app_session):
    from registry import rules
    from registry.models import CaseEvent

    today = rules.today()
    w = _world(api, "emmen-casustafel")
    case = _case(api, w, "EN-LANG", "2024-01-10")
    api.post(f"/api/v1/cases/{case}/closure", {"on": "2024-02-01", "reason": "handled", "evaluated_on": "2024-03-01"})
    assert set(_plan(app_session, today)) == {case}
    path = f"/api/v1/cases/{case}/retention-exception"
    too_far = api.post(path, {"reason": "lopend onderzoek", "review_on": rules.add_months(today, 6)
                              .__add__(dt.timedelta(days=1)).isoformat()})
    assert too_far.status_code == 422 and set(too_far.json["error"]["fields"]) == {"review_on"}
    assert "6 maanden" in too_far.json["error"]["fields"]["review_on"]
    past = api.post(path, {"reason": "lopend onderzoek", "review_on": (today - dt.timedelta(days=1)).isoformat()})
    assert past.status_code == 422 and set(past.json["error"]["fields"]) == {"review_on"}
    no_reason = api.post(path, {"review_on": rules.add_months(today, 3).isoformat()})
    assert no_reason.status_code == 422 and "reason" in no_reason.json["error"]["fields"]
    app_session.expire_all()
    assert app_session.query(CaseEvent).filter_by(case_id=case, kind="exception").count() == 0

    review = rules.add_months(today, 6)
    held = api.post(path, {"reason": "lopend onderzoek", "review_on": review.isoformat()})
    assert held.status_code == 200 and held.json["retention_review_on"] == review.isoformat()
    assert _plan(app_session, today) == {}
    assert _plan(app_session, review - dt.timedelta(days=1)) == {}
    back = _plan(app_session, review)
    assert set(back) == {case} and f"uitzondering tot {review.isoformat()} verlopen" in back[case].description
    # renewed before the review date: held again
    renewal = rules.add_months(today, 2)
    renewed = api.post(path, {"reason": "verlengd", "review_on": renewal.isoformat()})
    assert renewed.status_code == 200 and renewed.json["retention_review_on"] == renewal.isoformat()
    assert _plan(app_session, renewal - dt.timedelta(days=1)) == {}
    assert set(_plan(app_session, renewal)) == {case}
    app_session.expire_all()
    assert [e.reason for e in app_session.query(CaseEvent).filter_by(case_id=case, kind="exception")] == [
        "lopend onderzoek", "verlengd"]


def test_an_archived_file_is_closed_until_reopened(api, app, app_session, client, zvh_pack):
    from registry import rules
    from signatures.evidence import events_for

    today = rules.today()
    w = _world(api, zvh_pack)
    case = _case(api, w, "ZVH-ARCH", "2025-01-01")
    consent = _consent(api, w, "ZVH-ARCH", "2025-01-02")
    api.post(f"/api/v1/cases/{case}/phase", {"phase": "afschaling", "on": "2025-02-01"})
    meeting = api.post("/api/v1/meetings", {
        "table_id": w["table"], "starts_at": (dt.datetime.combine(today + dt.timedelta(days=7), dt.time(14)))
        .isoformat(timespec="minutes"), "cases": [{"case_ref": "ZVH-ARCH", "invitee_ids": [w["chair"]]}]})
    assert meeting.status_code == 201, meeting.json
    before = api.get(f"/api/v1/meetings/{meeting.json['id']}/check").json["cases"][0]
    assert before["retention_stage"] == "active" and len(before["invitees"]) == 1

    assert [s.action for s in _execute(app_session, D("2025-08-01"))] == ["archive"]
    for path in (f"/api/v1/consents/{consent}", f"/api/v1/consents/{consent}/document.pdf",
                 f"/api/v1/consents/{consent}/signed.pdf", f"/api/v1/cases/{case}"):
        refused = api.get(path)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "archived", path
    listed = api.get(f"/api/v1/tables/{w['table']}/cases").json["cases"]
    assert [(c["id"], c["retention_stage"]) for c in listed] == [(case, "archived")]  # findable
    row = api.get(f"/api/v1/meetings/{meeting.json['id']}/check").json["cases"][0]
    assert row["case_ref"] == "ZVH-ARCH" and row["retention_stage"] == "archived" and row["invitees"] == []
    assert [w_["code"] for w_ in row["warnings"]] == ["case_archived"]
    assert "Zeldzaamheid" not in api.get(f"/api/v1/meetings/{meeting.json['id']}/check").get_data(as_text=True)

    chair = _client_for(app, app_session, client, [{"role": "chair", "table_id": w["table"]}], w["chair"])
    refused = chair.post(f"/api/v1/cases/{case}/reopening", {"reason": "nieuwe melding"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert api.post(f"/api/v1/cases/{case}/reopening", {}).status_code == 422
    coordinator = _client_for(app, app_session, client, [{"role": "coordinator", "table_id": w["table"]}])
    reopened = coordinator.post(f"/api/v1/cases/{case}/reopening", {"reason": "nieuwe melding"})
    assert reopened.status_code == 200, reopened.json
    assert reopened.json["retention_stage"] == "active" and reopened.json["archived_on"] is None
    assert reopened.json["retention_review_on"] == rules.add_months(today, 6).isoformat()
    assert api.get(f"/api/v1/consents/{consent}").status_code == 200
    assert api.post(f"/api/v1/cases/{case}/reopening", {"reason": "nog eens"}).status_code == 409
    app_session.expire_all()
    assert [e.event for e in events_for(app_session, "case", case)][-1] == "retention_reopened"
    # held until the review date; then, its term long passed, straight back to the queue
    assert _plan(app_session, today) == {}
    assert _plan(app_session, rules.add_months(today, 6))[case].action == "erase"


# ----------------------------------------------------------------------------- command and worker


def _run(db_url, tmp_path, *args):
    env = {**os.environ, "FORMS_SERVICE_INSTANCE": str(tmp_path / "cli-instance"), "DATABASE_URL": db_url}
    env.pop("MAIL_SERVER", None)
    return subprocess.run([sys.executable, "-m", "forms_service.cli", *args], capture_output=True, text=True,
                          env=env, timeout=120, cwd=Path(__file__).resolve().parents[1])


def _evaluated_long_ago(api, w, reference):
    case = _case(api, w, reference, "2024-01-10")
    closed = api.post(f"/api/v1/cases/{case}/closure", {"on": "2024-02-01", "reason": "handled",
                                                        "evaluated_on": "2024-03-01"})
    assert closed.status_code == 200, closed.json
    return case


def test_the_command_dry_run_changes_nothing_and_the_real_run_prints_one_line_per_case(api, app_session, db_url, tmp_path):
    from registry.models import Case
    from signatures.evidence import events_for

    w = _world(api, "emmen-casustafel")
    first = _evaluated_long_ago(api, w, "EN-OUD-1")
    _consent(api, w, "EN-OUD-1", "2024-01-11")
    second = _evaluated_long_ago(api, w, "EN-OUD-2")
    _case(api, w, "EN-OPEN", "2024-01-10")

    dry = _run(db_url, tmp_path, "retention", "--on", "2024-06-01", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.strip().splitlines()
    assert lines[:-1] == [f"zou: casus {first} (tafel {w['table']}): verwijderen - bewaartermijn 3 maanden na "
                          "evaluatie (2024-03-01) verstreken op 2024-06-01",
                          f"zou: casus {second} (tafel {w['table']}): verwijderen - bewaartermijn 3 maanden na "
                          "evaluatie (2024-03-01) verstreken op 2024-06-01"]
    assert "proefdraai" in lines[-1] and "te verwijderen: 2" in lines[-1] and "EN-OUD" not in dry.stdout
    app_session.expire_all()
    assert {app_session.get(Case, i).retention_stage for i in (first, second)} == {"active"}
    assert not [e for e in events_for(app_session, "case", first) if e.event.startswith("retention_")]

    real = _run(db_url, tmp_path, "retention", "--on", "2024-06-01")
    assert real.returncode == 0, real.stderr
    assert len(real.stdout.strip().splitlines()) == 3 and "verwijderd: 2" in real.stdout
    app_session.expire_all()
    assert {app_session.get(Case, i).retention_stage for i in (first, second)} == {"erased"}
    again = _run(db_url, tmp_path, "retention", "--on", "2024-06-01")
    assert again.returncode == 0 and again.stdout.strip().splitlines() == [
        "Bewaartermijnen op 1 juni 2024: gearchiveerd: 0, verwijderd: 0."]
    verified = _run(db_url, tmp_path, "verify-log")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_the_worker_runs_retention_once_a_day(api, app_session, db_url, tmp_path):
    from registry import rules
    from registry.models import Case, JobRun

    w = _world(api, "emmen-casustafel")
    first = _evaluated_long_ago(api, w, "EN-W-1")
    once = _run(db_url, tmp_path, "worker", "--once")
    assert once.returncode == 0, once.stderr
    assert "bewaartermijnen: gearchiveerd: 0, verwijderd: 1" in once.stdout
    app_session.expire_all()
    assert app_session.get(Case, first).retention_stage == "erased"
    runs = app_session.query(JobRun).order_by(JobRun.job).all()
    assert [(r.job, r.day) for r in runs] == [("document_cache", rules.today()), ("reminders", rules.today()),
                                              ("retention", rules.today()), ("signing-backstop", rules.today())]

    later = _evaluated_long_ago(api, w, "EN-W-2")  # due too, but retention ran today already
    twice = _run(db_url, tmp_path, "worker", "--once")
    assert twice.returncode == 0, twice.stderr
    assert "bewaartermijnen: vandaag al uitgevoerd" in twice.stdout
    app_session.expire_all()
    assert app_session.get(Case, later).retention_stage == "active"
    assert app_session.query(JobRun).filter_by(job="retention").count() == 1


def test_a_daily_job_claimed_elsewhere_is_skipped_and_a_failed_one_tried_again(app, app_session):
    from database.engine import make_session_factory
    from forms_service import worker
    from registry.models import JobRun

    factory = make_session_factory(app.extensions["db_engine"])
    day = D("2026-05-01")

    def boom(session):
        raise RuntimeError("kapot")

    with pytest.raises(RuntimeError):
        worker.daily(factory, "test", day, boom)
    app_session.expire_all()
    assert app_session.query(JobRun).count() == 0  # rolled back with the work
    assert worker.daily(factory, "test", day, lambda s: "klaar") == "klaar"
    assert worker.daily(factory, "test", day, lambda s: "nog eens") is None
    assert worker.daily(factory, "test", day + dt.timedelta(days=1), lambda s: "morgen") == "morgen"
    app_session.expire_all()
    assert sorted((r.day, r.summary) for r in app_session.query(JobRun)) == [(day, "klaar"), (D("2026-05-02"), "morgen")]


def test_make_run_starts_the_worker_beside_gunicorn_and_stops_it_with_gunicorn(tmp_path):
    """scripts/run.sh (what ``make run`` serves with): both up; SIGTERM stops both."""
    import signal
    import socket
    import time

    root = Path(__file__).resolve().parents[1]
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "gunicorn").exists() or not (bin_dir / "forms-service").exists():
        pytest.skip("gunicorn / forms-service are not installed beside this Python")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "BIN": str(bin_dir), "PORT": str(port), "WORKERS": "1", "PYTHONPATH": str(root),
           "FORMS_SERVICE_INSTANCE": str(tmp_path / "inst"), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    assert subprocess.run([str(bin_dir / "forms-service"), "init-db"], env=env, cwd=root,
                          capture_output=True, timeout=120).returncode == 0
    out = (tmp_path / "out.txt").open("w")
    script = subprocess.Popen(["bash", "scripts/run.sh"], env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while "bewaartermijnen" not in (tmp_path / "out.txt").read_text() or "Listening at" not in (
                tmp_path / "out.txt").read_text():
            assert time.monotonic() < deadline and script.poll() is None, (tmp_path / "out.txt").read_text()
            time.sleep(0.2)
        children = subprocess.run(["ps", "-ww", "-o", "cmd=", "-g", str(script.pid)], capture_output=True, text=True).stdout
        assert "forms-service worker" in children and "gunicorn" in children
        script.send_signal(signal.SIGTERM)
        script.wait(timeout=60)
        deadline = time.monotonic() + 30
        while subprocess.run(["ps", "-o", "pid=", "-g", str(script.pid)], capture_output=True, text=True).stdout.strip():
            assert time.monotonic() < deadline, "worker or gunicorn still running"
            time.sleep(0.2)
        assert "Worker gestopt." in (tmp_path / "out.txt").read_text()
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
        out.close()


def test_the_zvh_pack_carries_the_rule_tested_above():
    from registry import packs

    zvh = packs.cached_pack("zorg-en-veiligheidshuis")
    assert zvh.retention == packs.Retention(anchor="phase:afschaling", archive_after_months=6,
                                            delete_after_months=12, exception_max_months=6)
    assert "afschaling" in {p.key for p in zvh.phases}
