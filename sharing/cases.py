"""The share request (S3, SYS Art. 27) as a declaration on the workflow engine.

Unconditional data: the bureau reviews, then the applicant has access. Conditional data: the provider
decides within its deadline, and a refusal states its reasons. The applicant may withdraw while it waits.
"""

from core.models import Role
from workflow.engine import CaseType, State, Transition, register

BUREAU = frozenset({Role.BUREAU_ADMIN})
PROVIDER = frozenset({Role.DATA_OFFICER, Role.SERVICE_CENTRE_STAFF})  # the service centre provides the bases
APPLICANT = frozenset({Role.DATA_OFFICER, Role.AGENCY_STAFF})


class _Hooks(dict):
    def get(self, key, default=None):
        if not self:
            from . import services

            self.update({"granted": services.grant_from_case, "refused": services.tell_applicant,
                         "withdrawn": services.tell_applicant})
        return super().get(key, default)


SHARE_REQUEST = register(
    CaseType(
        name="share_request",
        label="共享申请",
        prefix="GX",
        states=[
            State("bureau_review", "主管部门审核", party="bureau", deadline="share.unconditional.review"),
            State("provider_review", "提供部门审核", party="provider", deadline="share.conditional.review"),
            State("granted", "已授权", final=True),
            State("refused", "不予共享", final=True),
            State("withdrawn", "已撤回", final=True),
        ],
        transitions=[
            Transition("approve", "审核通过", ("bureau_review",), "granted", BUREAU, "bureau"),
            Transition("refuse", "不予通过", ("bureau_review",), "refused", BUREAU, "bureau", needs_comment=True),
            Transition("agree", "同意共享", ("provider_review",), "granted", PROVIDER, "provider"),
            Transition("decline", "不同意共享", ("provider_review",), "refused", PROVIDER, "provider", needs_comment=True),
            Transition("withdraw", "撤回申请", ("bureau_review", "provider_review"), "withdrawn", APPLICANT, "applicant"),
        ],
        on_enter=_Hooks(),
    )
)
