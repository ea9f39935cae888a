"""Inference on images: build a model, predict every task, write outputs."""
from .inference import config_dataset_meta, inference_model, init_model
from .inference_outputs import prediction_arrays, write_inference_outputs
from .inference_pipeline import build_inference_pipeline
from .multi_task_inferencer import (
    IMAGE_EXTENSIONS,
    MultiTaskInferencer,
    list_images,
)

__all__ = [
    'init_model', 'inference_model', 'config_dataset_meta',
    'build_inference_pipeline', 'prediction_arrays',
    'write_inference_outputs', 'MultiTaskInferencer', 'IMAGE_EXTENSIONS',
    'list_images'
]
