from .mae_neck import MaENeck

__all__ = ['MaENeck']
