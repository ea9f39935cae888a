from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .resume import (  # noqa: F401
    NoResumableCheckpointError,
    ResumeFallbackWarning,
    find_resumable_checkpoint,
    is_complete_checkpoint,
)
