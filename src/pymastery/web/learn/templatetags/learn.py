from django import template

register = template.Library()


@register.filter
def state_of(states: dict[str, str], key: str) -> str:
    return states.get(key, "")
