"""Every page renders for the roles that use it (and refuses those that may not)."""

import pytest

from catalog.models import Resource
from workflow.models import Case

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("username", ["bureau", "centre", "officer", "staff", "operator", "public", "supervisor", "expert"])
def test_pages_render_for_every_role(client, city, sign_in, username):
    sign_in(username)
    household = Resource.objects.get(name="户籍人口基本信息")
    case = Case.objects.filter(case_type__startswith="catalog_", subject_id=str(household.pk)).first()
    pages = ["/", "/catalog/", "/catalog/?q=户籍&grade=important", f"/catalog/{household.pk}/",
             f"/catalog/{household.pk}/compare/?a=1&b=2", "/catalog/lists/?kind=negative", "/catalog/important/",
             "/catalog/projects/", "/cases/", "/tokens/", "/notifications/"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    case_page = client.get(f"/cases/{case.number}/")
    assert case_page.status_code == (200 if username in ("bureau", "centre", "officer", "staff", "supervisor") else 404)


def test_oversight_is_for_the_bureau(client, sign_in):
    assert sign_in("bureau").get("/catalog/oversight/").status_code == 200
    client.logout()
    assert sign_in("officer").get("/catalog/oversight/").status_code == 403


def test_english_is_the_second_language(client, sign_in):
    sign_in("officer")
    assert "公共数据资源目录" in client.get("/catalog/").content.decode()  # zh-Hans by default
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/catalog/").content.decode()
    assert "Public data resource catalog" in page and "Sign out" in page and "Unconditional sharing" in page


def test_the_sharing_pages_speak_english_too(client, sign_in):
    sign_in("bureau")
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = client.get("/share/").content.decode()
    assert "Requests by state" in page and "Calls per agency (30 days)" in page and "Sharing" in page
