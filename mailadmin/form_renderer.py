"""How forms and widgets render: Django's own templates, in the Jinja2 versions Django ships.

Django writes every form and widget template twice, in its template language and in Jinja2,
and renders either to the same HTML. A select in the Django template language includes a
template per option and one per attribute list. Templates Django ships only in its own language
(the admin's widgets) render as before. On the panel's and the admin's form pages the HTML was
the same but for blank lines between a select's options; the import page's instructions fell
by 14 %, the admin's change list and change page by 3-4 % (bench/instructions.py).
"""

from pathlib import Path

from django.forms import renderers
from django.template import TemplateDoesNotExist
from django.utils.functional import cached_property


class _Jinja2(renderers.Jinja2):
    """Django's Jinja2 form renderer, with the fragments' environment: the widget templates read
    dicts (`widget.attrs`, an option's `value`), each key without an exception first
    (mailadmin.row_templates.Environment)."""

    @cached_property
    def engine(self):
        return self.backend(
            {
                "APP_DIRS": True,
                "DIRS": [Path(renderers.__file__).parent / self.backend.app_dirname],
                "NAME": "djangoforms",
                "OPTIONS": {"environment": "mailadmin.row_templates.Environment"},
            }
        )


class FormRenderer(renderers.BaseRenderer):
    jinja2 = _Jinja2()
    django_templates = renderers.DjangoTemplates()

    def get_template(self, template_name):
        try:
            return self.jinja2.get_template(template_name)
        except TemplateDoesNotExist:
            return self.django_templates.get_template(template_name)
