"""The attribution kernel: TensorFlow only, no rendering or widgets."""
from cam_widgets._tf_startup import import_tensorflow

import_tensorflow()  # before any kernel module: TensorFlow loads without its notices

from cam_widgets.kernel.explain import ExplainResult, explain, explain_dataset  # noqa: E402
from cam_widgets.kernel.guided import GuidedCoverage  # noqa: E402
from cam_widgets.kernel.layers import LayerInfo, list_layers  # noqa: E402

__all__ = ["ExplainResult", "GuidedCoverage", "LayerInfo", "explain", "explain_dataset",
           "list_layers"]
