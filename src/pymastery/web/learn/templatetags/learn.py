from django import template
from django.utils.safestring import SafeString, mark_safe

from pymastery.core.render import render_inline

register = template.Library()


@register.filter
def state_of(states: dict[str, str], key: str) -> str:
    return states.get(key, "")


@register.filter
def inline_markdown(text: str) -> SafeString:
    """Backticks and emphasis in short texts; markdown-it escapes HTML (html is off)."""
    return mark_safe(render_inline(text))
