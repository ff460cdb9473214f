from django import forms

from .models import DataItem, Resource

_FIELD_ORDER = [
    "name", "summary", "data_format", "industry_category", "temporal_start", "temporal_end", "update_frequency",
    "share_type", "share_conditions", "share_methods", "open_type", "open_conditions", "operation_status",
    "operation_scenarios", "legal_basis",
]


class ResourceForm(forms.ModelForm):
    """The data officer's draft form; the rules themselves live in the service (errors come back here)."""

    share_methods = forms.MultipleChoiceField(
        label="共享方式", choices=Resource.ShareMethod.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Resource
        fields = _FIELD_ORDER
        widgets = {
            "temporal_start": forms.DateInput(attrs={"type": "date"}),
            "temporal_end": forms.DateInput(attrs={"type": "date"}),
            "summary": forms.Textarea(attrs={"rows": 3}),
            "share_conditions": forms.Textarea(attrs={"rows": 2}),
            "open_conditions": forms.Textarea(attrs={"rows": 2}),
            "operation_scenarios": forms.Textarea(attrs={"rows": 2}),
            "legal_basis": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in _FIELD_ORDER:
            if name != "name":
                self.fields[name].required = False

    def _post_clean(self):
        pass  # model validation is the service's job, not the form's


class ItemForm(forms.ModelForm):
    class Meta:
        model = DataItem
        fields = ["name", "column", "data_type", "description", "is_key", "required"]

    def _post_clean(self):
        pass


ItemFormSet = forms.formset_factory(ItemForm, extra=2, can_delete=True)
