"""The audit actions of the case engine (SEC1). Each step of a case is recorded as
``workflow.<case type>.<transition>``: that family is listed from the registered case types, labelled
"<case type>：<transition>", so a case type declares its steps once, in its own declaration."""

from audit.actions import declare, declare_family

OPENING = "open"  # the step open_case records unless its caller names another (the caller declares that one)

declare({
    "workflow.transition": "办理办件",
    "workflow.raise_overdue_cases": "督办逾期办件",
    "workflow.raise_overdue": "逾期办件提请主管部门督办",
})


def _steps() -> dict[str, str]:
    from . import engine

    labels = {}
    for case_type in engine.case_types():
        labels[f"workflow.{case_type.name}.{OPENING}"] = f"{case_type.label}：发起"
        for transition in case_type.transitions:
            labels[f"workflow.{case_type.name}.{transition.name}"] = f"{case_type.label}：{transition.label}"
    return labels


declare_family("workflow.", _steps)
