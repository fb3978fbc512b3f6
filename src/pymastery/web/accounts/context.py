from django.conf import settings
from django.http import HttpRequest


def mode(request: HttpRequest) -> dict[str, object]:
    return {"single_user": settings.SINGLE_USER}
