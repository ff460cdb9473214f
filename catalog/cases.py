"""The catalog review (C2, SYS Art. 12–13) as declarations on the workflow engine."""

from core.models import Role
from workflow.engine import CaseType, State, Transition, register

BUREAU = frozenset({Role.BUREAU_ADMIN})
CENTRE = frozenset({Role.SERVICE_CENTRE_STAFF})
# Whoever submits an entry for its provider: an agency's data officer, or the service centre for the
# base and theme databases it builds (SYS Art. 19).
OFFICER = frozenset({Role.DATA_OFFICER, Role.SERVICE_CENTRE_STAFF})

# Entering review freezes the working copy as a new version; publishing puts that version in force.
_review = State("bureau_review", "主管部门审核", party="bureau", deadline="catalog.review",
                on_enter="catalog.services.snapshot_for_review")
_returned = State("returned", "退回修改", party="provider", deadline="catalog.revise", on_enter="catalog.services.mark_returned")
_published = State("published", "已发布", final=True, on_enter="catalog.services.publish_version")
_withdrawn = State("withdrawn", "已撤回", final=True, on_enter="catalog.services.mark_withdrawn")
_resubmit = Transition("resubmit", "重新提交", ("returned",), "bureau_review", OFFICER, "provider")
_withdraw = Transition("withdraw", "撤回", ("returned", "bureau_review"), "withdrawn", OFFICER, "provider")

# New entry: agency compiles → bureau reviews → service centre verifies and consolidates →
# city bureau re-reviews → published in the master catalog (SYS Art. 12).
CATALOG_REVIEW = register(
    CaseType(
        name="catalog_review",
        label="目录审核",
        prefix="ML",
        summary="catalog.cases.review_facts",
        states=[
            _review,
            State("verifying", "服务机构校核汇总", party="service_centre", deadline="catalog.verify"),
            State("re_review", "主管部门复核", party="city_bureau", deadline="catalog.re_review"),
            _returned,
            _published,
            _withdrawn,
        ],
        transitions=[
            Transition("approve", "审核通过", ("bureau_review",), "verifying", BUREAU, "bureau"),
            Transition("return", "退回", ("bureau_review",), "returned", BUREAU, "bureau", needs_comment=True),
            Transition("verify", "校核通过", ("verifying",), "re_review", CENTRE, "service_centre"),
            Transition("return_by_centre", "校核退回", ("verifying",), "returned", CENTRE, "service_centre", needs_comment=True),
            Transition("publish", "复核通过并发布", ("re_review",), "published", BUREAU, "city_bureau"),
            Transition("return_on_re_review", "复核退回", ("re_review",), "returned", BUREAU, "city_bureau", needs_comment=True),
            _resubmit,
            _withdraw,
        ],
    )
)

# Update of a published entry after a change of legal basis or duty: the bureau reviews and
# publishes within 2 wd of receipt (SYS Art. 13(2)).
CATALOG_UPDATE_REVIEW = register(
    CaseType(
        name="catalog_update_review",
        label="目录更新审核",
        prefix="MG",
        summary="catalog.cases.review_facts",
        states=[
            State("bureau_review", "主管部门审核", party="bureau", deadline="catalog.update_review",
                  on_enter="catalog.services.snapshot_for_review"),
            _returned,
            _published,
            _withdrawn,
        ],
        transitions=[
            Transition("publish", "审核通过并发布", ("bureau_review",), "published", BUREAU, "bureau"),
            Transition("return", "退回", ("bureau_review",), "returned", BUREAU, "bureau", needs_comment=True),
            _resubmit,
            _withdraw,
        ],
    )
)

# The duty to update an entry after its legal basis or statutory duties change (SYS Art. 13(1)): the
# provider records the change and its day; the entry's update must be submitted within 10 wd of that day.
# Submitting the update ends the duty (catalog.services.submit_resource); the provider may instead explain
# that the entry needs no change. Past the deadline the bureau is told, as for any overdue case.
CATALOG_UPDATE_DUTY = register(
    CaseType(
        name="catalog_update_duty",
        label="目录更新义务",
        prefix="MU",
        states=[
            State("updating", "提供部门更新目录", party="provider", deadline="catalog.update"),
            State("submitted", "已报送更新", final=True),
            State("unchanged", "目录无需更新", final=True),
        ],
        transitions=[
            Transition("submitted", "报送目录更新", ("updating",), "submitted", OFFICER, "provider"),
            Transition("unchanged", "说明无需更新", ("updating",), "unchanged", OFFICER, "provider", needs_comment=True),
        ],
    )
)

# An information-system project built with budget funds (C3, SYS Art. 14): the owner files the catalog the
# project involves when it is approved, and the bureau of its level reviews the filing; before acceptance
# the owner updates that catalog and aggregates the data, and acceptance checks both: every filed entry
# published, its data mounted. The check is the entries' own (each passed the bureau's catalog review), so
# acceptance may come while the filing review is still open.
PROJECT = register(
    CaseType(
        name="information_system_project",
        label="信息化项目目录备案与验收",
        prefix="XM",
        states=[
            State("filing_review", "主管部门审核项目目录", party="bureau", deadline="project.filing_review"),
            State("returned", "建设单位补正目录", party="owner", deadline="project.revise"),
            State("filed", "已备案（验收前更新目录并归集数据）"),
            State("accepted", "已验收", final=True, on_enter="catalog.services.accept_project_from_case"),
        ],
        transitions=[
            Transition("file", "审核通过，予以备案", ("filing_review",), "filed", BUREAU, "bureau"),
            Transition("return", "退回补正", ("filing_review",), "returned", BUREAU, "bureau", needs_comment=True),
            Transition("resubmit", "补正后重新提交", ("returned",), "filing_review", OFFICER, "owner"),
            Transition("accept", "竣工验收（目录已发布、数据已归集）", ("filing_review", "returned", "filed"), "accepted",
                       OFFICER, "owner"),
        ],
    )
)


def review_facts(actor, case):
    """A catalog review shows the entry and what changed against the published version (or, for a new
    entry, its fields), with the side-by-side comparison linked."""
    from workflow.engine import Fact

    from . import diff
    from .models import Resource, ResourceVersion

    resource = Resource.objects.get(pk=case.subject_id)
    facts = [Fact("目录", f"{resource.code} {resource.name}", f"/catalog/{resource.pk}/"), Fact("提供部门", resource.provider_name)]
    version = ResourceVersion.objects.filter(resource=resource, case=case).order_by("-number").first()
    if version is None:
        return facts
    # the version in force when it was submitted: the one before it (a new entry has none)
    published = ResourceVersion.objects.filter(resource=resource, number__lt=version.number).order_by("-number").first()
    fields, items = diff.compare(published.data if published else {}, version.data)
    against = f"v{published.number}" if published else "（新编目录）"
    facts.append(Fact("报审版本", f"v{version.number}，对比 {against}",
                      f"/catalog/{resource.pk}/compare/?a={published.number}&b={version.number}" if published else ""))
    for change in fields:
        facts.append(Fact(change.label, f"{change.old} → {change.new}" if published else change.new))
    for item in items:
        detail = "；".join(f"{c.label}：{c.old} → {c.new}" for c in item.changes)
        facts.append(Fact(f"数据项 {item.name}", {"added": "新增", "removed": "删除"}.get(item.kind, detail)))
    return facts
