"""Sharing: the audited per-record lookup over HTTP (token auth, grant check, masking, usage log, receipt)
on the household register left by the warehouse bench (10 M rows), against a plain Ninja endpoint that
returns a constant, in the same run, with concurrent clients; with 1 and 2 gunicorn worker processes."""

from __future__ import annotations

import datetime as dt
import http.client
import multiprocessing
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from django.utils import timezone

CLIENTS = 4
SECONDS = 5
ROUNDS = 3  # as the warehouse bench: each side's best of alternating rounds


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _client(args) -> list[float]:
    port, paths, headers, seconds = args
    latencies, rng = [], random.Random(os.getpid())
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", rng.choice(paths), headers=headers)
        response = connection.getresponse()
        response.read()
        connection.close()
        assert response.status == 200, response.status
        latencies.append(time.perf_counter() - started)
    return latencies


def _load(port, paths, headers) -> tuple[float, float, float]:
    with multiprocessing.get_context("spawn").Pool(CLIENTS) as pool:
        runs = pool.map(_client, [(port, paths, headers, SECONDS)] * CLIENTS)
    latencies = sorted(x for run in runs for x in run)
    return len(latencies) / SECONDS, latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000


def _serve(workers: int, port: int, markers: Path) -> subprocess.Popen:
    env = {**os.environ, "GONGSHU_WARM_LOOKUPS": "1", "GONGSHU_WARM_MARKER_DIR": str(markers),
           "DJANGO_SETTINGS_MODULE": "gongshu.settings",
           "GONGSHU_RATE_TOKEN_PER_MINUTE": "100000000"}  # the limiter runs on every call, but never refuses the bench
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "gongshu.wsgi:application", "--config", "python:gongshu.gunicorn_conf",
                               "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "300", "--log-level", "warning"],
                              env=env, cwd=Path(__file__).resolve().parents[1])
    deadline = time.time() + 900
    while time.time() < deadline and len(list(markers.glob("warm-*"))) < workers:  # every worker has warmed
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode} before its workers were ready")
        time.sleep(0.5)
    return server


def run():
    from catalog.models import Resource
    from core.actor import act_as
    from core.models import User
    from core.services import issue_token
    from sharing import services
    from warehouse import query, usage
    from workflow.services import transition

    household = Resource.objects.get(name="户籍人口基本信息")
    civil = act_as(User.objects.get(username="cdo_civil_affairs"))
    scenario = "基准测试：婚姻登记核验"
    request = services.request_share(civil, household, scenario=scenario, basis="《婚姻登记条例》", method="api",
                                     items=["citizen_id", "name", "gender", "birth_date", "address"],
                                     valid_until=timezone.localdate() + dt.timedelta(days=30))
    transition(act_as(User.objects.get(username="officer")), request.case, "agree")
    request.refresh_from_db()  # agreeing links the grant to the request row
    ref = request.grant.ref
    token = issue_token(civil, name="bench", scopes=["read"])[1]
    snapshot = query.snapshot_of(household)
    keys = query.arrow_of(snapshot).column("citizen_id").to_pylist()
    rng = random.Random(5)
    purpose = urllib.parse.quote(scenario)  # every call declares its purpose, the grant's scenario
    paths = [f"/api/v1/share/{ref}/records?citizen_id={rng.choice(keys)}&purpose={purpose}" for _ in range(5000)]
    del keys
    headers = {"Authorization": f"Bearer {token}"}
    rows = []
    label = f"{snapshot.row_count / 10**6:g}M rows"
    for workers in (1, 2):
        port, markers = _free_port(), Path(tempfile.mkdtemp())
        server = _serve(workers, port, markers)
        try:  # alternating rounds, each side's best (as in the warehouse bench)
            base_rate, base_p50, base_p99 = rate, p50, p99 = 0.0, 0.0, 0.0
            for _ in range(ROUNDS):
                base_rate, base_p50, base_p99 = max((base_rate, base_p50, base_p99), _load(port, ["/api/v1/health"], {}))
                calls, p50_, p99_ = _load(port, paths, headers)
                started = time.perf_counter()
                usage.catch_up()  # the worker's copy of the round's usage-log rows counts too
                copying = time.perf_counter() - started
                rate, p50, p99 = max((rate, p50, p99), (calls * SECONDS / (SECONDS + copying), p50_, p99_))
        finally:
            server.terminate()
            server.wait(timeout=30)
        rows.append((f"sharing lookup over HTTP, {label}, {workers} worker(s), {CLIENTS} clients "
                     f"(p50 {p50:.1f} ms, p99 {p99:.1f} ms) vs constant endpoint (p50 {base_p50:.1f}, p99 {base_p99:.1f})",
                     rate, base_rate, "/s"))
    return rows
