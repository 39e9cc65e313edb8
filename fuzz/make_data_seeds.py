#!/usr/bin/env python3
"""Writes the seed corpora of the image and csv fuzzers (committed under fuzz/corpus/).

Each image seed is one byte (the fuzzer's choice of channels and output size) followed by a
small image in one of the formats image_dataset_from_directory reads. Needs Pillow
(Debian's python3-pil):  python3 fuzz/make_data_seeds.py
"""
import io
import os

from PIL import Image

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(os.path.join(root, "image"), exist_ok=True)
os.makedirs(os.path.join(root, "csv"), exist_ok=True)

img = Image.new("RGB", (5, 4))
for y in range(4):
    for x in range(5):
        img.putpixel((x, y), (x * 50, y * 60, (x + y) * 20))


def save(name, im, fmt, first, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    with open(os.path.join(root, "image", name), "wb") as f:
        f.write(bytes([first]) + b.getvalue())


save("rgb.png", img, "PNG", 3)
save("gray.png", img.convert("L"), "PNG", 1)
save("rgba.png", img.convert("RGBA"), "PNG", 4)
save("palette.png", img.convert("P"), "PNG", 0)
save("rgb.jpg", img, "JPEG", 3, quality=90)
save("gray.jpg", img.convert("L"), "JPEG", 1, quality=90)
save("progressive.jpg", img, "JPEG", 2, quality=75, progressive=True)
save("rgb.bmp", img, "BMP", 3)
save("first_frame.gif", img.convert("P"), "GIF", 0)

csv = {
    "mixed.csv": 'y,kind,a,b\n1,x,0.5,2\n0,y,"1,5",3\n\n1,"q""z",-2e3,4\n',
    "missing.csv": "label,c\nNA,1\n2,?\n",
    "numeric.csv": "t,u,v\r\n1,2,3\r\n4,5,6\r\n",
}
for name, text in csv.items():
    with open(os.path.join(root, "csv", name), "w", newline="") as f:
        f.write(text)
