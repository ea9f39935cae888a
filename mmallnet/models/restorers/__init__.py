from .dense_restorer import RESTORER_ARCHS, DenseRestorer
from .image_restorer import ImageRestorer
from .mae_restorer import MaERestorer

__all__ = ['RESTORER_ARCHS', 'DenseRestorer', 'MaERestorer', 'ImageRestorer']
