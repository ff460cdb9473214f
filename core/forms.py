from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .models import ApiToken


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "用户名或密码错误。连续失败多次后账户将被锁定。",
        "inactive": "该账户已停用。",
    }


class OtpForm(forms.Form):
    code = forms.CharField(label="动态验证码", max_length=6, min_length=6, widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class TokenForm(forms.Form):
    name = forms.CharField(label="名称", max_length=100)
    scopes = forms.MultipleChoiceField(label="权限", choices=ApiToken.Scope.choices, widget=forms.CheckboxSelectMultiple, initial=["read"])
    days = forms.IntegerField(label="有效期（天）", min_value=1, initial=90)
