"""The attribution kernel: TensorFlow only, no rendering or widgets.

Besides `explain`, the viewer reads these one homes of shared knowledge: `class_count`
(how many classes an int target can name), `split_images` / `load_image` (the
one-image-or-batch rule and image loading), `looks_like_probabilities`.
"""
from cam_widgets.kernel.explain import ExplainResult, explain, explain_dataset
from cam_widgets.kernel.guided import GuidedCoverage
from cam_widgets.kernel.inputs import load_image, split_images
from cam_widgets.kernel.layers import LayerInfo, list_layers
from cam_widgets.kernel.segmentation import SegmentationTarget
from cam_widgets.kernel.targets import class_count, looks_like_probabilities

__all__ = ["ExplainResult", "GuidedCoverage", "LayerInfo", "SegmentationTarget",
           "class_count", "explain", "explain_dataset", "list_layers", "load_image",
           "looks_like_probabilities", "split_images"]
