from .color_maps import (
    depth_to_rgb,
    depth_value_range,
    generate_palette,
    image_to_uint8,
    label_to_rgb,
    normal_to_rgb,
    prob_to_gray,
)
from .feature_embedding import (
    FeatureCollector,
    embed_2d,
    plot_embedding,
    silhouette_score,
)
from .multi_task_visualizer import (
    MultiTaskLocalVisualizer,
    degradation_title,
    draw_multi_task_sample,
)

__all__ = [
    'MultiTaskLocalVisualizer', 'draw_multi_task_sample', 'degradation_title',
    'generate_palette', 'label_to_rgb', 'depth_to_rgb', 'depth_value_range',
    'normal_to_rgb', 'prob_to_gray', 'image_to_uint8', 'FeatureCollector',
    'embed_2d', 'plot_embedding', 'silhouette_score'
]
