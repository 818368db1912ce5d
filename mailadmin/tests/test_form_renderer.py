"""mailadmin.form_renderer: forms render as Django renders them, from the Jinja2 templates."""

from django import forms
from django.conf import settings
from django.forms.renderers import DjangoTemplates
from django.test.html import parse_html

from mailadmin.form_renderer import FormRenderer


class Everything(forms.Form):
    address = forms.EmailField(help_text="Where the mail goes.")
    scheme = forms.ChoiceField(choices=[("BLF-CRYPT", "bcrypt"), ("SHA512-CRYPT", "SHA-512 crypt")])
    domains = forms.MultipleChoiceField(choices=[("1", "a.example"), ("2", "b.example")], widget=forms.CheckboxSelectMultiple)
    active = forms.BooleanField(required=False)
    note = forms.CharField(widget=forms.Textarea, required=False)
    token = forms.CharField(widget=forms.HiddenInput)


def test_the_panel_renders_forms_with_it():
    assert settings.FORM_RENDERER == "mailadmin.form_renderer.FormRenderer"


def test_a_form_with_its_errors_renders_the_same_html_as_with_djangos_templates():
    bound = {"address": "not an address", "scheme": "PLAIN", "domains": ["2"], "note": "<b>hi</b>"}
    for form in (Everything(), Everything(bound)):
        form.is_valid()
        with_django = form.render(renderer=DjangoTemplates())
        with_ours = form.render(renderer=FormRenderer())
        assert parse_html(with_ours) == parse_html(with_django)
    assert "&lt;b&gt;hi&lt;/b&gt;" in with_ours


def test_templates_django_ships_only_in_its_own_language_still_render():
    # The admin's widgets have no Jinja2 version.
    widget = {
        "name": "site", "value": "https://example.org", "attrs": {}, "type": "url",
        "template_name": "django/forms/widgets/input.html", "href": "https://example.org",
    }
    context = {"widget": widget, "url_valid": True, "current_label": "Currently:", "change_label": "Change:"}
    html = FormRenderer().render("admin/widgets/url.html", context)
    assert 'href="https://example.org"' in html
