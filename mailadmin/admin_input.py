"""The Django admin's own doors for untrusted input, made to answer instead of raising.

`AdminInputGuards` is mixed into the panel's ModelAdmins (users.admin.ScopedAdmin) and, by
mailadmin/admin.py, into those other apps register (django-axes' logs, auth's users).
"""

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList

from mailadmin.params import parse_id


class GuardedChangeList(ChangeList):
    def get_filters(self, request):
        # The date hierarchy builds datetime(year, month, day) from the query string; Django
        # turns a ValueError into "invalid lookup" but not ?x__year=99999999999999999999
        # (OverflowError) or year 9999 (its "next year" is out of range).
        try:
            return super().get_filters(request)
        except (OverflowError, ValueError) as error:
            raise IncorrectLookupParameters(error) from error


class AdminInputGuards:
    def get_changelist(self, request, **kwargs):
        return GuardedChangeList

    def get_object(self, request, object_id, from_field=None):
        # Django passes ?_to_field= on as it came: an empty one names no field (FieldDoesNotExist);
        # any other unknown one is refused before this (DisallowedModelAdminToField, a 400).
        return super().get_object(request, object_id, from_field or None)

    def response_action(self, request, queryset):
        # Django filters pk__in=<the posted values> as they are; `abc` raises ValueError.
        selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        if any(parse_id(value) is None for value in selected):
            self.message_user(request, "The selection was not understood; select the rows again.", messages.ERROR)
            return None
        return super().response_action(request, queryset)


def guard(model_admin):
    """`model_admin`, registered by another app, with the guards mixed into its class."""
    cls = type(model_admin)
    if not issubclass(cls, AdminInputGuards):
        model_admin.__class__ = type(f"Guarded{cls.__name__}", (AdminInputGuards, cls), {})
    return model_admin
