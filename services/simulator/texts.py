"""Review text templates for the simulator: titles and bodies per language, polarity and complaint category."""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.simulator.phrasebook import Phrasebook
from services.simulator.phrasebooks_more import MORE_PHRASEBOOKS

# Complaint categories a negative review can be about (the detector's vocabulary, see DESIGN.md).
NEGATIVE_CATEGORIES = ("logistics", "quality", "service", "not_as_described", "price")


_EN = Phrasebook(
    positive_titles=("Great service", "Fast delivery", "Very happy", "Would order again", "Excellent shop"),
    positive_sentences=(
        "The parcel arrived a day early and well packed.",
        "Exactly as described and great quality.",
        "Customer service answered within the hour.",
        "Easy ordering and a smooth checkout.",
        "Second order this year and again no problems.",
        "Good prices and quick shipping.",
    ),
    neutral_titles=("OK", "Average experience", "Fine, nothing special"),
    neutral_sentences=(
        "Delivery took a bit longer than promised but the product is fine.",
        "Decent product, the packaging could be better.",
        "It does the job, although the website was slow.",
    ),
    negative_titles={
        "logistics": ("Parcel never arrived", "Still waiting for my order", "Lost delivery", "Package damaged"),
        "quality": ("Broke after a week", "Poor quality", "Stopped working"),
        "service": ("Support never answers", "Rude customer service", "Ignored my emails"),
        "not_as_described": ("Not as described", "Wrong item sent", "Wrong size and colour"),
        "price": ("Overcharged", "Still no refund", "Hidden costs"),
    },
    negative_sentences={
        "logistics": (
            "My parcel never arrived and the tracking has not changed in ten days.",
            "The courier says delivered but nothing was at my door.",
            "Three weeks late and nobody can tell me where the order is.",
            "The box arrived crushed and the contents were damaged.",
        ),
        "quality": (
            "The product broke after a week of normal use.",
            "Cheap materials, it stopped working almost immediately.",
            "The seams came apart the first time I used it.",
        ),
        "service": (
            "I sent four emails and never got an answer.",
            "The agent on the phone was rude and hung up on me.",
            "Support closed my ticket without solving anything.",
        ),
        "not_as_described": (
            "What arrived looks nothing like the photos.",
            "They sent the wrong size and the wrong colour.",
            "The description promised features the product does not have.",
        ),
        "price": (
            "I was charged twice and still have no refund.",
            "Shipping costs appeared only at the very end of checkout.",
            "The refund I was promised a month ago never came.",
        ),
    },
    negative_closings=("Never again.", "Avoid this shop.", "Very disappointed.", "I want my money back."),
    first_names=("Jane", "Tom", "Priya", "Mark", "Sophie", "Liam", "Grace", "Omar", "Emma", "Jack"),
    last_initials="ABCDEFGHJKLMNPRSTW",
    locations=("London, GB", "Manchester, GB", "Dublin, IE", "Leeds, GB", "Bristol, GB"),
)

_DE = Phrasebook(
    positive_titles=("Super Service", "Schnelle Lieferung", "Sehr zufrieden", "Gerne wieder", "Top Shop"),
    positive_sentences=(
        "Das Paket kam einen Tag früher und war gut verpackt.",
        "Genau wie beschrieben und tolle Qualität.",
        "Der Kundenservice hat innerhalb einer Stunde geantwortet.",
        "Einfache Bestellung und problemlose Bezahlung.",
        "Schon die zweite Bestellung und wieder alles bestens.",
    ),
    neutral_titles=("Ganz okay", "Durchschnittlich", "In Ordnung"),
    neutral_sentences=(
        "Die Lieferung dauerte etwas länger, aber das Produkt ist in Ordnung.",
        "Ordentliches Produkt, die Verpackung könnte besser sein.",
    ),
    negative_titles={
        "logistics": ("Paket nie angekommen", "Warte immer noch auf meine Bestellung", "Lieferung verloren"),
        "quality": ("Nach einer Woche kaputt", "Schlechte Qualität", "Funktioniert nicht mehr"),
        "service": ("Kundenservice antwortet nie", "Unfreundlicher Service", "Keine Antwort auf E-Mails"),
        "not_as_described": ("Nicht wie beschrieben", "Falscher Artikel geliefert"),
        "price": ("Zu viel berechnet", "Immer noch keine Erstattung"),
    },
    negative_sentences={
        "logistics": (
            "Mein Paket ist nie angekommen und die Sendungsverfolgung steht seit zehn Tagen still.",
            "Laut Paketdienst zugestellt, aber vor meiner Tür lag nichts.",
            "Drei Wochen Verspätung und niemand weiß, wo die Bestellung ist.",
        ),
        "quality": (
            "Das Produkt ist nach einer Woche normaler Nutzung kaputtgegangen.",
            "Billiges Material, hat fast sofort aufgehört zu funktionieren.",
        ),
        "service": (
            "Vier E-Mails geschrieben und nie eine Antwort bekommen.",
            "Der Mitarbeiter am Telefon war unhöflich und hat aufgelegt.",
        ),
        "not_as_described": (
            "Die Ware sieht ganz anders aus als auf den Fotos.",
            "Falsche Größe und falsche Farbe geliefert.",
        ),
        "price": (
            "Mir wurde doppelt abgebucht und ich warte noch auf die Erstattung.",
            "Die Versandkosten tauchten erst ganz am Ende auf.",
        ),
    },
    negative_closings=("Nie wieder.", "Finger weg.", "Sehr enttäuscht.", "Ich will mein Geld zurück."),
    first_names=("Anna", "Lukas", "Miriam", "Jonas", "Katrin", "Felix", "Sabine", "Tobias"),
    last_initials="BFHKMNSTW",
    locations=("Berlin, DE", "München, DE", "Hamburg, DE", "Köln, DE", "Wien, AT"),
)

