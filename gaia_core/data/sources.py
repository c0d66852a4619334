"""Named real datasets and where they live under a data root. Nothing is downloaded unless asked.

torchvision fetches CIFAR-10/100, SVHN, DTD (Textures) and Places365 when ``download=True``;
the other sets (LSUN, TinyImageNet, ImageNet, iNaturalist, SUN, Places, OpenOOD's lists) must
be put in place by hand, and `DatasetNotFound` says where to get them and the layout expected.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torchvision

from gaia_core.data.arrays import ArrayDataset
from gaia_core.data.base import DatasetNotFound, ImageLoader, ScoreDataset
from gaia_core.data.files import ImageFilesDataset, image_folder, image_list
from gaia_core.errors import UnknownNameError

OPENOOD_HELP = (
    "get OpenOOD v1.5's benchmark files with its scripts/download/download.py "
    "(https://github.com/Jingkang50/OpenOOD) and give its data/ folder as --data-root"
)
MOS_HELP = "from the MOS benchmark (Huang & Li, CVPR 2021; https://github.com/deeplearning-wisc/large_scale_ood)"
ODIN_HELP = "from ODIN's OOD sets (Liang et al., ICLR 2018; https://github.com/facebookresearch/odin)"


@dataclass(frozen=True)
class Source:
    """A named dataset and how to find it under a data root."""

    # Registry key (what --id / --ood accept).
    name: str
    # Name shown in tables.
    title: str
    # Where it lives, relative to the data root (for messages and the `datasets` command).
    location: str
    # Where to get it when it is missing.
    how_to_get: str
    # Whether torchvision can download it (--download).
    downloadable: bool
    # (data root, transform, download, loader) -> dataset.
    opener: Callable[..., ScoreDataset]


def _not_found(source: Source, root: Path, detail: str = "") -> DatasetNotFound:
    where = f"{root}/{source.location}"
    if not root.is_dir():
        intro = f"{source.title}: data root {root} does not exist."
    else:
        intro = f"{source.title} not found: expected {where}."
    # Said for both front ends: the command line's --data-root is the app's "Data root" field.
    move = "or point the data root (--data-root; in the app: Data folders) at the folder that holds it"
    fix = (
        f"Put it there, {move}, or let torchvision fetch it (python -m gaia_core evaluate ... --download)."
        if source.downloadable
        else f"Get it {source.how_to_get}, and put it there ({move})."
    )
    extra = f" ({detail})" if detail else ""
    manual = f" Manual download: {source.how_to_get}." if source.downloadable else ""
    return DatasetNotFound(f"{intro}{extra} {fix}{manual}")


def _torchvision(make: Callable[[], object], source: Source, root: Path, download: bool):
    try:
        return make()
    except RuntimeError:
        # torchvision's own message suggests download=True, which means nothing on the command line.
        raise _not_found(source, root) from None
    except OSError as err:
        if download:
            raise DatasetNotFound(f"downloading {source.title} into {root} failed: {err}") from None
        raise _not_found(source, root, str(err)) from None


def _cifar(which: str, train: bool = False):
    def open_cifar(source: Source, root: Path, transform, download: bool, loader: ImageLoader | None) -> ScoreDataset:
        cls = torchvision.datasets.CIFAR10 if which == "cifar10" else torchvision.datasets.CIFAR100
        data = _torchvision(lambda: cls(str(root), train=train, download=download), source, root, download)
        return ArrayDataset(data.data, np.asarray(data.targets), source.name, transform)

    return open_cifar


def _open_svhn(source: Source, root: Path, transform, download: bool, loader: ImageLoader | None) -> ScoreDataset:
    data = _torchvision(
        lambda: torchvision.datasets.SVHN(str(root / "svhn"), split="test", download=download), source, root, download
    )
    return ArrayDataset(np.ascontiguousarray(data.data.transpose(0, 2, 3, 1)), None, source.name, transform)


def _open_textures(source: Source, root: Path, transform, download: bool, loader: ImageLoader | None) -> ScoreDataset:
    candidates = [root / "dtd" / "dtd" / "images", root / "dtd" / "images"]
    folder = next((c for c in candidates if c.is_dir()), None)
    if folder is None and download:
        _torchvision(lambda: torchvision.datasets.DTD(str(root), download=True), source, root, download)
        folder = candidates[0]
    if folder is None:
        raise _not_found(source, root)
    # All 5,640 DTD images, as the OOD benchmarks use them (not one of DTD's splits).
    return image_folder(folder, transform, name=source.name, labeled=False, loader=loader)


def _open_places365(source: Source, root: Path, transform, download: bool, loader: ImageLoader | None) -> ScoreDataset:
    base = root / "places365"
    data = _torchvision(
        lambda: torchvision.datasets.Places365(str(base), split="val", small=True, download=download),
        source,
        root,
        download,
    )
    files = [Path(path).relative_to(base).as_posix() for path, _ in data.imgs]
    return ImageFilesDataset(
        base, files, None, source.name, transform, loader=loader, fingerprint_files=[base / "places365_val.txt"]
    )


def _folder(relative: str, labeled: bool = False):
    def open_folder(source: Source, root: Path, transform, download: bool, loader: ImageLoader | None) -> ScoreDataset:
        folder = root / relative
        if not folder.is_dir():
            raise _not_found(source, root)
        return image_folder(folder, transform, name=source.name, labeled=labeled, loader=loader)

    return open_folder


def _source(name, title, location, how_to_get, downloadable, opener) -> Source:
    return Source(name, title, location, how_to_get, downloadable, opener)


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        _source(
            "cifar10",
            "CIFAR-10",
            "cifar-10-batches-py/ (data_batch_1..5, test_batch, batches.meta)",
            "from https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-python.tar.gz, extracted)",
            True,
            _cifar("cifar10"),
        ),
        _source(
            "cifar100",
            "CIFAR-100",
            "cifar-100-python/ (train, test, meta)",
            "from https://www.cs.toronto.edu/~kriz/cifar.html (cifar-100-python.tar.gz, extracted)",
            True,
            _cifar("cifar100"),
        ),
        # The training splits: what methods needing a fit (ReAct) are fitted on by default.
        _source(
            "cifar10-train",
            "CIFAR-10 (train)",
            "cifar-10-batches-py/ (as for cifar10)",
            "from https://www.cs.toronto.edu/~kriz/cifar.html (cifar-10-python.tar.gz, extracted)",
            True,
            _cifar("cifar10", train=True),
        ),
        _source(
            "cifar100-train",
            "CIFAR-100 (train)",
            "cifar-100-python/ (as for cifar100)",
            "from https://www.cs.toronto.edu/~kriz/cifar.html (cifar-100-python.tar.gz, extracted)",
            True,
            _cifar("cifar100", train=True),
        ),
        _source(
            "svhn",
            "SVHN",
            "svhn/test_32x32.mat",
            "from http://ufldl.stanford.edu/housenumbers/ (test_32x32.mat)",
            True,
            _open_svhn,
        ),
        # Keyed "dtd", never "textures": that is the demo's own set (demo sets and named sets never share a key).
        _source(
            "dtd",
            "Describable Textures (DTD)",
            "dtd/dtd/images/<class>/*.jpg (or dtd/images/<class>/)",
            "from https://www.robots.ox.ac.uk/~vgg/data/dtd/ (dtd-r1.0.1.tar.gz, extracted into dtd/)",
            True,
            _open_textures,
        ),
        _source(
            "places365",
            "Places365",
            "places365/ (categories_places365.txt, places365_val.txt, val_256/)",
            "from http://places2.csail.mit.edu/download.html (val_256.tar and the standard file lists)",
            True,
            _open_places365,
        ),
        _source(
            "lsun",
            "LSUN",
            "LSUN/ (images, any sub-folders)",
            f"{ODIN_HELP}: LSUN.tar.gz (LSUN crop), extracted and renamed to LSUN/",
            False,
            _folder("LSUN"),
        ),
        _source(
            "tinyimagenet",
            "TinyImageNet",
            "TinyImageNet/ (images, any sub-folders)",
            f"{ODIN_HELP}: Imagenet.tar.gz (TinyImageNet crop), extracted and renamed to TinyImageNet/",
            False,
            _folder("TinyImageNet"),
        ),
        _source(
            "imagenet",
            "ImageNet-1k",
            "imagenet/val/<wnid>/*.JPEG (1000 class folders)",
            "from https://image-net.org (ILSVRC2012 validation images, sorted into one folder per class)",
            False,
            _folder("imagenet/val", labeled=True),
        ),
        _source("inaturalist", "iNaturalist", "iNaturalist/ (images)", MOS_HELP, False, _folder("iNaturalist")),
        _source("sun", "SUN", "SUN/ (images)", MOS_HELP, False, _folder("SUN")),
        _source(
            "places",
            "Places",
            "Places/ (images: the 10,000-image Places subset of the ImageNet OOD benchmark, not Places365;"
            " the GAIA authors' Places for CIFAR and ImageNet)",
            MOS_HELP,
            False,
            _folder("Places"),
        ),
    )
}

OPENOOD_TITLES = {
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "tin": "TinyImageNet",
    "mnist": "MNIST",
    "svhn": "SVHN",
    "texture": "Textures",
    "textures": "Textures",
    "places365": "Places365",
    "imagenet": "ImageNet-1k",
    "imagenet200": "ImageNet-200",
    "ssb_hard": "SSB-hard",
    "ninco": "NINCO",
    "inaturalist": "iNaturalist",
    "openimage_o": "OpenImage-O",
}


def open_source(
    name: str,
    data_root: str | Path,
    transform,
    *,
    download: bool = False,
    loader: ImageLoader | None = None,
) -> ScoreDataset:
    """A named dataset (a key of `SOURCES`, or ``openood:<benchmark>/<set>``) under ``data_root``.

    Raises:
        DatasetNotFound: it is not on disk; the message says what to put where.
        UnknownNameError: unknown name.
    """
    root = Path(data_root).expanduser()
    if name.startswith("openood:"):
        return open_openood(name.removeprefix("openood:"), root, transform, loader=loader)
    if name not in SOURCES:
        raise UnknownNameError(f"unknown dataset '{name}'; known: {', '.join(SOURCES)}, openood:<benchmark>/<set>")
    source = SOURCES[name]
    dataset = source.opener(source, root, transform, download, loader)
    dataset.title = source.title
    return dataset


def openood_root(data_root: Path) -> Path:
    """OpenOOD's data/ folder: ``data_root`` itself, or its data/ sub-folder."""
    if not (data_root / "benchmark_imglist").is_dir() and (data_root / "data" / "benchmark_imglist").is_dir():
        return data_root / "data"
    return data_root


