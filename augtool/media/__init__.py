"""Media: what is particular to images, audio or text (codecs, transforms, target movement)."""
