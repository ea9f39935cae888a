"""SynthScenes: procedural indoor scenes with exact dense labels.

Every scene is a closed box-shaped room (floor, ceiling and four walls)
holding 3 to 7 objects that rest on the floor: cabinets, tables (top and
four legs), beds (base, headboard, pillow), boxes, balls (spheres), pillars
and stools (vertical cylinders). Surfaces carry procedural textures
(stripes, checkers, grids, planks, dots, waves) and are lit by a point
light with Lambertian shading and hard shadows, so normals matter for the
image. Pixels are ray cast in numpy (one ray through each pixel centre,
analytic intersections, nearest hit kept), so depth, normals, labels,
boundaries and saliency are exact.

Conventions:

- Camera: pinhole, OpenCV frame (x right, y down, z forward), fixed
  horizontal field of view :data:`HFOV_DEG`; see :func:`camera_intrinsics`.
  Pixel ``(u, v)`` (column, row index) looks along
  ``((u - cx) / fx, (v - cy) / fy, 1)``.
- Depth: z-depth along the optical axis in metres (like Kinect depth);
  every pixel is valid (> 0) because the room is closed.
- Normals: unit vectors in the camera frame above, oriented toward the
  camera (``n . ray < 0``).
- Semantic labels: ids ``0..K-1`` indexing :data:`SYNTHSCENES_CLASSES`.
- Boundary: ``1`` where the instance id differs from the right or lower
  neighbour (a one-pixel-thin map of semantic and instance boundaries;
  the six room planes are separate instances).
- Saliency: ``1`` on object pixels (everything except wall, floor and
  ceiling).
- World frame (see :func:`sample_scene`): z up, the floor is ``z = 0``,
  the room spans ``[-W/2, W/2] x [0, D] x [0, H]``.

:func:`generate_synthscenes` writes the NYUD-v2 multi-task (InvPT) layout,
so the NYUD loaders read it unchanged. One file per stage:
:mod:`.settings`, :mod:`.camera`, :mod:`.materials`, :mod:`.objects`,
:mod:`.scene` (sampling), :mod:`.raycast`, :mod:`.render` (rendering),
:mod:`.meta`, :mod:`.writer` (the dataset on disk). Only numpy, OpenCV
and (for the progress bar) mmengine are needed.
"""
from .camera import camera_intrinsics
from .meta import is_synthscenes_complete
from .render import render_scene
from .scene import sample_scene
from .settings import (
    DEPTH_DEFINITION,
    GENERATOR_VERSION,
    HFOV_DEG,
    NORMALS_FRAME,
    ROOM_CLASS_IDS,
    SYNTHSCENES_CLASSES,
    SYNTHSCENES_PALETTE,
    SYNTHSCENES_SUBDIRS,
)
from .writer import generate_synthscenes

__all__ = [
    'DEPTH_DEFINITION', 'GENERATOR_VERSION', 'HFOV_DEG', 'NORMALS_FRAME',
    'ROOM_CLASS_IDS', 'SYNTHSCENES_CLASSES', 'SYNTHSCENES_PALETTE',
    'SYNTHSCENES_SUBDIRS', 'camera_intrinsics', 'generate_synthscenes',
    'is_synthscenes_complete', 'render_scene', 'sample_scene'
]
