"""Aliases listed as people think of them: one line per address, with its first destinations
and how many there are (the alias list, a domain's page), paged by the address (mailadmin.keyset)."""

from django.db import connection

from aliases.models import Alias
from mailadmin import keyset, utf8mb3
from mailadmin.keyset import Ordering, QuerySetSeek, Seek, Total
from mailadmin.row_urls import RowUrl
from users import addresses

# A line shows this many destinations of an address, and counts the rest.
DESTINATIONS_SHOWN = 3


def address_rows(sources):
    """(source, first destinations, how many in all) for each source, in one query."""
    if not sources:
        return []
    found = {}
    for source, destination, total in _first_destinations(sources):
        entry = found.setdefault(source, {"source": source, "destinations": [], "total": total})
        entry["destinations"].append(addresses.address_to_unicode(destination))
    rows = []
    edit, delete = RowUrl.of("alias-address"), RowUrl.of("alias-address-delete")
    for source in sources:
        entry = found.get(source)
        if entry is None:  # removed since the page was counted
            continue
        entry["display_source"] = addresses.address_to_unicode(source)
        entry["is_catch_all"] = source.startswith("@")
        entry["more"] = entry["total"] - len(entry["destinations"])
        entry["url"], entry["delete_url"] = edit(source), delete(source)
        rows.append(entry)
    return rows


