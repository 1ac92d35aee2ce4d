"""Seed inputs of the atheris targets (kept apart from them: importing the targets instruments services/)."""

from __future__ import annotations

import orjson

# Starting points for libFuzzer's mutations (it mutates bytes; valid documents keep most mutations near JSON).
SEEDS: dict[str, list[bytes]] = {
    "codec": [],  # filled from schemas/examples by the caller
    "normaliser": [
        orjson.dumps(
            {
                "id": "5f8e1d2c3b4a596877665544",
                "stars": 1,
                "title": "Parcel never arrived",
                "text": "Still nothing.",
                "language": "en",
                "createdAt": "2026-11-02T11:59:00Z",
                "updatedAt": None,
                "consumer": {"id": "c1", "displayName": "Jane D.", "numberOfReviews": 3},
                "companyReply": {"text": "Sorry", "createdAt": "2026-11-02T12:30:00Z"},
                "referenceId": "ORD-1",
                "numberOfLikes": 2,
                "status": "active",
                "links": [],
            }
        ),
        orjson.dumps(
            {
                "id": "ha-1",
                "created_at": "2026-11-01 10:00:00",
                "rating": "4",
                "rating_min": 0,
                "rating_max": 10,
                "text": "ok",
                "kind": "comment",
                "thread_id": "t",
                "parent_id": "p",
                "reply": "thanks",
                "reply_at": "2026-11-01T11:00:00+02:00",
                "event": "updated",
                "order": "o",
                "sku": 7,
            }
        ),
    ],
}
