"""Aliases listed as people think of them: one line per address, with its first destinations
and how many there are (the alias list, a domain's page)."""

from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber

from aliases.models import Alias
from users import addresses

# A line shows this many destinations of an address, and counts the rest.
DESTINATIONS_SHOWN = 3


def address_rows(sources):
    """(source, first destinations, how many in all) for each source, in one query."""
    if not sources:
        return []
    ranked = (
        Alias.objects.filter(source__in=sources)
        .annotate(
            position=Window(RowNumber(), partition_by=[F("source")], order_by=F("destination").asc()),
            total=Window(Count("id"), partition_by=[F("source")]),
        )
        .filter(position__lte=DESTINATIONS_SHOWN)
        .values_list("source", "destination", "total")
    )
    found = {}
    for source, destination, total in ranked:
        entry = found.setdefault(source, {"source": source, "destinations": [], "total": total})
        entry["destinations"].append(addresses.address_to_unicode(destination))
    rows = []
    for source in sources:
        entry = found.get(source)
        if entry is None:  # removed since the page was counted
            continue
        entry["display_source"] = addresses.address_to_unicode(source)
        entry["is_catch_all"] = source.startswith("@")
        entry["more"] = entry["total"] - len(entry["destinations"])
        rows.append(entry)
    return rows
