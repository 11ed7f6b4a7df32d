"""The README's pictures of the studio: each tab in use, taken in Chromium on a running studio.

    python -m scripts.pictures.studio_screenshots --shared ../shared --out docs/studio [--tabs live painter]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from PIL import Image

from scripts.helpers.studio_browser import (
    LIVE,
    WAIT_MS,
    chromium,
    open_page,
    set_slider,
    start_live,
    studio_server,
    upload,
)

TABS = ("photo", "video", "live", "painter", "compare")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--out", type=Path, default=Path("docs/studio"))
    parser.add_argument("--tabs", nargs="+", choices=TABS, default=list(TABS), help="the pictures to take again")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = sorted((args.shared / "data" / "photos" / "val").glob("*.jpg"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        photo = folder / "harbour.jpg"
        Image.open(photos[4]).convert("RGB").save(photo, quality=95)
        with studio_server(folder / "studio_output", "--device", "cpu", "--photos",
                           str(args.shared / "data" / "photos" / "train_short256"), "--vgg-weights",
                           str(args.shared / "weights"), "--no-prebuild") as server, chromium() as browser:
            page = open_page(browser, server.url)

            def shot(name: str) -> None:
                page.wait_for_timeout(1500)
                page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
                picture = Image.open(folder / f"{name}.png").convert("RGB")
                picture.thumbnail((1200, 1600))
                picture.save(args.out / f"{name}.jpg", quality=85)

            def photo_tab() -> None:
                upload(page, "photo-input", photo)
                set_slider(page, "munch_the_scream", 0.6)
                page.locator("#photo-preview img").first.wait_for(timeout=WAIT_MS)
                page.locator("#photo-paint").click()
                page.locator("#photo-download a[download]").first.wait_for(timeout=WAIT_MS)

            def video_tab() -> None:
                page.get_by_role("tab", name="Video").click()
                upload(page, "video-input", args.shared / "data" / "video" / "cockatoo_1280x720.mp4")
                page.locator("#video-input video").first.wait_for(timeout=WAIT_MS)
                length = page.get_by_label("Length (s; 0: to the end)")
                length.fill("0.5")
                length.press("Tab")
                page.locator("#video-render").click()
                page.locator("#video-download a[download]").first.wait_for(timeout=10 * WAIT_MS)

            def live_tab() -> None:
                start_live(page)
                page.locator(LIVE.format("stats")).get_by_text("frames/s").wait_for(timeout=WAIT_MS)
                page.wait_for_timeout(5000)

            def painter_tab() -> None:
                page.get_by_role("tab", name="Your painter").click()
                upload(page, "painter-input", args.shared / "data" / "styles" / "munch_the_scream.jpg")
                page.locator("#painter-name").locator("textarea, input").first.fill("my_scream")
                set_slider(page, "Time budget (minutes)", 0.5)
                page.locator("#painter-train").click()
                page.locator("#painter-status").get_by_text("joined").wait_for(timeout=10 * WAIT_MS)

            def compare_tab() -> None:
                page.get_by_role("tab", name="Compare").click()
                upload(page, "compare-input", photo)
                set_slider(page, "Reference iterations (L-BFGS)", 50)
                page.locator("#compare-go").click()
                page.locator("#compare-table").get_by_text("reference").first.wait_for(timeout=10 * WAIT_MS)

            tabs = {"photo": photo_tab, "video": video_tab, "live": live_tab, "painter": painter_tab,
                    "compare": compare_tab}
            for name in TABS:
                if name in args.tabs:
                    tabs[name]()
                    shot(name)
    print(f"wrote {', '.join(f'{tab}.jpg' for tab in args.tabs)} in {args.out}")


if __name__ == "__main__":
    main()
