"""{% rows "users/_mailbox_rows.jinja" rows=rows q=q %}: a big table's rows (mailadmin/row_templates.py)."""

from django import template

from mailadmin.row_templates import render_rows

register = template.Library()
register.simple_tag(render_rows, name="rows")
