from .backbones import *  # noqa: F401,F403
from .data_preprocessor import MultiTaskDataPreProcessor
from .decode_heads import *  # noqa: F401,F403
from .layers import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .restorers import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403

__all__ = ['MultiTaskDataPreProcessor']