def open_openood(spec: str, data_root: Path, transform, *, loader: ImageLoader | None = None) -> ScoreDataset:
    """OpenOOD v1.5's test list ``benchmark_imglist/<benchmark>/test_<set>.txt``.

    Images are read from ``images_classic/`` for the CIFAR benchmarks and for Textures, from
    ``images_largescale/`` otherwise, as OpenOOD's evaluator does.
    """
    benchmark, _, set_name = spec.partition("/")
    if not benchmark or not set_name:
        raise UnknownNameError(
            f"OpenOOD sets are named openood:<benchmark>/<set>, e.g. openood:cifar10/svhn; got '{spec}'"
        )
    root = openood_root(data_root)
    list_file = root / "benchmark_imglist" / benchmark / f"test_{set_name}.txt"
    classic = benchmark in ("cifar10", "cifar100") or set_name in ("texture", "textures")
    images = root / ("images_classic" if classic else "images_largescale")
    if not list_file.is_file() or not images.is_dir():
        missing = list_file if not list_file.is_file() else images
        raise DatasetNotFound(
            f"OpenOOD set {benchmark}/{set_name} not found: missing {missing}. Expected under the data root: "
            f"benchmark_imglist/{benchmark}/test_{set_name}.txt and {images.name}/ with the listed images; "
            f"{OPENOOD_HELP}."
        )
    is_id = set_name == benchmark
    dataset = image_list(list_file, images, transform, name=set_name, loader=loader, unlabeled=not is_id)
    dataset.title = OPENOOD_TITLES.get(set_name, set_name)
    return dataset
