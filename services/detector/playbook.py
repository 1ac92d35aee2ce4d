"""Suggested response steps per complaint category (DESIGN.md): the general opening steps, then the category's own."""

from __future__ import annotations

GENERAL_STEPS: tuple[str, ...] = (
    "Decide whether the reviews are fair; request removal of any that break the platform's rules.",
    "Answer publicly and briefly, with facts and an offer to continue in private.",
    "Never argue with reviewers, even when they are wrong.",
    "Follow up with every reviewer until the problem is resolved.",
)

CATEGORY_STEPS: dict[str, tuple[str, ...]] = {
    "logistics": (
        "Explain what went wrong with the deliveries.",
        "Compensate the affected customers.",
        "Promise the fix and show it once it is in place.",
    ),
    "not_as_described": (
        "Offer a return or an exchange.",
        "Publish a precise description or a measuring guide for the product.",
    ),
    "service": (
        "Apologise for how the customers were treated.",
        "Retrain the team involved.",
        "Offer a discount on the next order.",
    ),
}


def playbook_for(category: str | None) -> tuple[str, ...]:
    """The steps for a category; unknown or unclassified categories get the general steps only."""
    return GENERAL_STEPS + CATEGORY_STEPS.get(category or "", ())