_NL = Phrasebook(
    positive_titles=("Top service", "Snelle levering", "Zeer tevreden", "Zeker weer", "Prima winkel"),
    positive_sentences=(
        "Het pakket kwam een dag eerder en was goed verpakt.",
        "Precies zoals beschreven en goede kwaliteit.",
        "De klantenservice reageerde binnen een uur.",
        "Makkelijk besteld en snel betaald.",
    ),
    neutral_titles=("Prima", "Gemiddeld", "Redelijk"),
    neutral_sentences=(
        "De levering duurde wat langer, maar het product is in orde.",
        "Degelijk product, de verpakking kan beter.",
    ),
    negative_titles={
        "logistics": ("Pakket nooit aangekomen", "Wacht nog steeds op mijn bestelling", "Levering kwijt"),
        "quality": ("Na een week kapot", "Slechte kwaliteit", "Doet het niet meer"),
        "service": ("Klantenservice reageert nooit", "Onbeleefde service"),
        "not_as_described": ("Niet zoals beschreven", "Verkeerd artikel ontvangen"),
        "price": ("Te veel betaald", "Nog steeds geen terugbetaling"),
    },
    negative_sentences={
        "logistics": (
            "Mijn pakket is nooit aangekomen en de track-and-trace staat al tien dagen stil.",
            "Volgens de bezorger afgeleverd, maar er lag niets voor de deur.",
            "Drie weken te laat en niemand weet waar de bestelling is.",
        ),
        "quality": (
            "Het product ging na een week normaal gebruik kapot.",
            "Goedkoop materiaal, het werkte bijna meteen niet meer.",
        ),
        "service": (
            "Vier e-mails gestuurd en nooit antwoord gekregen.",
            "De medewerker aan de telefoon was onbeleefd.",
        ),
        "not_as_described": (
            "Wat er kwam lijkt in niets op de foto's.",
            "Verkeerde maat en verkeerde kleur gestuurd.",
        ),
        "price": (
            "Er is twee keer afgeschreven en ik wacht nog op mijn geld.",
            "De verzendkosten verschenen pas helemaal aan het eind.",
        ),
    },
    negative_closings=("Nooit meer.", "Niet doen.", "Erg teleurgesteld.", "Ik wil mijn geld terug."),
    first_names=("Sanne", "Daan", "Lotte", "Bram", "Fleur", "Sem", "Noor", "Jeroen"),
    last_initials="BDHJKMSVW",
    locations=("Amsterdam, NL", "Rotterdam, NL", "Utrecht, NL", "Gent, BE", "Eindhoven, NL"),
)

PHRASEBOOKS: dict[str, Phrasebook] = {"en": _EN, "de": _DE, "nl": _NL, **MORE_PHRASEBOOKS}
LANGUAGES = tuple(PHRASEBOOKS)


@dataclass(frozen=True)
class ReviewText:
    title: str
    text: str


def compose(rng: random.Random, language: str, stars: int, category: str | None) -> ReviewText:
    """A title and a two- or three-sentence body that fit the stars (and the complaint category when negative)."""
    book = PHRASEBOOKS[language]
    if stars <= 2:
        topic = category or "logistics"
        sentences = list(rng.sample(book.negative_sentences[topic], k=min(2, len(book.negative_sentences[topic]))))
        sentences.append(rng.choice(book.negative_closings))
        return ReviewText(rng.choice(book.negative_titles[topic]), " ".join(sentences))
    if stars == 3:
        return ReviewText(rng.choice(book.neutral_titles), rng.choice(book.neutral_sentences))
    return ReviewText(rng.choice(book.positive_titles), " ".join(rng.sample(book.positive_sentences, k=2)))


def consumer_name(rng: random.Random, language: str) -> tuple[str, str]:
    """A display name ("Jane D.") and a display location for a reviewer writing in `language`."""
    book = PHRASEBOOKS[language]
    return f"{rng.choice(book.first_names)} {rng.choice(book.last_initials)}.", rng.choice(book.locations)
