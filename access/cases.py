"""Revoking an entitlement before its end (issue 13) as a case the bureau reviews: the party that may ask
(for a share grant, the provider, or the bureau of the provider's region) states its reason; the holder is
told at once and keeps its access until the bureau decides; approving revokes it on the one lifecycle,
refusing keeps it, and the applicant may withdraw while the bureau has not decided."""

from core.models import Role
from workflow.engine import CaseType, State, Transition, register

BUREAU = frozenset({Role.BUREAU_ADMIN})
APPLICANT = frozenset({Role.DATA_OFFICER, Role.SERVICE_CENTRE_STAFF, Role.BUREAU_ADMIN})

REVOCATION = register(
    CaseType(
        name="revocation",
        label="撤销授权",
        prefix="CX",
        states=[
            State("bureau_review", "主管部门审核", party="bureau", deadline="access.revocation_review"),
            State("revoked", "已撤销", final=True, on_enter="access.services.revoke_from_case"),
            State("kept", "维持授权", final=True),
            State("withdrawn", "已撤回", final=True),
        ],
        transitions=[
            Transition("approve", "同意撤销", ("bureau_review",), "revoked", BUREAU, "bureau", needs_comment=True),
            Transition("refuse", "不同意撤销", ("bureau_review",), "kept", BUREAU, "bureau", needs_comment=True),
            Transition("withdraw", "撤回申请", ("bureau_review",), "withdrawn", APPLICANT, "applicant"),
        ],
    )
)
