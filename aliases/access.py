"""Aliases as a staff user may see them: through the domains they administer (users.access)."""

from django.shortcuts import get_object_or_404

from aliases.models import Alias
from users.access import id_or_404


def aliases_for(user):
    return Alias.objects.visible_to(user)


def get_alias_for_user(user, pk):
    return get_object_or_404(aliases_for(user).select_related("domain"), pk=id_or_404(pk))
