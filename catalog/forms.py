from django import forms

from foundation import rulebook
from foundation.viewkit import date_input
from grading.models import Category, Grade
from grading.scheme import sensitivity_types

from .models import DataItem, Resource

_FIELD_ORDER = [
    "name", "summary", "data_format", "industry_category", "category", "temporal_start", "temporal_end",
    "update_frequency", "share_type", "share_conditions", "share_methods", "open_type", "open_conditions",
    "operation_status", "operation_scenarios", "legal_basis", "change_reason",
]


class ResourceForm(forms.ModelForm):
    """The data officer's draft form; the rules themselves live in the service (errors come back here)."""

    share_methods = forms.MultipleChoiceField(
        label="共享方式", choices=Resource.ShareMethod.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    category = forms.ModelChoiceField(label="数据分类", queryset=Category.objects.all(), required=False)

    class Meta:
        model = Resource
        fields = _FIELD_ORDER
        widgets = {
            "temporal_start": date_input(),
            "temporal_end": date_input(),
            "summary": forms.Textarea(attrs={"rows": 3}),
            "share_conditions": forms.Textarea(attrs={"rows": 2}),
            "open_conditions": forms.Textarea(attrs={"rows": 2}),
            "operation_scenarios": forms.Textarea(attrs={"rows": 2}),
            "legal_basis": forms.Textarea(attrs={"rows": 2}),
            "change_reason": forms.Textarea(attrs={"rows": 2, "placeholder": "调整已发布数据项分级时必填"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in _FIELD_ORDER:
            if name != "name":
                self.fields[name].required = False

    def _post_clean(self):
        pass  # model validation is the service's job, not the form's


def _source_choices():
    book = rulebook.current()
    return [("", "—")] + [(key, f"{s.label}（{s.article}）") for key, s in book.sources.items()]


def _sensitivity_choices():
    return [("", "—")] + [(key, t.label) for key, t in sensitivity_types().items()]


class ItemForm(forms.ModelForm):
    category = forms.ModelChoiceField(label="分类", queryset=Category.objects.all(), required=False)
    grade = forms.ModelChoiceField(label="分级", queryset=Grade.objects.all(), required=False)
    sensitivity = forms.ChoiceField(label="敏感类型", required=False)
    source_type = forms.ChoiceField(label="基础数据类型", required=False)

    class Meta:
        model = DataItem
        fields = ["name", "column", "data_type", "category", "grade", "sensitivity", "source_type", "source_agency",
                  "is_key", "required", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sensitivity"].choices = _sensitivity_choices()
        self.fields["source_type"].choices = _source_choices()
        self.fields["source_agency"].queryset = self.fields["source_agency"].queryset.filter(kind="agency")
        self.fields["source_agency"].required = False

    def _post_clean(self):
        pass


ItemFormSet = forms.formset_factory(ItemForm, extra=2, can_delete=True)
