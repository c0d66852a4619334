"""Datasets of image files: any folder of images, an OpenOOD v1.5 image list, uploaded images.

Files are decoded by an injected loader, by default the project's guarded decoder
(`gaia_core.safety.images.load_image`). A file that is missing, corrupt or refused raises
`UnreadableSample` for that item alone; the batch scorer skips and reports it.

Symlinks: a folder walk enters each real folder once (by device and inode), so links that loop
end. Given ``roots`` (the app passes its allowed roots), no file is read whose resolved path lies
outside them: a linked file that leads out is listed and refused when read (reported as skipped),
a linked folder that leads out is not entered (listed in ``skipped_folders``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from torch import Tensor

from gaia_core.data.base import (
    DatasetNotFound,
    ImageLoader,
    Sample,
    ScoreDataset,
    UnreadableSample,
    check_not_empty,
    safe_image_loader,
    unreadable_errors,
)
from gaia_core.safety.paths import SHOWN_CHARS, PathNotAllowed, inside, path_kind, shown

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def _decode(data: bytes, name: str, loader: ImageLoader, transform, sample_id: str, path: str) -> Tensor:
    try:
        return transform(loader(data, name))
    except unreadable_errors() as err:
        raise UnreadableSample(sample_id, path, f"{type(err).__name__}: {err}") from err


class ImageFilesDataset(ScoreDataset):
    """Image files under a root folder, in a fixed order, with known labels.

    Args:
        root: folder the relative paths start from.
        files: relative paths (POSIX style); they are also the sample ids.
        labels: (N,) class per file, -1 unknown; default all -1.
        name: dataset name.
        transform: PIL image -> model input (C, H, W).
        loader: (bytes, file name) -> PIL image; default the project's guarded decoder.
        classes: class names by index, when the labels come from sub-folders.
        fingerprint_files: hash the list file(s) that define the set instead of stat'ing
            every image (OpenOOD lists); default: relative paths, sizes and mtimes.
        roots: resolved folders files may be read from; a file whose resolved path (links
            followed) lies elsewhere is refused as unreadable. None: no restriction.
        skipped_folders: (relative path, reason) of the folders the walk did not enter.
    """

    def __init__(
        self,
        root: str | Path,
        files: Sequence[str],
        labels: Sequence[int] | np.ndarray | None,
        name: str,
        transform: Callable[[Any], Tensor],
        *,
        loader: ImageLoader | None = None,
        classes: Sequence[str] = (),
        fingerprint_files: Sequence[Path] = (),
        roots: Sequence[Path] | None = None,
        skipped_folders: Sequence[tuple[str, str]] = (),
    ):
        self.root = Path(root)
        self.roots = None if roots is None else tuple(Path(r).resolve() for r in roots)
        self.skipped_folders = list(skipped_folders)
        self.files = list(files)
        self._labels = np.full(len(self.files), -1, np.int64) if labels is None else np.asarray(labels, np.int64)
        if len(self._labels) != len(self.files):
            raise ValueError(f"{len(self.files)} files but {len(self._labels)} labels")
        self.name = name
        self.transform = transform
        self.loader = loader or safe_image_loader
        self.classes = list(classes)
        self._fingerprint_files = [Path(p) for p in fingerprint_files]
        check_not_empty(self, str(self.root))

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Sample:
        relative = self.files[index]
        path = self.root / relative
        if self.roots is not None and not inside(path.resolve(), self.roots):
            raise UnreadableSample(relative, str(path), "a link to outside the allowed folders: not read")
        try:
            data = path.read_bytes()
        except OSError as err:
            raise UnreadableSample(relative, str(path), f"cannot read file ({err.strerror or err})") from err
        image = _decode(data, path.name, self.loader, self.transform, relative, str(path))
        return Sample(image, int(self._labels[index]), relative, str(path))

    def labels(self) -> np.ndarray:
        return self._labels.copy()

    def _content_digest(self, digest) -> None:
        digest.update(f"{self.root.resolve()}|".encode())
        if self.roots is not None:  # what may be read differs, so do the results
            digest.update(f"roots={[str(r) for r in self.roots]}|".encode())
        if self._fingerprint_files:
            for list_file in self._fingerprint_files:
                digest.update(list_file.read_bytes())
            return
        for relative, label in zip(self.files, self._labels):
            try:
                stat = (self.root / relative).stat()
                digest.update(f"{relative}|{label}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
            except OSError:
                digest.update(f"{relative}|{label}|missing\n".encode())


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")


@dataclass(frozen=True)
class ImageListing:
    """What a folder walk found."""

    # Relative POSIX paths of the image files, sorted.
    files: list[str]
    # (relative path, reason) of each folder not entered: a link out of the roots, one already
    # walked (a loop), or one that cannot be read.
    skipped_folders: list[tuple[str, str]]


def list_images(root: Path, roots: Sequence[Path] | None = None) -> list[str]:
    """Relative POSIX paths of the image files under ``root``, sorted, hidden folders left out."""
    return walk_images(root, roots).files


def walk_images(root: Path, roots: Sequence[Path] | None = None) -> ImageListing:
    """The image files under ``root``, entering each real folder once (links followed, loops cut).

    Args:
        root: the folder.
        roots: resolved allowed folders; a linked folder that resolves outside them is not entered.
    """
    allowed = None if roots is None else tuple(Path(r).resolve() for r in roots)
    found: list[str] = []
    skipped: list[tuple[str, str]] = []
    seen: set[tuple[int, int]] = set()
    pending = [(Path(root), "")]
    while pending:
        folder, relative = pending.pop()
        try:
            info = folder.stat()
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as err:
            skipped.append((relative or ".", f"cannot be read ({err.strerror or err})"))
            continue
        if (info.st_dev, info.st_ino) in seen:
            skipped.append((relative, "a link to a folder already listed (a loop?)"))
            continue
        seen.add((info.st_dev, info.st_ino))
        subfolders = []
        for entry in entries:
            child = f"{relative}/{entry.name}" if relative else entry.name
            try:
                is_dir = entry.is_dir()
                leads_out = (
                    allowed is not None and entry.is_symlink() and not inside(Path(entry.path).resolve(), allowed)
                )
            except (OSError, RuntimeError):  # a broken or looping link
                continue
            if is_dir and not entry.name.startswith("."):
                if leads_out:
                    skipped.append((child, "a link to a folder outside the allowed folders"))
                else:
                    subfolders.append((Path(entry.path), child))
            elif not is_dir and _is_image(entry.name):
                found.append(child)
        pending.extend(reversed(subfolders))
    return ImageListing(sorted(found), skipped)


def image_folder(
    root: str | Path,
    transform: Callable[[Any], Tensor],
    *,
    name: str | None = None,
    labeled: bool | None = None,
    loader: ImageLoader | None = None,
    roots: Sequence[Path] | None = None,
) -> ImageFilesDataset:
    """All images under a folder (recursively), each real sub-folder once (see `walk_images`).

    Labels come from the first-level sub-folders (sorted names -> 0, 1, ...) when every image
    lies inside one and ``labeled`` is not False; otherwise they are -1.

    Args:
        roots: resolved allowed folders: no file outside them is read, even through a link.

    Raises:
        DatasetNotFound: the folder does not exist.
        PathNotAllowed: the system refuses the path (too long, a link loop), or it lies outside ``roots``.
        EmptyDatasetError: it holds no image files.
    """
    root = Path(root).expanduser()
    if path_kind(root) != "dir":
        raise DatasetNotFound(f"image folder not found: {_short(root)} (give a folder that contains image files)")
    if roots is not None and not inside(root.resolve(), tuple(Path(r).resolve() for r in roots)):
        raise PathNotAllowed(f"{_short(root)} lies outside the allowed folders")
    listing = walk_images(root, roots)
    files = listing.files
    in_subfolders = bool(files) and all("/" in f for f in files)
    if labeled and not in_subfolders:
        raise DatasetNotFound(f"{root} has images outside class sub-folders; labels need <root>/<class>/<image>")
    classes: list[str] = []
    labels = None
    if in_subfolders and labeled is not False:
        classes = sorted({f.split("/", 1)[0] for f in files})
        index = {c: i for i, c in enumerate(classes)}
        labels = [index[f.split("/", 1)[0]] for f in files]
    return ImageFilesDataset(
        root,
        files,
        labels,
        name or root.name,
        transform,
        loader=loader,
        classes=classes,
        roots=roots,
        skipped_folders=listing.skipped_folders,
    )


def image_list(
    list_file: str | Path,
    data_root: str | Path,
    transform: Callable[[Any], Tensor],
    *,
    name: str | None = None,
    loader: ImageLoader | None = None,
    unlabeled: bool = False,
    roots: Sequence[Path] | None = None,
) -> ImageFilesDataset:
    """An OpenOOD v1.5 image list: lines ``<path relative to data_root> <label>``.

    Args:
        list_file: e.g. ``<openood>/data/benchmark_imglist/cifar10/test_svhn.txt``.
        data_root: folder the listed paths start from, e.g. ``<openood>/data/images_classic``.
        unlabeled: ignore the listed labels (OOD sets), all -1.
        roots: resolved allowed folders: a listed file outside them (``..``, a link) is not read.

    Raises:
        DatasetNotFound: the list file or the image folder does not exist.
        PathNotAllowed: the system refuses one of the two paths (too long, a link loop).
    """
    list_file, data_root = Path(list_file).expanduser(), Path(data_root).expanduser()
    if path_kind(list_file) != "file":
        raise DatasetNotFound(f"image list not found: {_short(list_file)}")
    if path_kind(data_root) != "dir":
        raise DatasetNotFound(f"image folder of {list_file.name} not found: {_short(data_root)}")
    files, labels = [], []
    for number, line in enumerate(list_file.read_text().splitlines(), 1):
        parts = line.strip().split()
        if not parts:
            continue
        label = -1
        if len(parts) > 1 and not unlabeled:
            try:
                label = int(parts[1])
            except ValueError:
                raise DatasetNotFound(f"{list_file}:{number}: label '{parts[1]}' is not an integer") from None
        files.append(parts[0].lstrip("/"))
        labels.append(label)
    default_name = list_file.stem.removeprefix("test_")
    return ImageFilesDataset(
        data_root,
        files,
        labels,
        name or default_name,
        transform,
        loader=loader,
        fingerprint_files=[list_file],
        roots=roots,
    )


def _short(path: Path) -> str:
    text = str(path)
    return text if len(text) <= SHOWN_CHARS else shown(text)


class UploadedImages(ScoreDataset):
    """Images given as bytes (uploads). Sample ids are the file names, made unique with ``#k``.

    Args:
        files: (file name, bytes) pairs.
        transform: PIL image -> model input (C, H, W).
        name: dataset name.
        loader: (bytes, file name) -> PIL image; default the project's guarded decoder.
    """

    in_memory = True

    def __init__(
        self,
        files: Sequence[tuple[str, bytes]],
        transform: Callable[[Any], Tensor],
        name: str = "uploaded",
        *,
        loader: ImageLoader | None = None,
    ):
        self.files = [(str(n), bytes(d)) for n, d in files]
        self.name = name
        self.transform = transform
        self.loader = loader or safe_image_loader
        seen: dict[str, int] = {}
        self.sample_ids = []
        for file_name, _ in self.files:
            seen[file_name] = seen.get(file_name, 0) + 1
            self.sample_ids.append(file_name if seen[file_name] == 1 else f"{file_name}#{seen[file_name]}")
        check_not_empty(self, "the uploaded files")

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> Sample:
        file_name, data = self.files[index]
        sample_id = self.sample_ids[index]
        return Sample(_decode(data, file_name, self.loader, self.transform, sample_id, ""), -1, sample_id, "")

    def labels(self) -> np.ndarray:
        return np.full(len(self.files), -1, np.int64)

    def _content_digest(self, digest) -> None:
        for file_name, data in self.files:
            digest.update(f"{file_name}|{len(data)}|".encode())
            digest.update(data)
