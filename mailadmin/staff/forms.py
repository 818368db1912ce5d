import copy

from django import forms
from django.contrib.auth import get_user_model

LINK, GENERATE = "link", "generate"


class StaffCreateForm(forms.Form):
    username = forms.CharField(label="Username", max_length=150)
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(label="Email", required=False)
    password_mode = forms.ChoiceField(
        label="First password",
        choices=[
            (LINK, "A one-time link: they choose their own password"),
            (GENERATE, "A generated password, shown once here"),
        ],
        initial=LINK,
        widget=forms.RadioSelect,
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username=username).exists():
            raise forms.ValidationError("An account with this username already exists.")
        return username


class ProfileForm(forms.Form):
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    email = forms.EmailField(label="Email", required=False)


class GrantForm(forms.Form):
    domain = forms.CharField(label="Domain", max_length=255, help_text="Such as example.org.")


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=40,
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True, "inputmode": "text"}),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=10,
        help_text="The 6 digits the app shows now.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ReauthForm(forms.Form):
    password = forms.CharField(label="Your password", strip=False, widget=forms.PasswordInput(attrs={"autofocus": True}))

    def __init__(self, *args, with_code=False, **kwargs):
        super().__init__(*args, **kwargs)
        if with_code:
            self.fields["code"] = copy.deepcopy(CodeForm.base_fields["code"])