def _first_destinations(sources):
    """(source, destination, rows of the source) for the first DESTINATIONS_SHOWN destinations
    of each source, by source and destination.

    Written out rather than built by the ORM: Django's compiler took 0.9 ms of CPU to build this
    window query (its QUALIFY emulation), nine times what MariaDB takes to answer it, on every
    alias list page and domain page (see bench/RESULTS.md)."""
    name = connection.ops.quote_name
    table, source, destination = name(Alias._meta.db_table), name("source"), name("destination")
    sql = (
        f"SELECT {source}, {destination}, total FROM ("
        f"SELECT {source}, {destination},"
        f" ROW_NUMBER() OVER (PARTITION BY {source} ORDER BY {destination}) AS position,"
        f" COUNT(*) OVER (PARTITION BY {source}) AS total"
        f" FROM {table} WHERE {source} IN ({', '.join(['%s'] * len(sources))})"
        f") ranked WHERE position <= %s ORDER BY {source}, {destination}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*sources, DESTINATIONS_SHOWN])
        return cursor.fetchall()


def _source_key(text):
    # A character the utf8mb3 column cannot hold names no row (and MariaDB would refuse the comparison).
    return text if 0 < len(text) <= addresses.ADDRESS_MAX_LENGTH * 2 and utf8mb3.fits(text) else None


def sources_seek(aliases, kept_as=None):
    """The distinct sources of `aliases` in order: an index-only range scan of the unique
    (source, destination) key. `kept_as`: what the SQL of `aliases` depends on, for the first
    page's statement to be kept (mailadmin.keyset.QuerySetSeek)."""
    return QuerySetSeek(
        aliases.values_list("source", flat=True).distinct(),
        Ordering(("source",)),
        key_of=lambda source: (source,),
        to_text=lambda key: key[0],
        parse=lambda text: None if _source_key(text) is None else (text,),
        kept_as=kept_as,
    )


class SearchSeek(Seek):
    """The distinct sources of the aliases whose source or destination starts with `prefix`.

    One WHERE with `source LIKE 'x%' OR destination LIKE 'x%'` is read by MariaDB as a full scan
    of an index (400-480 ms at 2,000,000 rows); here each side is its own query, merged by the
    database so that the order of the merge is the collation's own. The destination side leaves
    out the sources the source side finds: the two never share an address, so neither the merge
    nor the count has duplicates to remove (counting 1,001 addresses at 2,000,000 aliases:
    1.3-1.6 ms as one UNION, 0.6-0.8 ms as two counts added).

    The sources side is a range of the (source, destination) key, in the list's order. The
    destination side is **picked**: its first `cap` + 1 rows in the destination index's order,
    whose sources are then put in order. Ordering every match by source instead (as a
    destination index range holds them in another order) grew with them: at 2,000,000 aliases
    `user099` (20,000 of them) took 177 ms and `ext19` 336 ms, 5-6 ms at 20,000 aliases. Beyond
    `cap` + 1 such rows the total says "more than `cap`" and the pages list the picked ones'
    sources.
    """

    def __init__(self, aliases, prefix, cap, kept_as=None):
        """`kept_as`: what the SQL of `aliases` depends on (whose list, the domain): the
        statements are built once for it and kept, with places for the prefix and a page's key
        (keyset.kept_sql)."""
        self.aliases, self.prefix, self.cap, self.kept_as = aliases, prefix, cap, kept_as

    def _union(self, limit, order, key=None):
        """SQL and parameters of the two sides' first `limit` sources in `order` ("source" or
        "-source"; beyond `key`), one after the other."""
        return self._kept("union", limit, order, key, self._union_of)

    def _kept(self, kind, limit, order, key, build):
        values = (self.prefix,) if key is None else (self.prefix, key)
        if self.kept_as is None:
            return build(limit, order, *values)
        return keyset.kept_sql(
            (*self.kept_as, kind, self.cap, limit, order, key is None),
            lambda *values: build(limit, order, *values),
            values,
        )

    def _union_of(self, limit, order, prefix, key=None):
        quoted = connection.ops.quote_name("source")
        sides = []
        by_source = self._by_source(limit, order, prefix, key)
        if by_source is not None:
            sides.append((f"SELECT {quoted} FROM ({by_source[0]}) by_source", by_source[1]))
        picked = self._picked_by_destination(prefix)
        if picked is not None:
            direction, beyond = ("DESC", "<") if order.startswith("-") else ("ASC", ">")
            where = "" if key is None else f" WHERE {quoted} {beyond} %s"
            sides.append((
                f"SELECT {quoted} FROM (SELECT DISTINCT {quoted} FROM ({picked[0]}) picked{where}"
                f" ORDER BY {quoted} {direction} LIMIT {int(limit)}) by_destination",
                [*picked[1], *(() if key is None else (key,))],
            ))
        sql = " UNION ALL ".join(side for side, _params in sides)
        return sql, [param for _side, params in sides for param in params]

    def _count_of(self, limit, order, prefix):
        counts, params = [], []
        by_source = self._by_source(limit, order, prefix)
        if by_source is not None:
            counts.append(f"(SELECT COUNT(*) FROM ({by_source[0]}) by_source)")
            params += by_source[1]
        picked = self._picked_by_destination(prefix)
        if picked is not None:
            # More rows picked than the cap: more than the cap of addresses, as far as is known.
            source = connection.ops.quote_name("source")
            counts.append(
                f"(SELECT CASE WHEN COUNT(*) > {int(self.cap)} THEN {int(self.cap) + 1}"
                f" ELSE COUNT(DISTINCT {source}) END FROM ({picked[0]}) picked)"
            )
            params += picked[1]
        return f"SELECT {' + '.join(counts) or 0}", params

    def _by_source(self, limit, order, prefix, key=None):
        """(sql, params) of the first `limit` sources starting with `prefix` in `order` (beyond
        `key`), or None when the list can hold none."""
        # Never Meta.ordering, which would add `destination` to the DISTINCT.
        side = self.aliases.filter(source__istartswith=prefix).values_list("source", flat=True).distinct()
        side = side.order_by(order)
        if key is not None:
            side = side.filter(**{f"source__{'lt' if order.startswith('-') else 'gt'}": key})
        return keyset.sql_of(side[:limit])

    def _picked_by_destination(self, prefix):
        """(sql, params) of the sources of the first `cap` + 1 aliases in the destination index's
        order whose destination starts with `prefix` and source does not, or None."""
        side = self.aliases.filter(destination__istartswith=prefix).exclude(source__istartswith=prefix)
        return keyset.sql_of(side.order_by("destination", "pk").values_list("source", flat=True)[: self.cap + 1])

    def read(self, key, forward, limit, offset=0):
        order = "source" if forward else "-source"
        sql, params = self._union(offset + limit, order, key)
        if not sql:
            return []
        direction = "ASC" if forward else "DESC"
        sql = f"{sql} ORDER BY {connection.ops.quote_name('source')} {direction} LIMIT %s OFFSET %s"
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, limit, offset])
            return [row[0] for row in cursor.fetchall()]

    def count(self):
        """Total of the addresses found, counting at most `cap` + 1 on the sources side, read in
        index order (unordered, MariaDB's DISTINCT went through a temporary table), and the
        picked ones' sources on the other."""
        sql, params = self._kept("count", self.cap + 1, "source", None, self._count_of)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchone()[0]
        return Total.of(found, self.cap)

    def key_of(self, source):
        return source

    def parse(self, text):
        return _source_key(text)
