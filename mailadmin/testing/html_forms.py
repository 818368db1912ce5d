"""The forms and links of an HTML page, as a browser would submit them (for tests that crawl).

    forms, links = parse(html)
    forms[0].action, forms[0].method, forms[0].fields  # [Field(name, kind, values)]

`values` are the values the page offers for a field: an input's value, a select's options, the
checked boxes' values. Standard library only: the pages are the panel's own, well-formed HTML.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Field:
    name: str
    kind: str  # text, hidden, password, file, checkbox, radio, select, textarea, ...
    values: list = field(default_factory=list)
    multiple: bool = False


@dataclass
class Form:
    action: str
    method: str
    fields: list = field(default_factory=list)

    def field(self, name):
        return next((f for f in self.fields if f.name == name), None)


class _Parser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.links = [], []
        self._form = self._select = self._textarea = None

    def _add(self, name, kind, value=None, multiple=False):
        if self._form is None or not name:
            return
        existing = self._form.field(name)
        if existing is None:
            existing = Field(name, kind, multiple=multiple)
            self._form.fields.append(existing)
        if value is not None:
            existing.values.append(value)
        return existing

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form":
            self._form = Form(attrs.get("action") or "", (attrs.get("method") or "get").upper())
            self.forms.append(self._form)
        elif tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                if attrs.get("name"):
                    self._add(attrs["name"], "submit", attrs.get("value", ""))
                return
            if kind in ("checkbox", "radio"):
                self._add(attrs.get("name"), kind, attrs.get("value", "on"), multiple=kind == "checkbox")
            else:
                self._add(attrs.get("name"), kind, attrs.get("value", ""))
        elif tag == "select":
            self._select = self._add(attrs.get("name"), "select", multiple="multiple" in attrs)
        elif tag == "option" and self._select is not None:
            self._select.values.append(attrs.get("value", ""))
        elif tag == "textarea":
            self._textarea = self._add(attrs.get("name"), "textarea")
        elif tag == "button" and attrs.get("name"):
            self._add(attrs["name"], "submit", attrs.get("value", ""))

    def handle_data(self, data):
        if self._textarea is not None and data.strip():
            self._textarea.values.append(data.strip())

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def parse(html):
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser.forms, parser.links
