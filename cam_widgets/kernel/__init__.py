"""The attribution kernel: TensorFlow only, no rendering or widgets."""
from cam_widgets.kernel.explain import ExplainResult, explain, explain_dataset
from cam_widgets.kernel.guided import GuidedCoverage
from cam_widgets.kernel.layers import LayerInfo, list_layers
from cam_widgets.kernel.segmentation import SegmentationTarget

__all__ = ["ExplainResult", "GuidedCoverage", "LayerInfo", "SegmentationTarget", "explain",
           "explain_dataset", "list_layers"]
