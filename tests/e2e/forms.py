"""A small HTML form parser for driving the site's and the provider's pages without a browser."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass
class HtmlForm:
    """A ``<form>``: its action, method, named input values and submit buttons' attributes."""

    action: str
    method: str
    fields: dict[str, str]
    buttons: list[dict[str, str]]


class _FormParser(HTMLParser):
    """Forms with their inputs and submit buttons (also buttons attached with ``form="id"``)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[HtmlForm] = []
        self._ids: dict[str, HtmlForm] = {}
        self._open: HtmlForm | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            form = HtmlForm(attributes.get("action", ""), attributes.get("method", "get").lower(), {}, [])
            self.forms.append(form)
            if "id" in attributes:
                self._ids[attributes["id"]] = form
            self._open = form
            return
        owner = self._ids.get(attributes["form"]) if "form" in attributes else self._open
        if owner is None:
            return
        if tag == "input" and "name" in attributes and attributes.get("type", "text") not in ("submit", "button"):
            owner.fields[attributes["name"]] = attributes.get("value", "")
        elif tag == "button" or (tag == "input" and attributes.get("type") == "submit"):
            owner.buttons.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = None


def parse_forms(html: str) -> list[HtmlForm]:
    """Every form in ``html``, in document order."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms
