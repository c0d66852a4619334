"""Issue 21's researcher in a real browser, end to end, on a server started with ``GAIA_ALLOWED_ROOTS``
set to a folder holding their files: a 10-class torchvision ResNet-18 checkpoint (random weights,
batch-norm statistics calibrated on their photos) uploaded in the sidebar, their own preprocessing
entered, two folders of photos picked from the list (``photos/id`` with class sub-folders ``cat`` and
``dog``, ``photos/ood`` unlabelled), scored on ID vs OOD, Browse images filtered to wrong predictions,
one image opened in detail and sent to What if?. Along the way: every page names the entered
preprocessing, galleries carry file and class names, the upload is named by its file name (never its
hash), What if? starts from the sent image. Screenshots at 1400×900 and 1024×768 go to
test-artifacts/researcher_*.png; the time of each step is printed and written to
test-artifacts/researcher_timings.txt."""

from __future__ import annotations

import contextlib
import hashlib
import re
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.browser import ARTIFACTS, MARKS, assert_no_exception, open_page, served_app, wait_for_text, wait_idle
from PIL import Image

from app_pages.shell.page_table import PAGES
from gaia_core.data.input_config import describe, entered
from gaia_core.safety.paths import ENV_VAR

pytestmark = MARKS

CHECKPOINT = "catdog_resnet18.safetensors"
SIZE, RESIZE = 32, 36
MEAN, STD = (0.4, 0.45, 0.5), (0.25, 0.24, 0.26)
PREPROCESSING = describe(entered(SIZE, MEAN, STD, resize_size=RESIZE, crop="resize", channels=3))
PER_CLASS = 8
# File names that are not class names: a class name in a caption comes from the folder, not the file.
FILE_STEMS = {"cat": "tab", "dog": "bgl", "ood": "snow"}
VIEWPORTS = ((1400, 900), (1024, 768))


def _picture(kind: str, rng: np.random.Generator) -> Image.Image:
    """A 40×40 picture: warm horizontal stripes (cat), cool vertical stripes (dog) or coloured noise (OOD)."""
    grid = np.arange(40) / 40
    phase, noise = rng.uniform(0, 2 * np.pi), rng.normal(0, 0.08, (40, 40, 3))
    if kind == "ood":
        pixels = rng.uniform(0, 1, (40, 40, 3))
    else:
        wave = 0.5 + 0.4 * np.sin(2 * np.pi * 4 * grid + phase)
        stripes = np.tile(wave[:, None], (1, 40)) if kind == "cat" else np.tile(wave[None, :], (40, 1))
        tint = np.array([0.9, 0.5, 0.2]) if kind == "cat" else np.array([0.2, 0.5, 0.9])
        pixels = stripes[..., None] * tint + noise
    return Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8))


def _photos(root: Path) -> list[Path]:
    rng = np.random.default_rng(21)
    folders = {"cat": root / "photos/id/cat", "dog": root / "photos/id/dog", "ood": root / "photos/ood"}
    written = []
    for kind, folder in folders.items():
        folder.mkdir(parents=True)
        for k in range(PER_CLASS):
            path = folder / f"{FILE_STEMS[kind]}_{k:02d}.png"
            _picture(kind, rng).save(path)
            written.append(path)
    return written


