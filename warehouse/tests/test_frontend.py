"""A1 front-end machine push: signed batches from the agency side; forged, stale or replayed pushes refused."""

import csv
import random
import time
import urllib.parse

import pytest
from click.testing import CliRunner

from audit.models import Event
from catalog.models import Resource
from foundation import signing
from core.auth import audit_refusals
from gongshu.cli import main
from gongshu.demo import _synthetic_rows
from warehouse import frontend
from warehouse.models import Batch
from warehouse.services import register_front_end

pytestmark = pytest.mark.django_db


@pytest.fixture
def insurance():
    return Resource.objects.get(name="社会保险参保信息")


@pytest.fixture
def machine(city, tmp_path):
    key = tmp_path / "machine.pem"
    public = frontend.keygen(key)
    return register_front_end(city.actor("cdo_human_resources"), name="人社局前置机", public_key=public), key


def _file(tmp_path, resource):
    header, rows = _synthetic_rows(resource, random.Random(9), 200)
    path = tmp_path / "push.csv"
    with path.open("w", encoding="gbk", newline="") as fh:
        csv.writer(fh).writerows([header] + rows)
    return path


def _signed(machine_obj, key, resource, body, *, timestamp=None, nonce="n" * 16, path=None):
    from cryptography.hazmat.primitives import serialization

    path = path or "/api/v1/data/push?" + urllib.parse.urlencode({"resource": resource.code, "mode": "full", "filename": "push.csv"})
    timestamp = timestamp or str(int(time.time()))
    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    import base64

    signature = base64.b64encode(private.sign(signing.message("POST", path, timestamp, nonce, body))).decode()
    return path, {"HTTP_X_GONGSHU_MACHINE": str(machine_obj.pk), "HTTP_X_GONGSHU_TIME": timestamp,
                  "HTTP_X_GONGSHU_NONCE": nonce, "HTTP_X_GONGSHU_SIGNATURE": signature}


def test_a_signed_push_is_ingested_as_the_agency(client, machine, insurance, tmp_path):
    machine_obj, key = machine
    body = _file(tmp_path, insurance).read_bytes()
    path, headers = _signed(machine_obj, key, insurance, body)
    response = client.post(path, body, content_type="application/octet-stream", **headers)
    assert response.status_code == 201, response.json()
    batch = Batch.objects.get(pk=response.json()["id"])
    assert (batch.channel, batch.status, batch.rows_accepted) == ("front_end", "published", 200)
    event = Event.objects.filter(action="warehouse.publish_snapshot").order_by("-seq").first()
    assert (event.actor_name, event.organisation_name) == ("front-end:人社局前置机", "双鸭山市人力资源和社会保障局")


def test_a_replayed_push_is_refused(client, machine, insurance, tmp_path):
    machine_obj, key = machine
    body = _file(tmp_path, insurance).read_bytes()
    path, headers = _signed(machine_obj, key, insurance, body)
    assert client.post(path, body, content_type="application/octet-stream", **headers).status_code == 201
    again = client.post(path, body, content_type="application/octet-stream", **headers)
    assert again.status_code == 401 and again.json()["code"] == "replayed"


@pytest.mark.parametrize("tamper", ["body", "path", "time", "key"])
def test_a_forged_or_stale_push_is_refused_and_nothing_ingested(client, machine, insurance, tmp_path, tamper):
    machine_obj, key = machine
    body = _file(tmp_path, insurance).read_bytes()
    timestamp = str(int(time.time()) - 3600) if tamper == "time" else None
    if tamper == "key":
        other = tmp_path / "other.pem"
        frontend.keygen(other)
        key = other
    path, headers = _signed(machine_obj, key, insurance, body, timestamp=timestamp)
    if tamper == "body":
        body = body + b"\n"
    if tamper == "path":
        path = path.replace("mode=full", "mode=delta")
    before = Batch.objects.count()
    response = client.post(path, body, content_type="application/octet-stream", **headers)
    assert response.status_code == 401
    assert response.json()["code"] == ("stale_request" if tamper == "time" else "bad_signature")
    assert Batch.objects.count() == before
    audit_refusals(before=time.time() + 120)  # counted per address and minute, as the worker reports it
    event = Event.objects.filter(action="warehouse.authenticate_push", outcome="refused").latest("seq")
    assert event.data["tokens"].get(f"front-end:{machine_obj.pk}") and response.json()["code"] in event.data["codes"]


def test_a_machine_pushes_only_its_own_agencys_data(client, machine, tmp_path):
    machine_obj, key = machine
    household = Resource.objects.get(name="户籍人口基本信息")
    body = _file(tmp_path, household).read_bytes()
    path, headers = _signed(machine_obj, key, household, body)
    assert client.post(path, body, content_type="application/octet-stream", **headers).status_code == 403


def test_registration_refuses_a_bad_key(city):
    from foundation.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        register_front_end(city.actor("officer"), name="x", public_key="not-a-key")


def test_keygen_command(tmp_path):
    result = CliRunner().invoke(main, ["frontend", "keygen", str(tmp_path / "k.pem")])
    assert result.exit_code == 0 and len(result.output.strip()) == 44
    assert oct((tmp_path / "k.pem").stat().st_mode & 0o777) == "0o600"
