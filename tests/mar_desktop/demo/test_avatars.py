"""Demo residents carry generated avatars (initials on a colour), never a real face."""

from __future__ import annotations

import base64
import io

from PIL import Image

from mar_desktop.demo.avatars import SIZE, avatar_png_b64
from mar_desktop.demo.facility import demo_facility


def test_every_demo_resident_has_an_avatar_png_of_their_initials_colour() -> None:
    demo = demo_facility()
    assert demo.residents
    for resident in demo.residents:
        assert resident.photo_png_b64 is not None
        image = Image.open(io.BytesIO(base64.b64decode(resident.photo_png_b64)))
        assert image.format == "PNG" and image.size == (SIZE, SIZE)


def test_avatars_are_deterministic_and_differ_by_colour_and_letters() -> None:
    assert avatar_png_b64("AH", 1) == avatar_png_b64("AH", 1)
    assert avatar_png_b64("AH", 1) != avatar_png_b64("AH", 2)
    assert avatar_png_b64("AH", 1) != avatar_png_b64("BO", 1)

