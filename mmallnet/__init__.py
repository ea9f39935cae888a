"""mmallnet: ALLNet, multi-task dense prediction for degraded images.

Importing the package registers every dataset, transform, model, metric and
visualizer into MMSegmentation's registries (configs list it in
``custom_imports``) and makes mmengine load runner checkpoints under
torch >= 2.6 (see :mod:`mmallnet.utils.checkpoint_compat`).
"""
from .utils import patch_mmengine_checkpoint_loading
from .version import __version__

patch_mmengine_checkpoint_loading()

from . import (  # noqa: E402,F401,I001
    datasets,
    engine,
    evaluation,
    models,
    structures,
    visualization,
)

__all__ = ['__version__']
