"""The daily review: due questions one at a time, rescheduled by FSRS on every answer."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from pymastery.core.model import MultipleChoice
from pymastery.core.render import render_markdown
from pymastery.web.learn.catalog import catalog
from pymastery.web.learn.practice_views import chosen_option, explained_options, learner_of
from pymastery.web.progress import actions
from pymastery.web.progress.models import ReviewCard


def question_of(card: ReviewCard) -> MultipleChoice | None:
    section = catalog().section(card.section)
    if section is None or section.content is None:
        return None
    questions = section.content.quiz.multiple_choice
    return questions[card.question] if card.question < len(questions) else None


def next_card_context(request: HttpRequest) -> dict[str, object]:
    learner = learner_of(request)
    due = actions.due_cards(learner)
    for card in due:
        question = question_of(card)
        if question is not None:
            return {
                "card": card,
                "question": question,
                "left": len(due),
                "question_html": render_markdown(question.question),
                "section": catalog().section(card.section),
            }
    upcoming = (
        ReviewCard.objects.filter(learner=learner, due__gt=timezone.now()).order_by("due").first()
    )
    return {"card": None, "upcoming": upcoming}


@require_GET
def review_page(request: HttpRequest) -> HttpResponse:
    return render(request, "learn/review.html", next_card_context(request))


@require_GET
def review_next(request: HttpRequest) -> HttpResponse:
    return render(request, "learn/_review_card.html", next_card_context(request))


@require_POST
def review_answer(request: HttpRequest, card_id: int) -> HttpResponse:
    learner = learner_of(request)
    card = ReviewCard.objects.filter(pk=card_id, learner=learner).first()
    if card is None:
        raise Http404("no such card")
    question = question_of(card)
    if question is None:
        raise Http404("that question no longer exists")
    chosen = chosen_option(request, question)
    if chosen is None:
        return HttpResponseBadRequest("Choose one of the four options.")
    correct = question.options[chosen].correct
    actions.record_choice(learner, card.section, card.question, chosen, correct)
    card.refresh_from_db()
    return render(
        request,
        "learn/_review_feedback.html",
        {
            "correct": correct,
            "chosen": chosen,
            "card": card,
            "options": explained_options(question),
        },
    )
