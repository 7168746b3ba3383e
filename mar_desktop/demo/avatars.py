"""Generated avatars for the demo residents: the initials on a muted colour, as a small PNG, so a
newcomer sees where a resident's photo goes on the MAR and the dose screen. Never a real face:
the demo has no photos of people.

Pure (Pillow draws in memory); deterministic for the same initials and colour index.
"""

from __future__ import annotations

import base64
import io

SIZE = 128
# Muted, dark enough for white initials (WCAG AA for large text).
COLOURS = ("#3c5a78", "#5b4a72", "#2f6b5e", "#7a4b3a", "#4d5d2f", "#6b3d5a", "#35606f",
           "#6e5a2b")


def avatar_png_b64(initials: str, colour_index: int) -> str:
    """A ``SIZE``×``SIZE`` PNG of ``initials`` (at most two letters) in white on a circle of
    ``COLOURS[colour_index % len(COLOURS)]``, base64-encoded as ``Resident.photo_png_b64``."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", (SIZE, SIZE), "#ffffff")
    draw = ImageDraw.Draw(image)
    draw.ellipse((0, 0, SIZE - 1, SIZE - 1), fill=COLOURS[colour_index % len(COLOURS)])
    font = ImageFont.load_default(size=SIZE // 2.6)
    text = initials.upper()[:2]
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    position = ((SIZE - (right - left)) / 2 - left, (SIZE - (bottom - top)) / 2 - top)
    draw.text(position, text, font=font, fill="#ffffff")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")
