"""The ``LabeledData`` encoder writes what ``json.dumps`` would mean, stored points
spliced in unparsed."""

from __future__ import annotations

import json

from cvatcore.core.services.annotations_json import encode, raw

ATTRIBUTES = [{"spec_id": 1, "value": 'quote " back\\slash\ttab\nnewline é 中 \u2028'}]


def shape(**extra):
    body = {"id": 1, "type": "rectangle", "frame": 3, "label_id": 2, "group": None,
            "source": "semi-auto", "occluded": True, "outside": False, "z_order": -2,
            "rotation": 12.5, "points": [1.0, 2.5e-07, 1e+22, -4.0], "attributes": ATTRIBUTES}
    body.update(extra)
    return body


def test_encoder_matches_json():
    """Text with quotes, controls and non-ASCII, floats of every size, nulls, fragments."""
    data = {
        "version": 7,
        "tags": [{"id": 5, "frame": 0, "label_id": 1, "group": 0, "source": "manual",
                  "attributes": []}],
        "shapes": [
            shape(elements=[shape(id=2, type="points", points=[0.0, 1.0])]),
            shape(id=3, score=0.25, elements=[], attributes=ATTRIBUTES),
            shape(id=4, points=raw("[1.0, 2.0, 3.0, 4.0]"), elements=[]),
        ],
        "tracks": [{"id": 9, "frame": 1, "label_id": 2, "group": 3, "source": "file",
                    "attributes": ATTRIBUTES,
                    "shapes": [{k: v for k, v in shape(id=10).items()
                                if k not in ("label_id", "group", "source")}],
                    "elements": [{"id": 11, "frame": 1, "label_id": 3, "group": 0,
                                  "source": "manual", "attributes": [], "shapes": []}]}],
    }
    plain = {**data, "shapes": [*data["shapes"][:2],
                                {**data["shapes"][2], "points": [1.0, 2.0, 3.0, 4.0]}]}
    assert json.loads(encode(data)) == json.loads(json.dumps(plain))
