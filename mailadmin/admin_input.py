"""The Django admin's own doors for untrusted input, made to answer instead of raising."""

from django.contrib import admin, messages

from mailadmin.params import parse_id


class ActionSelectionMustBeIds:
    """ModelAdmin mixin: an action posted with selected "ids" that are not ids gets a message.

    Django's admin filters `pk__in=<the posted values>` as they are, and the database field
    raises ValueError on `abc` — a 500 for a hand-made POST."""

    def response_action(self, request, queryset):
        selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
        if any(parse_id(value) is None for value in selected):
            self.message_user(request, "The selection was not understood; select the rows again.", messages.ERROR)
            return None
        return super().response_action(request, queryset)
