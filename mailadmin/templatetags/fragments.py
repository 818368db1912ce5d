"""{% fragment "users/_mailbox_rows.jinja" rows=rows q=q %}: a Jinja2 fragment of a list page,
its rows or its page links (mailadmin/row_templates.py)."""

from django import template

from mailadmin.row_templates import render_fragment

register = template.Library()
register.simple_tag(render_fragment, name="fragment")
