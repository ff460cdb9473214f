"""The catalog review (C2, SYS Art. 12–13) as declarations on the workflow engine."""

from core.models import Role
from workflow.engine import CaseType, State, Transition, register

BUREAU = frozenset({Role.BUREAU_ADMIN})
CENTRE = frozenset({Role.SERVICE_CENTRE_STAFF})
# Whoever submits an entry for its provider: an agency's data officer, or the service centre for the
# base and theme databases it builds (SYS Art. 19).
OFFICER = frozenset({Role.DATA_OFFICER, Role.SERVICE_CENTRE_STAFF})


def _hooks():
    from . import services

    return {
        "bureau_review": services.snapshot_for_review,
        "returned": services.mark_returned,
        "published": services.publish_version,
        "withdrawn": services.mark_withdrawn,
    }


class _LazyHooks(dict):
    """Hooks resolved on first use, so declaring the case type imports no services."""

    def get(self, key, default=None):
        if not self:
            self.update(_hooks())
        return super().get(key, default)


_returned = State("returned", "退回修改", party="provider", deadline="catalog.revise")
_published = State("published", "已发布", final=True)
_withdrawn = State("withdrawn", "已撤回", final=True)
_resubmit = Transition("resubmit", "重新提交", ("returned",), "bureau_review", OFFICER, "provider")
_withdraw = Transition("withdraw", "撤回", ("returned", "bureau_review"), "withdrawn", OFFICER, "provider")

# New entry: agency compiles → bureau reviews → service centre verifies and consolidates →
# city bureau re-reviews → published in the master catalog (SYS Art. 12).
CATALOG_REVIEW = register(
    CaseType(
        name="catalog_review",
        label="目录审核",
        prefix="ML",
        states=[
            State("bureau_review", "主管部门审核", party="bureau", deadline="catalog.review"),
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
        on_enter=_LazyHooks(),
    )
)

# Update of a published entry after a change of legal basis or duty: the bureau reviews and
# publishes within 2 wd of receipt (SYS Art. 13(2)).
CATALOG_UPDATE_REVIEW = register(
    CaseType(
        name="catalog_update_review",
        label="目录更新审核",
        prefix="MG",
        states=[
            State("bureau_review", "主管部门审核", party="bureau", deadline="catalog.update_review"),
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
        on_enter=_LazyHooks(),
    )
)
