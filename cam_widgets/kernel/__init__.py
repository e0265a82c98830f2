"""The attribution kernel: Keras 3 on TensorFlow, JAX or PyTorch (`kernel.backends`),
no rendering or widgets.

Besides `explain`, the viewer reads these one homes of shared knowledge: `class_count`
(how many classes an int target can name), `split_images` / `load_image` (the
one-image-or-batch rule and image loading), `looks_like_probabilities`,
`predicted_classes` (the class `target=None` explains).
"""
from cam_widgets._tf_startup import import_keras_quietly

import_keras_quietly()  # before any kernel module: TensorFlow loads without its notices

from cam_widgets.kernel.backends import quick_first_call  # noqa: E402
from cam_widgets.kernel.dataset import explain_dataset  # noqa: E402
from cam_widgets.kernel.explain import ExplainResult, explain  # noqa: E402
from cam_widgets.kernel.guided import GuidedCoverage  # noqa: E402
from cam_widgets.kernel.inputs import load_image, split_images  # noqa: E402
from cam_widgets.kernel.layers import LayerInfo, list_layers  # noqa: E402
from cam_widgets.kernel.segmentation import SegmentationTarget  # noqa: E402
from cam_widgets.kernel.shared_pass import explain_shared  # noqa: E402
from cam_widgets.kernel.targets import (  # noqa: E402
    class_count, looks_like_probabilities, predicted_classes)

__all__ = ["ExplainResult", "GuidedCoverage", "LayerInfo", "SegmentationTarget",
           "class_count", "explain", "explain_dataset", "explain_shared", "list_layers",
           "load_image", "looks_like_probabilities", "predicted_classes", "quick_first_call",
           "split_images"]
