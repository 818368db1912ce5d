from datetime import date

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from mailadmin.kept_widgets import KeptWidgets
from users import addresses
from users.models import Domain

# Large enough for 100,000 rows with hashes (about 15 MB).
MAX_IMPORT_BYTES = 50 * 1024 * 1024


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Mailboxes: email,password,quota (password in plaintext or as a {SCHEME} hash). "
        "Aliases: source,destination. The first line names the columns.",
    )
    # The checksum of the file the dry run showed, so "apply" writes exactly what was checked.
    checked = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError("The file is larger than 50 MB; split it.")
        return upload


class ExportForm(forms.Form):
    what = forms.ChoiceField(choices=[("mailboxes", "Mailboxes"), ("aliases", "Aliases")])
    # A text field, not a <select>: rendering a thousand options costs more than the page may take.
    domain = forms.CharField(required=False, help_text="Empty for all your domains.")
    hashes = forms.BooleanField(
        required=False,
        label="Include password hashes",
        help_text="Only for moving mailboxes to another server; the file then needs the care a password does.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not user.is_superuser:
            del self.fields["hashes"]

    def clean_domain(self):
        text = self.cleaned_data["domain"].strip()
        if not text:
            return None
        try:
            name = addresses.normalize_domain(text)
        except addresses.AddressError as error:
            raise forms.ValidationError(str(error))
        domain = Domain.objects.visible_to(self.user).filter(name=name).first()
        if domain is None:
            raise forms.ValidationError(f"{text} is not one of your domains.")
        return domain


# Dates a timestamp can be compared with in any time zone (year 1 or 9999 would overflow).
AUDIT_DATES = [MinValueValidator(date(1970, 1, 1)), MaxValueValidator(date(9998, 12, 31))]


class AuditFilterForm(KeptWidgets, forms.Form):
    actor = forms.CharField(required=False)
    object = forms.CharField(required=False, label="Object contains")
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}),
                            validators=AUDIT_DATES)
    until = forms.DateField(required=False, label="Until", widget=forms.DateInput(attrs={"type": "date"}),
                            validators=AUDIT_DATES)
