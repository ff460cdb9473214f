"""G1, SEC3: data whose grade asks for it is encrypted at rest (SM4-GCM wrapped keys, key apart from data)."""

import pyarrow.parquet as pq
import pytest
from django.conf import settings

from catalog.models import Resource
from warehouse import query, storage

pytestmark = pytest.mark.django_db


def _snapshot(name):
    return query.snapshot_of(Resource.objects.get(name=name))


def test_sensitive_data_is_encrypted_and_public_data_is_not():
    assert _snapshot("户籍人口基本信息").encrypted
    assert not _snapshot("市场主体登记信息").encrypted


def test_no_identifier_is_readable_in_the_file():
    snapshot = _snapshot("户籍人口基本信息")
    some_id = query.arrow_of(snapshot).column("citizen_id")[0].as_py()
    raw = storage.absolute(snapshot.path).read_bytes()
    assert some_id.encode() not in raw
    with pytest.raises(OSError):
        pq.read_table(storage.absolute(snapshot.path))  # without the key service: unreadable


def test_the_master_key_lives_apart_from_the_data():
    key = settings.GONGSHU_KEY_DIR / "warehouse-master.key"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
    assert settings.GONGSHU_DATA_DIR not in key.parents


def test_the_query_path_reads_encrypted_snapshots(city):
    household = Resource.objects.get(name="户籍人口基本信息")
    officer = city.actor("officer")
    result = query.run(officer, household, scope=query.scope_for(officer, household, purpose="核对"),
                       sql="SELECT count(*) AS n FROM data")
    assert result.rows == [(2001,)]


def test_aes_gcm_is_selectable(settings, tmp_path):
    import pyarrow as pa

    from warehouse import crypto

    settings.GONGSHU_KEY_WRAP = "aes-gcm"
    staged, _, _ = storage.stage(pa.table({"k": ["230502199001011234"]}), encrypt=True)
    path = staged / "data.parquet"
    assert b"230502199001011234" not in path.read_bytes()
    assert crypto.dataset(path, encrypted=True).to_table().column("k")[0].as_py() == "230502199001011234"
    storage.discard(path)
