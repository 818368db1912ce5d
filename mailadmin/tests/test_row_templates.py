"""The big tables' rows are Jinja2 fragments inside Django-template pages (mailadmin/row_templates.py):
they escape as the pages do, fail loudly on a misspelt name, and print times as Django would."""

import datetime

import jinja2
import pytest
from django.template import Context, Template, engines
from django.test import override_settings
from django.utils.safestring import mark_safe

from mailadmin.row_templates import render_fragment


def render_source(source, **context):
    return engines["rows"].from_string(source).render(context)


def test_a_fragment_escapes_what_it_prints():
    assert render_source("{{ value }}", value='<script>x("&")</script>') == "&lt;script&gt;x(&#34;&amp;&#34;)&lt;/script&gt;"


def test_html_the_panel_marked_safe_is_printed_as_it_is():
    assert render_source("{{ value }}", value=mark_safe("<b>kept</b>")) == "<b>kept</b>"


@pytest.mark.parametrize(
    "source, expected",
    [
        ("{{ row.url }}", "/a/"),  # a key
        ("{{ row.items()|list|length }}", "3"),  # a dict's own method, as in Jinja2
        ("{{ row.get('url') }}", "/a/"),
        ("{{ row.keys|length if row.keys is string else 'method' }}", "method"),  # even with that key
        ("{{ counts.missing }}", "0"),  # a dict of another type: Jinja2's own way (a defaultdict adds it)
    ],
)
def test_a_dicts_keys_read_as_jinja2_reads_them(source, expected):
    from collections import defaultdict

    row = {"url": "/a/", "keys": "a key", "n": 1}
    assert render_source(source, row=row, counts=defaultdict(int)) == expected
    for environment in (engines["rows"].env, jinja2.Environment()):  # the same as plain Jinja2's
        assert environment.from_string(source).render(row=row, counts=defaultdict(int)) == expected


def test_a_templates_own_globals_overlay_the_environments_without_changing_them():
    environment = engines["rows"].env
    template = environment.from_string("{{ _('Home') }} {{ greeting }}", globals={"greeting": "hi"})
    assert template.render() == "Home hi"
    template.globals["_"] = lambda text: text.upper()
    assert template.render() == "HOME hi"
    assert environment.from_string("{{ _('Home') }}").render() == "Home"
    assert "greeting" not in environment.globals


def test_a_missing_key_fails_the_render_as_a_misspelt_name_does():
    with pytest.raises(jinja2.UndefinedError):
        render_source("{{ row.ulr }}", row={"url": "/a/"})


def test_a_misspelt_name_fails_the_render_instead_of_printing_nothing():
    with pytest.raises(jinja2.UndefinedError):
        render_source("<td>{{ mailbox.display_emial }}</td>", mailbox=object())


def test_rows_come_back_safe_for_the_django_page_around_them():
    html = Template('{% load fragments %}<table>{% fragment "aliases/_address_rows.jinja" rows=rows %}</table>').render(
        Context({"rows": [{
            "url": "/aliases/a%3Cb@x.example/", "delete_url": "/aliases/a%3Cb@x.example/delete/",
            "display_source": "a<b@x.example", "is_catch_all": False, "destinations": ["<c>@y.example"], "more": 0,
        }]})
    )
    assert "a&lt;b@x.example" in html and "&lt;c&gt;@y.example" in html and "<tr>" in html
    assert render_fragment("aliases/_address_rows.jinja", rows=[]).strip() == ""


MOMENTS = [
    datetime.datetime(2026, 12, 2, 19, 30, 25, tzinfo=datetime.timezone.utc),
    datetime.datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=datetime.timezone.utc),  # a DST change in Berlin
    datetime.datetime(1999, 12, 31, 23, 0, 0, tzinfo=datetime.timezone.utc),
]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns"])
@pytest.mark.parametrize("moment", MOMENTS)
def test_times_are_printed_as_djangos_date_filter_prints_them(zone, moment):
    with override_settings(TIME_ZONE=zone):
        by_django = Template(
            """<time datetime="{{ moment|date:'c' }}">{{ moment|date:"Y-m-d H:i:s" }}</time>"""
        ).render(Context({"moment": moment}))
        by_fragment = render_source("{{ moment|time_element }}", moment=moment)
        # A page of rows looks the zone up once.
        by_rows = render_source("{% set zone = current_zone() %}{{ moment|time_element(zone) }}", moment=moment)
    assert by_fragment == by_rows == by_django


class Html:
    def __html__(self):
        return "<i>its own</i>"


PRINTED_VALUES = {
    "text": 'a<b>"c"&\'d\'',
    "markup": jinja2.utils.markupsafe.Markup("<b>m</b>"),
    "django_safe": mark_safe("<b>s</b>"),
    "number": -42,
    "big_number": 10**30,
    "decimal": __import__("decimal").Decimal("1.50"),
    "fraction": 0.25,
    "flag": True,
    "nothing": None,
    "own_html": Html(),
    "lazy": __import__("django.utils.functional", fromlist=["lazy"]).lazy(lambda: "<lazy & text>", str)(),
    "listed": ["<x>", 1],
}

# Every place a template prints a value: plainly, in blocks, macros, calls, filters, loops, and
# where autoescaping is switched off or decided as the template runs.
PRINTING_TEMPLATES = [
    "{% for name, value in values|dictsort %}[{{ name }}={{ value }}]{% endfor %}",
    "{{ values.text ~ values.markup }}|{{ values.text|e }}|{{ values.markup|safe }}|{{ values.listed|join(',') }}",
    "{% set captured %}<p>{{ values.text }}{{ values.number }}</p>{% endset %}{{ captured }}{{ captured|length }}",
    "{% macro cell(v) %}<td>{{ v }}</td>{% endmacro %}{{ cell(values.text) }}{{ cell(values.own_html) }}",
    "{% macro wrap() %}<div>{{ caller() }}</div>{% endmacro %}{% call wrap() %}{{ values.text }}{% endcall %}",
    "{% filter upper %}{{ values.text }}{{ values.django_safe }}{% endfilter %}",
    "{% autoescape false %}{{ values.text }}{% endautoescape %}{{ values.text }}",
    "{% autoescape switch %}{{ values.text }}{{ values.markup }}{% endautoescape %}",
    "{{ values.nothing }}{{ values.flag }}{{ values.fraction }}{{ values.decimal }}{{ values.big_number }}{{ values.lazy }}",
    "{% if values.text %}{{ values.text[1:4] }}{% endif %}{{ 'literal <b>' }}{{ '<' ~ values.number }}",
]


@pytest.mark.parametrize("switch", [True, False])
@pytest.mark.parametrize("source", PRINTING_TEMPLATES)
def test_printed_values_are_escaped_as_jinja2_escapes_them(source, switch):
    plain = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    context = {"values": PRINTED_VALUES, "switch": switch}
    assert render_source(source, **context) == plain.from_string(source).render(context)


def test_printed_values_skip_the_markup_escape_makes():
    code = engines["rows"].env.compile("{{ a }}{% set b %}{{ a }}{% endset %}{{ a|e }}", raw=True)
    assert code.count("environment.escape_text(") == 3 and "escape(" not in code
