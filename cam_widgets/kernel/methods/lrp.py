"""Layer-wise relevance propagation: the class logit redistributed layer by layer down to
the pixels, by rules chosen per layer kind (kernel/lrp_rules.py), while re-tracing."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keras import ops

from cam_widgets.kernel import backends
from cam_widgets.kernel.lrp_plan import lrp_plan
from cam_widgets.kernel.lrp_rules import COMPOSITES, LrpTrace, Settings
from cam_widgets.kernel.methods.base import Attribution, Method, Option, Run, scale_signed
from cam_widgets.kernel.methods.registry import register
from cam_widgets.kernel.probe import Probe

RULES = ("zero", "epsilon", "gamma", "zplus", "alpha_beta", "flat", "wsquare")


@register
class LRP(Method):
    """Layer-wise relevance propagation (LRP).

    Bach et al. 2015, "On Pixel-Wise Explanations for Non-Linear Classifier Decisions by
    Layer-Wise Relevance Propagation"; rules and composites as in Montavon et al. 2019,
    "Layer-Wise Relevance Propagation: An Overview", named as zennit names them. The
    relevance starts at the explained class's logit (or a callable target's score) and
    `raw` is each input pixel and channel's share of it (B, H, W, C), signed; `maps` its
    sum over channels with zero at 0.5. On a bias-free network with LRP-0 or epsilon the
    pixels' relevances sum to the logit; biases, epsilon and standalone BatchNorm shifts
    absorb the rest.

    `rule` applies one rule to every Dense/Conv layer; "flat" and "wsquare" ignore the
    activations, so they apply where the image enters the network and the deeper layers
    use "epsilon". `composite` picks a rule per layer kind instead: `epsilon_plus` (z+ on
    convolutions, epsilon on dense layers), `epsilon_plus_flat` (and flat on the first
    layer), `epsilon_gamma_box` (box on the first layer with pixel bounds `low`/`high`,
    gamma on convolutions), `epsilon_alpha2_beta1` (alpha=2, beta=1 on convolutions).
    Canonizers: a BatchNormalization right after a Dense/Conv is folded into it;
    ReLU and ReLU6 pass relevance on unchanged; sums, average and max pooling, padding,
    reshaping, dropout and rescaling pass it through their own gradient (LRP-0).
    """

    name = "lrp"
    paper = "Bach et al. 2015"
    caption = "signed: each pixel's share of the class logit (red for the class, blue against)"
    uses_layer = False
    signed = True
    guided_variant = False
    options = (
        Option("rule", "epsilon", str, "the rule of every Dense/Conv layer", choices=RULES),
        Option("composite", None, str, "a rule per layer kind (replaces `rule`)",
               choices=(None, *COMPOSITES), none_ok=True),
        Option("epsilon", 1e-6, float, "epsilon of the epsilon rule", low=0.0, high=1e6),
        Option("gamma", 0.25, float, "how much the gamma rule favours positive weights",
               low=0.0, high=1e6),
        Option("alpha", 2.0, float, "weight of positive contributions (alpha - beta = 1)",
               low=1.0, high=1e6),
        Option("beta", 1.0, float, "weight of negative contributions (alpha - beta = 1)",
               low=0.0, high=1e6),
        Option("low", None, float, "lowest pixel value for the box rule (None: each "
               "image's minimum), in the units of the first layer's input", none_ok=True),
        Option("high", None, float, "highest pixel value for the box rule (None: each "
               "image's maximum)", none_ok=True),
    )

    def check_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        options = super().check_options(given)
        if options["composite"] is not None and "rule" in given:
            raise ValueError(
                f"Give LRP either `rule` ({given['rule']!r}) or `composite` "
                f"({options['composite']!r}), not both: a composite picks the rule of each layer."
            )
        if abs(options["alpha"] - options["beta"] - 1.0) > 1e-9:
            raise ValueError(
                f"LRP's alpha-beta rule needs alpha - beta = 1 to conserve relevance; got "
                f"alpha={options['alpha']!r}, beta={options['beta']!r} (e.g. alpha=2, beta=1 "
                "or alpha=1, beta=0)."
            )
        low, high = options["low"], options["high"]
        if low is not None and high is not None and not low < high:
            raise ValueError(f"LRP's box bounds need low < high; got low={low!r}, high={high!r}.")
        return options

    def check_model(self, model: Any, options: dict[str, Any]) -> None:
        lrp_plan(model)  # a layer without a rule is refused here, by name

    def compute(self, run: Run) -> Attribution:
        options = run.options
        settings = Settings(**{name: options[name] for name in Settings.__dataclass_fields__})
        trace = LrpTrace(lrp_plan(run.probe.model), settings)
        probe = Probe(run.probe.model, guided=False, logits=run.probe.logits, leaf=trace)
        index, images = run.input_index, run.explained

        def scored(image, delta):
            trace.begin(image, delta)
            out = probe([image if i == index else x for i, x in enumerate(run.inputs)])
            scores, chosen = run.score(out)
            return scores, (chosen, out)

        taken = backends.current().differentiate(scored, [images, ops.zeros_like(images)])
        through_image, at_image = taken.gradients([0, 1])
        chosen, out = taken.aux
        relevance = ops.zeros_like(images)
        if through_image is not None:
            relevance = relevance + images * through_image
        if at_image is not None:
            relevance = relevance + at_image
        maps = scale_signed(ops.sum(relevance, axis=-1))
        return run.result(relevance, maps, taken.scores, chosen, out)
