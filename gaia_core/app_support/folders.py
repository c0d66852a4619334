"""The folders of images under a data root, to pick as sets: a bounded walk.

A visitor's data root may hold ImageNet's 1,000 class folders or a whole disk, so the walk is
bounded: at most `MAX_DEPTH` levels down, `MAX_SCANNED` folders read and `MAX_LISTED` folders
listed. It follows the rules of `gaia_core.data.files.walk_images` (which lists every file, with
no bound): each real folder is entered once (links that loop end), hidden folders are left out,
and a linked folder that resolves outside the allowed roots is not entered.

How a folder becomes a set (`gaia_core.data.files.image_folder`): a folder whose images all lie
in sub-folders is labelled, each sub-folder a class (sorted names -> 0, 1, ...); a folder with
images directly in it is unlabelled. Listed are the folders with images directly in them and the
folders of which two or more sub-folders have; the class sub-folders of a labelled folder are not
listed on their own.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from gaia_core.data.files import IMAGE_EXTENSIONS
from gaia_core.safety.paths import inside

# Levels below the data root that are read (1 = its sub-folders).
MAX_DEPTH = 3
# Folders read at most, and folders listed at most.
MAX_SCANNED = 2000
MAX_LISTED = 300
# Class names named in a folder's description.
SHOWN_CLASSES = 3


@dataclass(frozen=True)
class ImageFolder:
    """A folder of images under the data root."""

    # The folder, resolved.
    path: str
    # Its path under the data root, POSIX.
    relative: str
    # Image files directly in it.
    images: int
    # Its sub-folders with images directly in them, sorted (the class names when it holds no image itself).
    subfolders: tuple[str, ...]

    @property
    def labelled(self) -> bool:
        """Labels come from the sub-folders: it holds no image itself, two or more sub-folders do."""
        return self.images == 0 and len(self.subfolders) >= 2

    @property
    def description(self) -> str:
        """How it becomes a set: "3 classes (its sub-folders: cat, dog, fox)" or "unlabelled, 40 images"."""
        if self.labelled:
            names = ", ".join(self.subfolders[:SHOWN_CLASSES]) + (", …" if len(self.subfolders) > SHOWN_CLASSES else "")
            return f"{len(self.subfolders)} classes (its sub-folders: {names})"
        more = " and more in sub-folders" if self.subfolders else ""
        return f"unlabelled, {self.images} image{'s' if self.images != 1 else ''}{more}"


@dataclass(frozen=True)
class FolderListing:
    """What the bounded walk found."""

    # The folders to pick from, by relative path.
    folders: tuple[ImageFolder, ...]
    # False when a bound cut the walk short (more folders may hold images).
    complete: bool


@dataclass
class _Scan:
    path: Path
    relative: str
    depth: int
    images: int = 0
    children: tuple[str, ...] = ()


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


def image_folders(
    root: str | Path,
    roots: tuple[Path, ...],
    *,
    max_depth: int = MAX_DEPTH,
    max_scanned: int = MAX_SCANNED,
    max_listed: int = MAX_LISTED,
) -> FolderListing:
    """The folders holding images under ``root``, each with how it becomes a set.

    Args:
        root: the data root (nothing is listed when it is not a folder).
        roots: resolved allowed folders: no linked folder leading outside them is entered.
    """
    allowed = tuple(Path(r).resolve() for r in roots)
    scans: dict[str, _Scan] = {}
    seen: set[tuple[int, int]] = set()
    pending = deque([_Scan(Path(root), "", 0)])
    complete = True
    while pending:
        if len(scans) >= max_scanned:
            complete = False
            break
        scan = pending.popleft()
        try:
            info = scan.path.stat()
            entries = sorted(os.scandir(scan.path), key=lambda e: e.name)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) in seen:
            continue
        seen.add((info.st_dev, info.st_ino))
        children = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()
                leads_out = entry.is_symlink() and not inside(Path(entry.path).resolve(), allowed)
            except (OSError, RuntimeError):  # a broken or looping link
                continue
            if not is_dir:
                scan.images += _is_image(entry.name)
            elif not entry.name.startswith(".") and not leads_out:
                children.append(entry.name)
        scan.children = tuple(children)
        scans[scan.relative] = scan
        if scan.depth < max_depth:
            pending.extend(_Scan(scan.path / c, _child(scan.relative, c), scan.depth + 1) for c in children)
        elif children:
            complete = False
    found = _candidates(scans)
    return FolderListing(tuple(found[:max_listed]), complete and len(found) <= max_listed)


def _child(relative: str, name: str) -> str:
    return f"{relative}/{name}" if relative else name


def _candidates(scans: dict[str, _Scan]) -> list[ImageFolder]:
    """Folders with images directly in them (unlabelled), and folders without any of which two
    or more sub-folders hold images directly (labelled: those sub-folders are its classes)."""
    folders: list[ImageFolder] = []
    classes: set[str] = set()  # sub-folders of a labelled folder: its classes, not sets of their own
    for relative in sorted(scans):  # a folder comes before everything under it
        scan = scans[relative]
        parts = relative.split("/")
        if not relative or any("/".join(parts[:k]) in classes for k in range(1, len(parts) + 1)):
            continue
        holding = tuple(c for c in scan.children if getattr(scans.get(_child(relative, c)), "images", 0) > 0)
        if scan.images == 0 and len(holding) < 2:  # one class is no labelling: its sub-folder is listed
            continue
        folder = ImageFolder(str(scan.path.resolve()), relative, scan.images, holding)
        if folder.labelled:
            classes.update(_child(relative, c) for c in holding)
        folders.append(folder)
    return folders
