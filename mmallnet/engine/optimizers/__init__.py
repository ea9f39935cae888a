from .layer_decay_optimizer_constructor import (
    CustomLayerDecayOptimizerConstructor,
    get_layer_id_for_internimage,
)

__all__ = [
    'CustomLayerDecayOptimizerConstructor', 'get_layer_id_for_internimage'
]
