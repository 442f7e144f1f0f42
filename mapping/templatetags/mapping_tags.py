import json

from django import template

register = template.Library()


@register.filter
def pretty_json(value: object) -> str:
    """Indented JSON, as Spotler would receive it (escaped like any other output)."""
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
