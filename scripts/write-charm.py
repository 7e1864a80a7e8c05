#!/usr/bin/env python3
"""Write a Juju .charm file: a deflate zip with every file at its path from the root.

A .charm as Juju and charmcraft expect it: `dispatch` (the charm binary, mode 0755),
metadata.yaml, config.yaml, actions.yaml, a manifest.yaml naming the bases, and the
run-time assets (templates/, identity_schemas/, claim_mappers/), with no directory
entries. Python's standard zipfile is used on purpose: it sets each entry's unix mode
and timestamp exactly, needs nothing installed, and makes the output reproducible when
SOURCE_DATE_EPOCH is set. Called by scripts/pack.sh.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import stat
import sys
import zipfile
from pathlib import Path

# Files at the root of the charm, besides dispatch and manifest.yaml.
METADATA_FILES = ("metadata.yaml", "config.yaml", "actions.yaml")
# Directories of files the charm reads at run time (shipped when present).
ASSET_DIRS = ("templates", "identity_schemas", "claim_mappers")
# The charmcraft release whose manifest layout (and `charmcraft analyse`) this follows.
CHARMCRAFT_LAYOUT_VERSION = "4.5.0"


def build_time() -> dt.datetime:
    """The time stamped on the manifest and on every entry (SOURCE_DATE_EPOCH wins)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).replace(tzinfo=None)
    return dt.datetime.now().replace(microsecond=0)


def manifest_yaml(base: str, arch: str, started_at: dt.datetime) -> str:
    """manifest.yaml with the keys, order and quoting charmcraft 4.5 writes.

    The attributes are what `charmcraft analyse` finds for a charm that is neither Python
    nor ops-based: language and framework unknown.
    """
    name, _, channel = base.partition("@")
    if not name or not channel:
        raise ValueError(f"base must look like ubuntu@24.04, got {base!r}")
    return (
        f"# Written by scripts/pack.sh in the layout of charmcraft {CHARMCRAFT_LAYOUT_VERSION}.\n"
        f"charmcraft-version: {CHARMCRAFT_LAYOUT_VERSION}\n"
        f"charmcraft-started-at: '{started_at.isoformat()}'\n"
        "bases:\n"
        f"- name: {name}\n"
        f"  channel: '{channel}'\n"
        "  architectures:\n"
        f"  - {arch}\n"
        "analysis:\n"
        "  attributes:\n"
        "  - name: language\n"
        "    result: unknown\n"
        "  - name: framework\n"
        "    result: unknown\n"
    )


def asset_files(root: Path) -> list[Path]:
    """Regular files under the asset directories, sorted; hidden and backup files skipped."""
    found = []
    for dirname in ASSET_DIRS:
        top = root / dirname
        if not top.is_dir():
            continue
        for path in sorted(top.rglob("*")):
            relative = path.relative_to(root)
            if any(part.startswith(".") or part.endswith("~") for part in relative.parts):
                continue
            if path.is_file():
                found.append(relative)
    return found


def add_entry(archive: zipfile.ZipFile, name: str, data: bytes, mode: int, when: dt.datetime) -> None:
    info = zipfile.ZipInfo(name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # unix, so that Juju honours the mode bits
    info.external_attr = (stat.S_IFREG | mode) << 16
    archive.writestr(info, data)


def write_charm(root: Path, dispatch: Path, base: str, arch: str, output: Path) -> list[str]:
    """Write the .charm and return its entry names."""
    when = build_time()
    entries: list[tuple[str, bytes, int]] = [("dispatch", dispatch.read_bytes(), 0o755)]
    for name in METADATA_FILES:
        path = root / name
        if name == "metadata.yaml" or path.exists():
            entries.append((name, path.read_bytes(), 0o644))
    entries.append(("manifest.yaml", manifest_yaml(base, arch, when).encode(), 0o644))
    for relative in asset_files(root):
        mode = 0o755 if os.access(root / relative, os.X_OK) else 0o644
        entries.append((relative.as_posix(), (root / relative).read_bytes(), mode))

    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name, data, mode in entries:
            add_entry(archive, name, data, mode, when)
    partial.replace(output)
    return [name for name, _, _ in entries]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="the charm project directory")
    parser.add_argument("--dispatch", type=Path, required=True, help="the charm binary")
    parser.add_argument("--base", required=True, help="run-time base, e.g. ubuntu@24.04")
    parser.add_argument("--arch", required=True, help="Juju architecture, e.g. amd64")
    parser.add_argument("--output", type=Path, required=True, help="the .charm to write")
    args = parser.parse_args()
    try:
        names = write_charm(args.root, args.dispatch, args.base, args.arch, args.output)
    except (OSError, ValueError) as err:
        print(f"error: writing {args.output}: {err}", file=sys.stderr)
        return 1
    print(f"wrote {args.output}: {len(names)} files", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
