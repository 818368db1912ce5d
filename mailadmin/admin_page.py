"""The Django admin's change list page printed whole by one Jinja2 template
(templates/admin/mailadmin/change_list.jinja) with the HTML of Django's own templates.

After the rows, page links, filters and action bar (mailadmin/admin_fragments.py), what was left
of a 25-row list page in Django's template language was the page around them: printed by Jinja2,
the page executed another 15 % fewer instructions (bench/instructions.py). The Jinja2 page is
used where it says exactly what Django's templates would: none of them overridden for the
model, its app or the project, no editable rows, no popup, no date drill-down, no sidebar.
Everywhere else Django renders the page. users/tests/test_admin.py checks pages against the ones
Django's own templates make.
"""

import datetime
import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.templatetags.admin_list import pagination
from django.contrib.admin.views.main import IS_FACETS_VAR, IS_POPUP_VAR, SEARCH_VAR
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils import dateformat, timezone, translation

from mailadmin.admin_fragments import action_bar_values, admin_template_names, is_djangos_own, list_filter_html
from mailadmin.admin_query import with_preserved_filters
from mailadmin.navigation import page_url
from mailadmin.row_templates import render_fragment
from mailadmin.templatetags.admin_parts import ACTIONS, PAGINATION
from mailadmin.templatetags.admin_rows import RESULTS, quick_result_list, results_table_values

DJANGO_TEMPLATE = "admin/mailadmin/change_list.html"
JINJA_PAGE = "admin/mailadmin/change_list.jinja"
# Looked up by name as they are; the parts below are looked up per model, app and project.
PAGE_TEMPLATES = ("admin/change_list.html", "admin/base_site.html", "admin/base.html", "admin/color_theme_toggle.html")
PARTS = ("search_form.html", "change_list_object_tools.html", "change_list_results.html", "actions.html", "pagination.html")


def in_jinja_where_possible(request, response):
    """The change list view's response, set to be printed by the Jinja2 page where it can be."""
    if not isinstance(response, TemplateResponse) or response.template_name != DJANGO_TEMPLATE:
        return response
    context = response.context_data
    cl = context["cl"]
    if cl.formset or cl.is_popup or cl.date_hierarchy or context.get("is_nav_sidebar_enabled"):
        return response
    engine = engines["django"].engine
    if not all(is_djangos_own(engine, (name,)) for name in PAGE_TEMPLATES) or not all(
        is_djangos_own(engine, admin_template_names(cl.opts, part)) for part in PARTS
    ):
        return response
    rows = quick_result_list(cl)
    if not rows.get("rows_are_quick"):
        return response
    response.context_data = {**context, **_page_values(request, engine, context, cl, rows)}
    response.template_name, response.using = JINJA_PAGE, "rows"
    return response


def _page_values(request, engine, context, cl, rows):
    current_app = getattr(request, "current_app", None)
    script_prefix, urlconf = get_script_prefix(), get_urlconf() or settings.ROOT_URLCONF
    media_css, media_js = media_html(context["media"])
    opts = cl.opts
    values = {
        "user": request.user,
        "messages": messages.get_messages(request),
        "language_code": translation.get_language(),
        "language_bidi": translation.get_language_bidi(),
        "utc_offset": dateformat.format(datetime.datetime.now(tz=timezone.get_current_timezone()), "Z"),
        # Where django.contrib.admindocs is, if installed: Django's user links show it.
        "docs_url": page_url("django-admindocs-docroot", script_prefix, urlconf),
        "url": lambda name, **kwargs: _kept_reverse(name, tuple(kwargs.items()), current_app, script_prefix, urlconf),
        "media_css": media_css,
        "media_js": media_js,
        "search_var": SEARCH_VAR,
        "is_popup_var": IS_POPUP_VAR,
        "is_facets_var": IS_FACETS_VAR,
        "show_result_count": cl.result_count != cl.full_result_count,
        "results_table": render_fragment(RESULTS, **results_table_values(rows)),
        "pagination_html": render_fragment(PAGINATION, **pagination(cl)),
        "filters": [list_filter_html(engine, cl, spec) for spec in cl.filter_specs] if cl.has_filters else [],
        "action_bar_top": "",
        "action_bar_bottom": "",
    }
    if context.get("has_add_permission"):
        add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add", current_app=current_app)
        values["add_url"] = with_preserved_filters(
            add, context.get("preserved_filters"), context.get("is_popup"), context.get("to_field")
        )
    if context.get("action_form") and cl.show_admin_actions:
        places = [place for place in ("top", "bottom") if context.get(f"actions_on_{place}")]
        for index, place in enumerate(places):  # Django numbers the page's action bars from 0
            values[f"action_bar_{place}"] = render_fragment(ACTIONS, **action_bar_values(context, index))
    return values


@functools.lru_cache(maxsize=256)
def _kept_reverse(name, kwargs, current_app, script_prefix, urlconf):
    """The page's links (the admin's index, its app, log out …), the same for every request
    under one script prefix and URLconf: reversed once (the six were 16 % of printing the page under
    cProfile)."""
    return reverse(name, kwargs=dict(kwargs) or None, current_app=current_app, urlconf=urlconf)


# What media_html() printed, by the files and the script prefix (a few sets: one a list).
_printed_media = {}


def media_html(media):
    """(media["css"], media["js"]) as Django prints them: the page's <link>s and <script>s, kept
    per set of files rather than merged and printed again on every view (4-6 % of an admin list
    page's instructions). Media with anything but file names in it is printed each time."""
    files = _files_of(media)
    if files is None:
        return media["css"].render(), media["js"].render()
    key = (files, get_script_prefix())
    printed = _printed_media.get(key)
    if printed is None:
        if len(_printed_media) >= 64:
            _printed_media.clear()
        printed = _printed_media[key] = (media["css"].render(), media["js"].render())
    return printed


def _files_of(media):
    """The file names of a forms.Media, as they were added (what its merging reads), or None."""
    try:
        css = tuple(tuple((medium, tuple(paths)) for medium, paths in sorted(lists.items())) for lists in media._css_lists)
        js = tuple(tuple(paths) for paths in media._js_lists)
    except (AttributeError, TypeError):
        return None
    names = [path for lists in css for _medium, paths in lists for path in paths] + [path for paths in js for path in paths]
    return (css, js) if all(type(name) is str for name in names) else None


@receiver(setting_changed)
def _forget_printed_media(setting, **kwargs):
    if setting in ("STATIC_URL", "STATIC_ROOT", "STORAGES"):
        _printed_media.clear()
