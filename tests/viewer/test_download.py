"""Download PNG: named after the class, method and layer shown, with a 2x copy."""
from __future__ import annotations

import asyncio
import base64
import io
import re

import pytest
from PIL import Image

from cam_widgets.viewer import CamViewer
from cam_widgets.viewer.pictures import SAVE_AFTER
from cam_widgets.viewer.words import download_name

from tests.viewer_helpers import images, model  # noqa: F401 (fixtures)


@pytest.mark.parametrize("parts, expected", [
    (("tabby", "gradcam", "conv_b"), "cam_tabby_gradcam_conv_b.png"),
    (("tiger cat", "gradcam_pp", "vgg16/block5_conv3"),
     "cam_tiger_cat_gradcam_pp_vgg16_block5_conv3.png"),
    (("a/b: ?*c", "saliency", None), "cam_a_b_c_saliency.png"),
    (("class 3", "score_cam", "block:1"), "cam_class_3_score_cam_block_1.png"),
])
def test_the_name_is_sanitised(parts, expected):
    assert download_name(*parts) == expected


def _links(value: str) -> dict[str, tuple[int, int]]:
    """{file name: (width, height) of the linked PNG} of the download widget's links."""
    found = re.findall(r'download="([^"]+)" href="data:image/png;base64,([^"]+)"', value)
    return {name: Image.open(io.BytesIO(base64.b64decode(data))).size for name, data in found}


def test_the_links_name_the_view_and_the_2x_is_twice_as_large(model, images):  # noqa: F811
    viewer = CamViewer(model, class_names=["disc", "tabby cat", "c", "d", "e"], layer="conv_a",
                       target=1)

    async def settled(change=lambda: None) -> None:  # as in a notebook: the link follows
        change()
        await viewer.wait()
        await asyncio.sleep(SAVE_AFTER + 0.4)

    asyncio.run(settled(lambda: viewer.show(images[0])))
    links = _links(viewer.parts.download.value)
    assert list(links) == ["cam_tabby_cat_gradcam_conv_a.png",
                           "cam_tabby_cat_gradcam_conv_a@2x.png"]
    width, height = links["cam_tabby_cat_gradcam_conv_a.png"]
    assert (width, height) == viewer.snapshot().shape[1::-1]
    width_2x, height_2x = links["cam_tabby_cat_gradcam_conv_a@2x.png"]
    assert width_2x == 2 * width  # panels twice as large; the text lines' padding is fixed
    assert 2 * height - 48 <= height_2x <= 2 * height, (height, height_2x)
    assert ">Download PNG</a>" in viewer.parts.download.value and ">2x</a>" in (
        viewer.parts.download.value)
    asyncio.run(settled(lambda: setattr(viewer, "method", "saliency")))
    assert list(_links(viewer.parts.download.value))[0] == "cam_tabby_cat_saliency.png"
