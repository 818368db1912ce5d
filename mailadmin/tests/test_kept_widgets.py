"""The admin's action bar and the audit log's filter form keep their widgets' HTML: the same HTML
Django renders, and new HTML whenever the choices, the value or the attributes differ."""

from django import forms
from django.contrib.admin import helpers

from mailadmin.kept_widgets import ActionForm

SOME = [("", "---------"), ("set_quota", "Set quota"), ("delete_with_summary", "Delete selected mailboxes")]
FEWER = [("", "---------"), ("delete_with_summary", "Delete selected aliases")]


def rendered(form_class, choices, data=None):
    form = form_class(data, auto_id=None)
    form.fields["action"].choices = choices
    return [str(field) for field in form]


def test_the_action_bar_is_the_html_django_renders():
    for choices in (SOME, FEWER, SOME):
        assert rendered(ActionForm, choices) == rendered(helpers.ActionForm, choices)


def test_other_choices_give_other_html_after_the_first_was_kept():
    rendered(ActionForm, SOME)
    fewer = rendered(ActionForm, FEWER)[0]
    assert "Delete selected aliases" in fewer and "Set quota" not in fewer


def test_a_bound_action_form_shows_the_chosen_action_and_still_validates():
    data = {"action": "set_quota", "select_across": "1"}
    assert rendered(ActionForm, SOME, data) == rendered(helpers.ActionForm, SOME, data)
    assert '<option value="set_quota" selected>' in rendered(ActionForm, SOME, data)[0]
    form = ActionForm(data, auto_id=None)
    form.fields["action"].choices = SOME
    assert form.is_valid() and form.cleaned_data == {"action": "set_quota", "select_across": True}


def test_a_value_the_key_cannot_hold_renders_as_usual():
    from mailadmin.kept_widgets import kept_class

    widget = kept_class(forms.SelectMultiple)(choices=SOME)
    html = widget.render("action", ["set_quota", "delete_with_summary"])
    assert html == forms.SelectMultiple(choices=SOME).render("action", ["set_quota", "delete_with_summary"])


def test_the_audit_filter_form_is_the_html_django_renders_for_each_value():
    from mailadmin.bulk_forms import AuditFilterForm

    class PlainAuditFilterForm(forms.Form):
        actor, object, since, until = (AuditFilterForm.base_fields[name] for name in ("actor", "object", "since", "until"))

    for data in (None, {"actor": "alice", "since": "2026-01-02"}, {"actor": 'bob"<x>', "until": "not a date"}, None):
        kept, plain = AuditFilterForm(data), PlainAuditFilterForm(data)
        assert [str(field) for field in kept] == [str(field) for field in plain]
