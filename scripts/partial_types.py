"""Partial models of Prisma Client Python, generated with the client (`make generate`).

QuestionSummary lists questions without their explanation: what a quiz page
needs before the learner answers.
"""

from prisma.models import Question

Question.create_partial(
    "QuestionSummary",
    include={"id", "domain", "topic", "stem", "difficulty", "tags", "active"},
)
