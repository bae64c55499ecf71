"""Write ``reaper_scripts/index.xml``, the ReaPack index, from the scripts' own headers.

ReaPack users add the index URL once (Extensions > ReaPack > Import repositories)
and get every action plus its helper files, with updates. The headers
(``@description``, ``@version``, ``@author``, ``@about``) are the single source;
``@noindex`` files (the shared helper) ship inside the package without becoming
actions. ReaPack needs absolute download URLs, so the base URL is an argument:
``python -m daemon.reaper.reapack --base-url https://raw.githubusercontent.com/<owner>/<repo>/<ref>/reaper_scripts/``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

from daemon.reaper.install import SCRIPTS_SOURCE

DEFAULT_BASE_URL = "https://raw.githubusercontent.com/reamend/reamend/main/reaper_scripts/"
PACKAGE = "reamend.py"


def header(text: str, tag: str) -> str | None:
    match = re.search(rf"^# @{tag}[ \t]*(.*)$", text, re.MULTILINE)
    return match.group(1).strip() if match else None


def about(text: str) -> str:
    block = re.search(r"^# @about\n((?:#   .*\n)+)", text, re.MULTILINE)
    return " ".join(line[4:].strip() for line in block.group(1).splitlines()) if block else ""


def build_index(base_url: str, folder: Path = SCRIPTS_SOURCE) -> ET.ElementTree:
    scripts = sorted(folder.glob("reamend_*.py"))
    versions = {header(p.read_text(encoding="utf-8"), "version") for p in scripts} - {None}
    if len(versions) != 1:
        raise SystemExit(f"the scripts disagree on @version: {sorted(v for v in versions if v)}")
    index = ET.Element("index", version="1", name="reamend")
    category = ET.SubElement(index, "category", name="reamend")
    package = ET.SubElement(category, "reapack", name=PACKAGE, type="script",
                            desc="reamend: ML audio restoration actions (inpaint, clean, transcribe)")
    metadata = ET.SubElement(package, "metadata")
    description = ET.SubElement(metadata, "description")
    description.text = ("Actions that send the selection to the reamend daemon (inpainting, podcast cleaning, "
                        "piano transcription) and bring results back as takes, edits and MIDI items. "
                        "Needs the reamend daemon: see docs/reaper.md.")
    version = ET.SubElement(package, "version", name=versions.pop() or "", author="reamend")
    for path in scripts:
        text = path.read_text(encoding="utf-8")
        source = ET.SubElement(version, "source", file=path.name)
        if header(text, "noindex") is None:
            source.set("main", "main")
        source.text = base_url.rstrip("/") + "/" + path.name
    ET.indent(index)
    return ET.ElementTree(index)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m daemon.reaper.reapack", description=__doc__.split("\n")[0])
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL, help="where the raw script files are served")
    parser.add_argument("--out", type=Path, default=SCRIPTS_SOURCE / "index.xml")
    args = parser.parse_args(argv)
    build_index(args.base_url).write(args.out, encoding="utf-8", xml_declaration=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
