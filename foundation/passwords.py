"""Password rules for MLPS level 3: length (Django's validator) plus a mix of character classes. How many is
the rulebook's (account.password_min_length, account.password_min_classes; the settings pass them)."""

import string

from django.core.exceptions import ValidationError

from . import rulebook


class CharacterClassValidator:
    CLASSES = (
        ("小写字母", set(string.ascii_lowercase)),
        ("大写字母", set(string.ascii_uppercase)),
        ("数字", set(string.digits)),
        ("特殊字符", set(string.punctuation)),
    )

    def __init__(self, min_classes: int | None = None):
        self.min_classes = int(rulebook.value("account.password_min_classes")) if min_classes is None else min_classes

    def validate(self, password, user=None):
        present = sum(1 for _, chars in self.CLASSES if chars.intersection(password))
        if present < self.min_classes:
            raise ValidationError(self.get_help_text(), code="password_too_simple")

    def get_help_text(self):
        return f"密码须包含小写字母、大写字母、数字、特殊字符中的至少 {self.min_classes} 类"
