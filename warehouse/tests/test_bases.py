"""A5: population and legal-entity bases consolidated from the statutory sources, each column traceable."""

import pytest

from catalog.models import Resource
from foundation.actor import system_actor
from foundation.errors import Conflict
from warehouse import bases, query
from warehouse.models import Provenance

pytestmark = pytest.mark.django_db


def _rows(name):
    return {r[list(r)[0]]: r for r in query.arrow_of(query.snapshot_of(Resource.objects.get(name=name))).to_pylist()}


def test_the_population_base_takes_each_field_from_its_statutory_source():
    base, household = _rows("人口基础库"), _rows("户籍人口基本信息")
    assert set(base) == set(household)  # keyed by citizen ID, one row per resident
    person = next(iter(household))
    assert base[person]["name"] == household[person]["name"]
    assert base[person]["address"] == household[person]["address"]
    insurance = {r["citizen_id"]: r for r in query.arrow_of(query.snapshot_of(Resource.objects.get(name="社会保险参保信息"))).to_pylist()}
    insured = next(cid for cid in insurance if cid in base)
    assert base[insured]["insurance_status"] == insurance[insured]["status"]


def test_every_column_is_traceable_to_a_source_resource_and_snapshot():
    snapshot = query.snapshot_of(Resource.objects.get(name="人口基础库"))
    provenance = {p.column: p for p in Provenance.objects.filter(snapshot=snapshot).select_related("source_resource", "source_snapshot")}
    assert provenance["name"].source_resource.name == "户籍人口基本信息"
    assert provenance["insurance_status"].source_resource.provider.sector == "human_resources"
    assert provenance["death_date"].source_item == "death_date"
    assert provenance["name"].source_snapshot == query.snapshot_of(Resource.objects.get(name="户籍人口基本信息"))


def test_the_legal_entity_base_is_keyed_by_uscc():
    base, market = _rows("法人基础库"), _rows("市场主体登记信息")
    assert set(base) == set(market)
    uscc = next(iter(market))
    assert base[uscc]["entity_name"] == market[uscc]["entity_name"]


def test_a_rebuild_makes_a_new_snapshot():
    before = Resource.objects.get(name="人口基础库").snapshots.count()
    batch = bases.build(system_actor(), "population")
    assert batch.status == "published" and batch.snapshot.version == before + 1


def test_a_base_without_its_sources_is_refused(settings, tmp_path):
    from foundation import rulebook

    text = (rulebook.RULEBOOK_DIR / "shuangyashan.yaml").read_text(encoding="utf-8").replace(
        "      - {column: death_date, source: death, item: death_date}",
        "      - {column: death_date, source: death, item: death_date}\n"
        "      - {column: disability_no, source: disability, item: certificate_no}",
    )
    path = tmp_path / "city.yaml"
    path.write_text(text, encoding="utf-8")
    settings.GONGSHU_RULEBOOK = str(path)  # no agency has published disability data
    before = Resource.objects.get(name="人口基础库").snapshots.count()
    with pytest.raises(Conflict) as exc:
        bases.build(system_actor(), "population")
    assert exc.value.code == "source_missing" and "disability" in exc.value.message
    assert Resource.objects.get(name="人口基础库").snapshots.count() == before


def test_the_base_is_read_through_the_query_path_masked(city):
    bureau = city.actor("bureau")
    base = Resource.objects.get(name="人口基础库")
    result = query.run(bureau, base, scope=query.scope_for(bureau, base, purpose="人口统计"), limit=1)
    assert len(result.records[0]["citizen_id"]) == 64  # important grade: hashed on output


def test_the_scheduled_refresh_rebuilds_a_base_only_when_a_source_changed_A5(city, tmp_path):
    """A correction (or any delivery) of a source reaches the base at the next scheduled refresh; an
    up-to-date base is left alone."""
    from warehouse.services import correct_record

    assert bases.refresh(system_actor()) == []  # the demo built both bases from the current sources
    household = Resource.objects.get(name="户籍人口基本信息")
    person = next(iter(_rows("户籍人口基本信息")))
    correct_record(city.actor("officer"), household, {"citizen_id": person}, {"name": "更正后"}, reference="JC-TEST")
    built = bases.refresh(system_actor())
    assert [b.resource.name for b in built] == ["人口基础库"] and built[0].status == "published"
    assert _rows("人口基础库")[person]["name"] == "更正后"
    provenance = Provenance.objects.get(snapshot=built[0].snapshot, column="name")
    assert provenance.source_snapshot == query.snapshot_of(household)
    assert bases.refresh(system_actor()) == []
