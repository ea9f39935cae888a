"""mmallnet: ALLNet, multi-task dense prediction for degraded images.

Importing the package registers every dataset, transform, model, metric and
visualizer into MMSegmentation's registries (configs list it in
``custom_imports``) and registers a local-file checkpoint loader with
MMEngine that keeps torch's ``weights_only`` protection and allows the few
globals runner checkpoints hold (:mod:`mmallnet.utils.checkpoint_loading`).
"""
from .utils import register_checkpoint_loader
from .version import __version__

register_checkpoint_loader()

from . import (  # noqa: E402,F401,I001
    datasets,
    engine,
    evaluation,
    models,
    structures,
    visualization,
)

__all__ = ['__version__']
