#!/usr/bin/env python3
"""Writes a C++ header holding a file's bytes: embed.py INPUT OUTPUT NAME."""
import sys

src, out, name = sys.argv[1:4]
data = open(src, "rb").read()
rows = [", ".join(str(b) for b in data[i:i + 24]) for i in range(0, len(data), 24)]
with open(out, "w") as f:
    f.write(f"// Generated from {src.rsplit('/', 1)[-1]} by embed.py: do not edit.\n#pragma once\n\n")
    f.write(f"inline constexpr unsigned char {name}[] = {{\n    " + ",\n    ".join(rows) + "};\n")
