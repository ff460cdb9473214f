"""Cross-level federation (S9): a second Gongshu instance (the province) runs beside this one (the city)
on loopback. The city exchanges catalogs with it, forwards an agency's share request, the province's
provider approves, the city agency calls the province grant, and both instances log the call; forged and
replayed requests are refused."""

import base64
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.utils import timezone

from audit.models import Event
from foundation import signing
from foundation.actor import system_actor
from core.actor import act_as
from foundation.errors import PermissionDenied
from core.models import User
from sharing import federation
from sharing.models import RemoteCall

pytestmark = [pytest.mark.committed, pytest.mark.federation]
ROOT = Path(__file__).resolve().parents[2]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Province:
    """The upper instance: its own data directory, keys, database and server process."""

    def __init__(self, tmp: Path):
        self.env = {**os.environ, "GONGSHU_DATA_DIR": str(tmp / "province"), "GONGSHU_KEY_DIR": str(tmp / "province-keys"),
                    "GONGSHU_INSTANCE_NAME": "heilongjiang", "DJANGO_SETTINGS_MODULE": "gongshu.settings"}
        self.env.pop("DATABASE_URL", None)  # its own embedded database
        self.port = _port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None

    def cli(self, *args) -> str:
        done = subprocess.run([sys.executable, "-m", "gongshu.cli", *args], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout

    def cli_each(self, *commands: tuple[str, ...]) -> list[str]:
        """Several CLI commands in one child process, as one operator session (one start-up instead of one
        per command); each command's output."""
        script = ("import json, sys\nfrom click.testing import CliRunner\nfrom gongshu.cli import main\nouts = []\n"
                  "for args in json.loads(sys.argv[1]):\n"
                  "    done = CliRunner().invoke(main, args, catch_exceptions=False)\n"
                  "    assert done.exit_code == 0, (args, done.output)\n"
                  "    outs.append(done.output)\n"
                  "print(json.dumps(outs))")
        done = subprocess.run([sys.executable, "-c", script, json.dumps(commands)], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.splitlines()[-1])

    def start(self):
        self.server = subprocess.Popen([sys.executable, "-m", "gunicorn", "gongshu.wsgi:application", "--bind",
                                        f"127.0.0.1:{self.port}", "--workers", "1", "--log-level", "warning"],
                                       env=self.env, cwd=ROOT)
        for _ in range(120):
            try:
                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=5):
                    return
            except OSError:
                time.sleep(0.5)
        raise AssertionError("the province instance did not start")

    def api(self, method, path, token, payload=None):
        request = urllib.request.Request(self.url + path, method=method, data=json.dumps(payload).encode() if payload else None,
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def stop(self):
        if self.server:
            self.server.terminate()
            self.server.wait(timeout=20)


@pytest.fixture(scope="module")
def province(tmp_path_factory, live_server, django_db_setup, django_db_blocker):
    """One province for the module: set up once (a second migrate and demo load), on committed data."""
    instance = Province(tmp_path_factory.mktemp("federation"))
    *_, province_key = instance.cli_each(
        ["migrate"], ["demo", "load"],
        ["federation", "add-peer", "shuangyashan", live_server.url, federation.public_key(), "--level", "lower",
         "--organisation", "双鸭山市数据局"],
        ["federation", "key"])
    instance.start()
    with django_db_blocker.unblock():
        federation.add_peer(system_actor("test"), name="heilongjiang", url=instance.url, public_key=province_key.strip(),
                            level="upper")
    yield instance
    instance.stop()


def test_a_city_agency_calls_a_province_grant_and_both_sides_log_it_S9(province, committed_demo, client):
    entries = federation.remote_catalog("heilongjiang")
    household = next(e for e in entries if e["name"] == "户籍人口基本信息")
    agency = act_as(User.objects.get(username="cdo_civil_affairs"))
    remote = federation.forward_request(agency, "heilongjiang", resource_code=household["code"], scenario="跨省婚姻登记核验",
                                        basis="《婚姻登记条例》", method="api", items=["citizen_id", "name"],
                                        valid_until=timezone.localdate() + dt.timedelta(days=30))
    assert remote.state == "provider_review"
    with pytest.raises(PermissionDenied):
        federation.call_remote(agency, remote, filters={"citizen_id": "x"})  # not granted yet

    token = province.cli("token", "create", "officer", "--scope", "read", "--scope", "write").split()[-1]
    decided = province.api("POST", f"/api/v1/cases/{remote.case_number}/transitions", token, {"name": "agree", "comment": "同意"})
    assert decided["state"] == "granted"
    person = json.loads(province.cli("data", "query", household["code"], "--sql", "SELECT citizen_id FROM data LIMIT 1",
                                     "--purpose", "测试").splitlines()[0])["citizen_id"]
    answer = federation.call_remote(agency, remote, filters={"citizen_id": person})
    (record,) = answer["records"]
    assert set(record) == {"citizen_id", "name"} and record["citizen_id"] != person  # masked by the province's grades
    call = RemoteCall.objects.get(audit_seq=answer["local_receipt"]["event"])  # logged here, with the province's receipt
    assert call.remote_seq == answer["receipt"]["event"] and call.organisation.name == "双鸭山市民政局"
    assert Event.objects.get(seq=call.audit_seq).action == "sharing.remote_call"
    proof = province.cli("audit", "prove", str(call.remote_seq), "--hash", call.remote_hash)  # and logged there
    assert "proven" in proof and "双鸭山市数据局" in proof and "联邦:shuangyashan·双鸭山市民政局" in proof

    client.force_login(User.objects.get(username="cdo_civil_affairs"))  # the same from the web page
    page = client.get("/share/remote/").content.decode()
    assert remote.case_number in page and "户籍人口基本信息" in page and remote.grant_ref in page
    looked = client.post("/share/remote/", {"action": "lookup", "remote": remote.pk, "key": f"citizen_id={person}"}).content.decode()
    assert "remote-answer" in looked and str(RemoteCall.objects.latest("pk").remote_seq) in looked


def test_forged_and_replayed_federation_requests_are_refused_S9(province, committed_demo):
    path = "/api/v1/federation/catalog"
    key = signing.load_private_key(Path(province.env["GONGSHU_KEY_DIR"]) / "federation-ed25519.pem")  # not the city's key
    status, answer = signing.send(province.url, "GET", path, key=key, sender=("X-Gongshu-Peer", "shuangyashan"))
    assert status == 401 and answer["code"] == "bad_signature"
    own = signing.load_private_key(federation._key_path())
    timestamp, nonce, signature = signing.sign(own, "GET", path, b"")
    headers = {"X-Gongshu-Peer": "shuangyashan", "X-Gongshu-Time": timestamp, "X-Gongshu-Nonce": nonce,
               "X-Gongshu-Signature": signature}
    with urllib.request.urlopen(urllib.request.Request(province.url + path, headers=headers), timeout=30) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as replay:
        urllib.request.urlopen(urllib.request.Request(province.url + path, headers=headers), timeout=30)
    assert replay.value.code == 401 and json.loads(replay.value.read())["code"] == "replayed"
    stale = signing.message("GET", path, str(int(time.time()) - 3600), "0123456789abcdef", b"")
    headers.update({"X-Gongshu-Time": str(int(time.time()) - 3600), "X-Gongshu-Nonce": "0123456789abcdef",
                    "X-Gongshu-Signature": base64.b64encode(own.sign(stale)).decode()})
    with pytest.raises(urllib.error.HTTPError) as old:
        urllib.request.urlopen(urllib.request.Request(province.url + path, headers=headers), timeout=30)
    assert json.loads(old.value.read())["code"] == "stale_request"
