"""CamViewer: an ipywidgets view of where a Keras image model looks.

How a setting becomes pixels (each step is one module; data flows one way)::

    trait        CamViewer.method/layer/target/... (`facade`), set from code or by a
                 control bound to it (`controls.Binding`, `panel`, `method_options`)
      -> request `wiring` asks for a recompute or a repaint (`state.EFFECTS`);
                 `scheduler.LatestWins` keeps only the latest request, on a worker thread
                 when an event loop runs; the `session` turns it into a `state.Settings`
      -> kernel  `explainer.Explainer` answers from its caches, or calls the kernel
                 through the one seam `facade.load_kernel()` (the only place the viewer
                 imports the kernel, and so TensorFlow); warnings raised meanwhile become
                 the map's notes, shown in the status line
      -> compose `compose` and `render` turn the map into RGBA panels, the colour bar and
                 the captioned figure (numpy and PIL only); `words` writes the text
      -> transport `painter` sends what changed through `transport.CanvasTransport`,
                 the only code that talks to ipycanvas (tests: `RecordingTransport`)

The page around the canvases is `layout`; `pictures` keeps the saved notebook's PNG and
the download link up to date; `prefetch` pre-traces the next likely actions.
"""

from __future__ import annotations

from cam_widgets.viewer.facade import CamViewer

__all__ = ["CamViewer"]
