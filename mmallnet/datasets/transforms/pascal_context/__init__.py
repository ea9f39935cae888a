"""Loading of the PASCAL-Context multi-task annotations (PASCAL_MT layout).

File formats (root ``PASCALContext/``):

- semseg: ``semseg/VOC12/<id>.png`` (or ``semseg/pascal-context/<id>.png``),
  an 8-bit label PNG (grayscale or palette indices), 0 = background,
  1..20 = VOC classes, 255 = ignore (:mod:`.readers`);
- parts: ``human_parts/<id>.mat``, the PASCAL-Part ``anno`` struct
  (``anno.objects(i).class_ind / .mask / .parts(j).part_name / .mask``);
  only persons (class 15) with part annotations are drawn, with the 6-part
  grouping of :data:`HUMAN_PART_IDS`; an image without any gives an
  all-ignore (255) map (:mod:`.human_parts`);
- saliency: ``sal_distill/<id>.png``, ``v / 255 > 0.5`` -> 1;
- normals: ``normals_distill/<id>.png``, ``n = 2 v / 255 - 1`` (RGB = x, y,
  z), kept only where the Context label (``LabelMap`` of
  ``pascal-context/trainval/<id>.mat``) is in
  :data:`NORMALS_VALID_CONTEXT_CLASSES`, elsewhere the zero vector
  (invalid) (:mod:`.context_targets`);
- boundary: nonzero 3x3 Laplacian of that ``LabelMap``, thinned to one
  pixel (:func:`~mmallnet.utils.dense_maps.thin_binary`).

The transforms :class:`LoadPascalContextAnnotations` and
:class:`IgnoreEmptyParts` use them; the class tables are in
:mod:`.classes`.
"""
from typing import Sequence

from .classes import (
    HUMAN_PART_IDS,
    NORMALS_VALID_CONTEXT_CLASSES,
    PERSON_CLASS_IND,
)
from .context_targets import context_label_edges, mask_normals
from .human_parts import load_human_parts
from .ignore_empty_parts import IgnoreEmptyParts
from .load_annotations import LoadPascalContextAnnotations
from .readers import load_label_png, load_saliency

__all__: Sequence[str] = [
    'HUMAN_PART_IDS', 'NORMALS_VALID_CONTEXT_CLASSES', 'PERSON_CLASS_IND',
    'IgnoreEmptyParts', 'LoadPascalContextAnnotations',
    'context_label_edges', 'load_human_parts', 'load_label_png',
    'load_saliency', 'mask_normals'
]
