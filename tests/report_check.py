#!/usr/bin/python3
"""Check a rendered strand report (tests/test_report.c, docs/metrics.md "Report").

    report_check.py SCREENSHOT.png DOM.html METRICS.json

Fails (exit 1, naming what is wrong) unless
  - the screenshot is a decodable PNG of which at least 2% of pixels are not near-white and which
    shows at least 6 distinct colours (the plot palette), i.e. the page rendered; and
  - the DOM that headless Chromium built contains, for every id listed under "plots" in the
    metrics JSON, an <svg> element with that id and class "plot" holding at least one drawn
    series (<g class="series"> with a polyline or a bar rect; a plot of class "empty", e.g. class
    bars without a classifier, only has to be there), plus the summary section, the
    campaign and provenance blocks, and one <figure class="mol"> with an <svg> per SMILES example.
Standard library (zlib, struct, html.parser) plus numpy (python3-numpy, from scripts/install-deps).
"""
import json
import struct
import sys
import zlib

import numpy as np
from html.parser import HTMLParser


def png_pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, w = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = w * bpp
    img = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int64)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int64)
        if f == 1:  # Sub: running sum per channel
            line = np.cumsum(line.reshape(w, bpp), axis=0).reshape(-1) & 255
        elif f == 2:  # Up
            line = (line + prev) & 255
        elif f in (3, 4):  # Average, Paeth: byte by byte on plain ints
            out = bytearray(line.astype(np.uint8).tobytes())
            pv = prev.astype(np.uint8).tobytes()
            for i in range(stride):
                a = out[i - bpp] if i >= bpp else 0
                b = pv[i]
                if f == 3:
                    out[i] = (out[i] + ((a + b) >> 1)) & 255
                else:
                    c = pv[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    out[i] = (out[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            line = np.frombuffer(bytes(out), dtype=np.uint8).astype(np.int64)
        elif f != 0:
            raise ValueError(f"bad PNG filter {f} on row {y}")
        img[y] = line
        prev = line
    return w, h, bpp, img.reshape(h, w, bpp)[:, :, :3]


class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.svgs, self.ids, self.mol_figs, self.cur = [], {}, set(), 0, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        cls = (a.get("class") or "").split()
        if tag == "svg" and "plot" in cls and a.get("id"):
            self.cur = {"id": a["id"], "series": 0, "drawn": 0, "depth": len(self.stack), "empty": "empty" in cls}
            self.svgs[a["id"]] = self.cur
        if self.cur is not None:
            if tag == "g" and "series" in cls:
                self.cur["series"] += 1
            if tag == "polyline" or (tag == "rect" and "bar" in cls):
                self.cur["drawn"] += 1
        if tag == "svg" and self.stack and self.stack[-1][0] == "figure" and "mol" in self.stack[-1][1]:
            self.mol_figs += 1
        if tag not in ("br", "meta", "img", "hr", "input", "link"):
            self.stack.append((tag, cls))

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if self.cur is not None and t == "svg" and len(self.stack) == self.cur["depth"]:
                self.cur = None
            if t == tag:
                break


def main():
    png, dom_path, metrics = sys.argv[1:4]
    errors = []
    w, h, bpp, px = png_pixels(png)
    dark = px.min(axis=2) < 235
    nonwhite = int(dark.sum())
    colours = set(map(bytes, (px[dark] & 0xF0).reshape(-1, 3)))
    share = nonwhite / (w * h)
    print(f"screenshot {w}x{h}: {share:.1%} non-white pixels, {len(colours)} colours")
    if share < 0.02:
        errors.append(f"screenshot is blank ({share:.2%} non-white pixels)")
    if len(colours) < 6:
        errors.append(f"screenshot shows only {len(colours)} colours")
    d = Dom()
    d.feed(open(dom_path, encoding="utf-8").read())
    plots = json.load(open(metrics))["plots"]
    for pid in plots:
        s = d.svgs.get(pid)
        if s is None:
            errors.append(f"plot {pid} missing from the DOM")
        elif (s["series"] < 1 or s["drawn"] < 1) and not s["empty"]:
            errors.append(f"plot {pid} has no drawn series ({s['series']} series, {s['drawn']} elements)")
    for need in ("summary", "campaign", "provenance"):
        if need not in d.ids:
            errors.append(f"#{need} missing from the DOM")
    print(f"DOM: {len(plots)} plots expected, {sum(p in d.svgs for p in plots)} found; {d.mol_figs} molecule depictions")
    if "--min-molecules" in sys.argv:
        need = int(sys.argv[sys.argv.index("--min-molecules") + 1])
        if d.mol_figs < need:
            errors.append(f"{d.mol_figs} molecule depictions, expected at least {need}")
    for e in errors:
        print("FAIL:", e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