def _checkpoint(path: Path, photos: list[Path]) -> str:
    """A 10-class ResNet-18 with random weights whose batch-norm statistics are those of the photos
    as the entered preprocessing makes them (a few train-mode forwards); returns the file's sha256."""
    from safetensors.torch import save_file
    from torchvision.models import resnet18

    model = resnet18(num_classes=10)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # a plain average over the calibration batches
    pixels = np.stack([np.asarray(Image.open(p).resize((RESIZE, RESIZE))) for p in photos]) / 255
    crop = (RESIZE - SIZE) // 2
    x = torch.tensor(pixels[:, crop : crop + SIZE, crop : crop + SIZE], dtype=torch.float32).permute(0, 3, 1, 2)
    x = (x - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(x)
    save_file(model.state_dict(), path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def researcher(tmp_path_factory):
    """The researcher's folder (the only allowed one), their checkpoint's path and sha256, and the app's URL."""
    root = tmp_path_factory.mktemp("researcher")
    photos = _photos(root)
    (root / "models").mkdir()
    digest = _checkpoint(root / "models" / CHECKPOINT, photos)
    log = tmp_path_factory.mktemp("log") / "streamlit.log"
    with served_app(tmp_path_factory.mktemp("cache"), log, env={ENV_VAR: str(root)}) as url:
        yield root, digest, url


class Steps:
    """Wall time of each step of the walk (time.perf_counter)."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float]] = []

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.times.append((name, time.perf_counter() - start))

    def report(self) -> str:
        lines = [f"{seconds:7.1f} s  {name}" for name, seconds in self.times]
        return "\n".join([*lines, f"{sum(s for _, s in self.times):7.1f} s  in all"])


def _pick(page, box, text: str, option: str, exact: bool = True) -> None:
    """Type ``text`` into a select / multiselect ``box`` and click the option named ``option``
    (``exact``), else the first whose name holds it."""
    field = box.locator("input")
    field.click()
    field.fill(text)
    options = page.get_by_role("option")
    (page.get_by_role("option", name=option, exact=True) if exact else options.filter(has_text=option)).first.click()
    wait_idle(page)
    page.keyboard.press("Escape")


def _go(page, link: str) -> None:
    """Open a page through the sidebar (the session, with its scores, stays)."""
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=link, exact=True).click()
    time.sleep(0.5)
    wait_idle(page, 240)


def _assert_preprocessing_line(page, where: str) -> None:
    main = page.locator("[data-testid='stMain']")
    main.get_by_text(PREPROCESSING).first.wait_for(timeout=60_000)
    line = main.get_by_text(PREPROCESSING).first.inner_text()
    assert f"resnet18 ({CHECKPOINT})" in line, f"{where}: {line}"


def _shots(page, name: str) -> None:
    """The whole page at each of `VIEWPORTS` (the viewport grown to the main area's height: it
    scrolls inside itself); back to 1400×900 after."""
    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        time.sleep(1)
        full = page.evaluate("() => document.querySelector('[data-testid=stMain]').scrollHeight")
        page.set_viewport_size({"width": width, "height": max(height, min(full + 40, 9000))})
        time.sleep(1.5)
        page.screenshot(path=str(ARTIFACTS / f"researcher_{name}_{width}x{height}.png"), full_page=True)
    page.set_viewport_size({"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})
    time.sleep(0.5)


def test_a_researcher_walks_from_their_checkpoint_and_folders_to_what_if(browser, researcher):
    root, digest, url = researcher
    context = browser.new_context(viewport={"width": VIEWPORTS[0][0], "height": VIEWPORTS[0][1]})
    page = context.new_page()
    sidebar, main = page.locator("[data-testid='stSidebar']"), page.locator("[data-testid='stMain']")
    step = Steps()
    try:
        with step("open the app"):
            open_page(page, url, "")
            assert_no_exception(page)

        with step("upload the checkpoint, enter its preprocessing, load it"):
            architecture = sidebar.locator("[data-testid='stSelectbox']").filter(has_text="Architecture").first
            _pick(page, architecture, "resnet18", "resnet18")
            sidebar.locator("[data-testid='stRadio']").filter(has_text="Weights").get_by_text(
                "upload", exact=True
            ).click()
            wait_idle(page)
            sidebar.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
                str(root / "models" / CHECKPOINT)
            )
            chip = sidebar.locator("[data-testid='stFileChipName']").first  # Streamlit's chip: "cat...18.safetensors"
            chip.wait_for(timeout=120_000)
            wait_idle(page)
            assert chip.get_attribute("title") == CHECKPOINT
            sidebar.locator("[data-testid='stExpander']").filter(has_text="Preprocessing").locator("summary").click()
            sidebar.get_by_text("entered here", exact=True).click()
            wait_idle(page)
            for name, value in (("Input size (pixels)", SIZE), ("Shorter side resized to (pixels)", RESIZE)):
                field = sidebar.get_by_role("spinbutton", name=name)
                field.fill(str(value))
                field.press("Enter")
                wait_idle(page)
            crop = sidebar.locator("[data-testid='stSelectbox']").filter(has_text="Resize / crop").first
            assert crop.locator("input").input_value() == "resize, then centre crop"
            for name, values in (
                ("Mean (one per channel, 0-1 scale)", MEAN),
                ("Std (one per channel, 0-1 scale)", STD),
            ):
                field = sidebar.get_by_role("textbox", name=name)
                field.fill(", ".join(map(str, values)))
                field.press("Enter")
                wait_idle(page)
            sidebar.get_by_role("button", name="Load model").click()
            in_use = sidebar.get_by_text(f"In use: resnet18 ({CHECKPOINT}) on cpu")
            in_use.first.wait_for(timeout=120_000)
            wait_idle(page)
            assert_no_exception(page)
            assert "10 classes" in in_use.first.inner_text()
            assert PREPROCESSING in sidebar.inner_text()
            assert digest not in sidebar.inner_text() and digest[:8] not in main.inner_text()
            _assert_preprocessing_line(page, "Overview")

        with step("pick the two folders from the list"):
            per_set = sidebar.get_by_role("spinbutton", name="Images per set (at most)")
            per_set.fill("20")
            per_set.press("Enter")
            wait_idle(page)
            sidebar.locator("[data-testid='stExpander']").filter(has_text="Data folders").locator("summary").click()
            sidebar.get_by_text("Pick folders under the data root").click()
            wait_idle(page)
            folders = sidebar.locator("[data-testid='stMultiSelect']").filter(has_text="Folders of images").first
            options = []
            for relative in ("photos/id", "photos/ood"):
                _pick(page, folders, relative, f"{relative} · ", exact=False)
                options.append(folders.inner_text())
            assert "photos/id · 2 classes (its sub-folders: cat, dog)" in options[-1], options
            assert f"photos/ood · unlabelled, {PER_CLASS} images" in options[-1], options
            assert "sub-folder is a class" in sidebar.inner_text()  # how a folder becomes labels
            assert_no_exception(page)

        with step("score photos/id against photos/ood on ID vs OOD"):
            _go(page, "ID vs OOD")
            _assert_preprocessing_line(page, "ID vs OOD")
            _pick(
                page,
                main.locator("[data-testid='stSelectbox']").filter(has_text="ID set").first,
                "photos/id",
                "photos/id",
            )
            ood = main.locator("[data-testid='stMultiSelect']").filter(has_text="OOD sets").first
            for _ in range(12):  # the sets a 10-class model starts with: CIFAR-10's benchmark
                if ood.locator("[data-tag]").count() == 0:
                    break
                ood.locator("input").click()
                ood.locator("input").press("Backspace")
                wait_idle(page)
            page.keyboard.press("Escape")
            _pick(page, ood, "photos/ood", "photos/ood")
            main.get_by_role("button", name="Score", exact=True).click()
            scored = main.get_by_text(re.compile(r"^Scored \d+ images")).first
            scored.wait_for(timeout=240_000)
            wait_idle(page)
            assert_no_exception(page)
            done = scored.inner_text()
            assert f"Scored {3 * PER_CLASS} images: photos/id ({2 * PER_CLASS}" in done, done
            assert f"photos/ood ({PER_CLASS})" in done, done
            _assert_preprocessing_line(page, "ID vs OOD, scored")

        with step("screenshots of ID vs OOD"):
            _shots(page, "id_vs_ood")

        with step("Browse images, filtered to wrong predictions"):
            _go(page, "Browse images")
            _assert_preprocessing_line(page, "Browse images")
            assert f"{3 * PER_CLASS} images: photos/id ({2 * PER_CLASS}), photos/ood ({PER_CLASS})" in main.inner_text()
            main.get_by_text("wrong", exact=True).first.click()
            wait_idle(page)
            heading = main.get_by_role("heading", name=re.compile(rf"^\d+ of {3 * PER_CLASS} images")).first
            wrong = int(heading.inner_text().split()[0])
            assert 0 < wrong <= 2 * PER_CLASS  # only the ID images have a label to be wrong about
            captions = main.locator("[data-testid='stImageCaption']").all_inner_texts()
            assert len(captions) == wrong, captions
            pattern = re.compile(r"^(tab_\d\d\.png · true cat|bgl_\d\d\.png · true dog) · pred ")
            assert all(pattern.match(c) for c in captions), captions
            assert_no_exception(page)

        with step("open one wrong prediction in detail"):
            table = main.locator("[data-testid='stDataFrame']:visible").first
            table.scroll_into_view_if_needed()
            box = table.bounding_box()
            page.mouse.click(box["x"] + 15, box["y"] + 52)  # the first row's selection box
            wait_for_text(page, "Flagged as OOD by", timeout_s=120)
            assert_no_exception(page)
            path_line = main.get_by_text("File: ").first.inner_text()
            sent_name = Path(path_line.removeprefix("File: ").strip()).name
            assert re.fullmatch(r"(tab|bgl)_\d\d\.png", sent_name), path_line
            sent_class = "cat" if sent_name.startswith("tab") else "dog"
            assert re.search(rf"True class (\d+ · )?{sent_class}: the prediction is wrong", main.inner_text())

        with step("screenshots of Browse images"):
            _shots(page, "browse")

        with step("send it to What if? and sweep it"):
            main.get_by_role("button", name="Open in What if?").click()
            wait_for_text(page, "as the model saw it when it was scored", timeout_s=120)
            _assert_preprocessing_line(page, "What if?")
            started = main.get_by_text("as the model saw it when it was scored").first.inner_text()
            assert sent_name in started and "photos/id" in started, started
            wait_for_text(page, "Flagged as OOD by", timeout_s=240)
            assert main.get_by_text("strength 0.00").count() >= 1
            assert_no_exception(page)
            # The sidebar's settings survive the button's page switch (Streamlit resets widget state there).
            assert per_set.input_value() == "20"

        with step("screenshots of What if?"):
            _shots(page, "what_if")

        with step("every other page names the entered preprocessing"):
            for entry in PAGES:
                if entry.title in ("ID vs OOD", "Browse images", "What if?"):
                    continue
                _go(page, entry.title)
                _assert_preprocessing_line(page, entry.title)
                assert_no_exception(page)
    except BaseException:
        page.screenshot(path=str(ARTIFACTS / "researcher_failure.png"), full_page=True)
        (ARTIFACTS / "researcher_failure.txt").write_text(page.locator("[data-testid='stApp']").inner_text())
        raise
    finally:
        context.close()
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "researcher_timings.txt").write_text(step.report() + "\n")
        print("\n" + step.report())
