"""The rows of the panel's big tables and their page links, and the busiest parts of the Django
admin's change lists, rendered by Jinja2 inside the Django-template pages.

Django's template language spends about 10 µs of CPU on each value it prints (a lookup through
the context stack, escaping through a lazy-aware wrapper) and more on each tag: a 50-row table
was most of what a list page spent in Python. Jinja2 compiles a template to a Python function
and escapes with MarkupSafe's C code. Only these fragments (`templates/**/_*.jinja`) and the
admin's change list page (mailadmin/admin_page.py) are Jinja2: the panel's pages, forms and the
rest of Django's admin stay in Django's language, and tests keep reading the views' context. The
admin's fragments and page print what Django's own templates print, checked page by page
against them.
"""

import jinja2
import jinja2.compiler
from django.template import defaultfilters, engines
from django.templatetags.static import static
from django.utils import formats, timezone, translation
from django.utils.encoding import iri_to_uri
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from markupsafe import Markup, escape

from mailadmin.admin_pagination import paginator_number

try:
    from markupsafe import _escape_inner  # MarkupSafe's C escaping of a str, to a str
except ImportError:  # pragma: no cover - a MarkupSafe without it

    def _escape_inner(text):
        return str(escape(text))


# A dict's own attributes (items, keys, get …): `d.items` stays the method, as in Jinja2.
_DICT_ATTRIBUTES = frozenset(dir(dict))


def escape_text(value):
    """The text MarkupSafe's escape(value) gives, for a value a template prints. escape() wraps
    the text in a Markup, and making one asks a string for __html__ and catches the
    AttributeError: 3,800 of the 4,600 instructions each printed string cost."""
    kind = type(value)
    if kind is str:
        return _escape_inner(value)
    if kind is int:
        return str(value)  # digits and a sign: nothing to escape
    if hasattr(value, "__html__"):
        return value.__html__()
    return _escape_inner(str(value))


class CodeGenerator(jinja2.compiler.CodeGenerator):
    """Jinja2's code generator, with each value a template prints escaped by escape_text() rather
    than escape(). Only the text of a printed value is ever used: the template's result, a
    block's, a macro's or a {% set %} block's is its outputs joined, and made a Markup whole.
    Where autoescaping is decided as the template runs ({% autoescape %} with a variable), and
    for every expression that is not printed (`x|e`, `x ~ y`), Jinja2's code is unchanged."""

    def _output_child_pre(self, node, frame, finalize):
        if not frame.eval_ctx.autoescape or frame.eval_ctx.volatile:
            return super()._output_child_pre(node, frame, finalize)
        self.write("environment.escape_text(")
        if finalize.src is not None:
            self.write(finalize.src)


class Environment(jinja2.Environment):
    """Jinja2's environment, without two kinds of exception Jinja2 raises and catches as it renders.

    `d.name` on a dict reads d["name"] straight away. Jinja2 tries the attribute first and
    catches the AttributeError for every key a template prints: the alias list's rows (dicts)
    spent 17 % of the page's instructions on those exceptions. What a template gets is the
    same: a dict's keys are found only after its attributes either way.

    A template's globals are a dict, not Jinja2's ChainMap over the environment's: every render
    copies them, and the ChainMap raised a KeyError for each global found in the second map.
    Jinja2 asks not to change the environment's globals once templates are loaded; this
    environment's are set when it is made (environment()).

    Printed values are escaped by escape_text() (CodeGenerator)."""

    code_generator_class = CodeGenerator
    escape_text = staticmethod(escape_text)

    def make_globals(self, d):
        return {**self.globals, **(d or {})}

    def getattr(self, obj, attribute):
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        # jinja2.Environment.getattr, written out: a super() call cost every other lookup a frame.
        try:
            return getattr(obj, attribute)
        except AttributeError:
            pass
        try:
            return obj[attribute]
        except (TypeError, LookupError, AttributeError):
            return self.undefined(obj=obj, name=attribute)


def environment(**options):
    # A misspelt name fails the render (and the tests) instead of printing nothing.
    env = Environment(**{**options, "undefined": jinja2.StrictUndefined})
    env.globals.update(
        current_zone=timezone.get_current_timezone, paginator_number=paginator_number,
        static=static, _=translate, ngettext=translate_plural,
    )
    env.filters.update(
        time_element=time_element, slugify=slugify, capfirst=defaultfilters.capfirst, iriencode=iri_to_uri,
        localize=formats.localize,
    )
    return env


def time_element(moment, zone=None):
    """<time> with the moment in the panel's time zone, for machines as Django's `|date:"c"`
    prints it (ISO 8601) and for people as `|date:"Y-m-d H:i:s"` does: one conversion for both.
    `zone`: the current time zone (current_zone()), looked up once for many rows rather than
    once a row (a lookup in a context-local: 5 % of an audit page's CPU)."""
    iso = timezone.localtime(moment, zone).isoformat()  # YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM
    # Both forms from one isoformat(): strftime for the second cost 3 µs of the 5.5 a row.
    # A SafeString, not a Markup, which asks the text for __html__ (an exception raised and caught).
    return SafeString(f'<time datetime="{iso}">{iso[:10]} {iso[11:19]}</time>')


def translate(message, **values):
    """{{ _("…") }}: Django's translation of an admin string, as {% translate %} prints it, or
    with `values` put in (escaped) as {% blocktranslate %} does. Not Jinja2's i18n extension:
    installed, it made every fragment of the panel's pages cost 0.7 % more instructions."""
    text = translation.gettext(message)
    return Markup(text) % values if values else text


def translate_plural(singular, plural, count, **values):
    return Markup(translation.ngettext(singular, plural, count)) % values


def render_fragment(template_name, **context):
    """The fragment's HTML, already escaped by Jinja2."""
    return mark_safe(engines["rows"].get_template(template_name).render(context))
