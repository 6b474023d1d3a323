"""Subset WenQuanYi Micro Hei (Debian fonts-wqy-microhei) to the blocks a reply letter uses.

Run by scripts/build_viz_assets.sh at vendoring time only; nothing here runs at run time.
The subset keeps every CJK Unified Ideograph (U+4E00-U+9FFF), so any customer name in the
basic block renders; it drops Hangul, Kana and the second (Mono) face of the collection.
"""

from __future__ import annotations

import sys

from fontTools import subset
from fontTools.ttLib import TTCollection

RANGES = [(0x20, 0x7E), (0xA0, 0x17F), (0x370, 0x3FF), (0x2000, 0x206F), (0x2100, 0x218F), (0x2190, 0x21FF),
          (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x257F), (0x25A0, 0x25FF),
          (0x3000, 0x303F), (0x3200, 0x33FF), (0x4E00, 0x9FFF), (0xFF00, 0xFFEF)]


def main(ttc: str, out: str) -> None:
    face = TTCollection(ttc).fonts[0]  # "WenQuanYi Micro Hei" (index 1 is the Mono face)
    tmp = out + ".full.ttf"
    face.save(tmp)
    opts = subset.Options()
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.layout_features = ["*"]
    opts.hinting = False
    font = subset.load_font(tmp, opts)
    s = subset.Subsetter(opts)
    s.populate(unicodes=[u for a, b in RANGES for u in range(a, b + 1)])
    s.subset(font)
    subset.save_font(font, out, opts)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
