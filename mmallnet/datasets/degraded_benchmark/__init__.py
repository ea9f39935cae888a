"""Fixed degraded benchmarks: a degraded copy of a val set, written once.

:func:`make_degraded_benchmark` applies each benchmark *set* (one
degradation type, optionally at one severity level, e.g. ``noise_25``) to
every image of a dataset and writes the results as lossless PNGs with a JSON
manifest. Layout under the output directory ``DIR``::

    DIR/manifest.json               settings, sets, per-image records
    DIR/<set>/images/<id>.png       degraded image (8-bit, 3 channels)

``<set>`` is ``<type>`` (``rain``) or ``<type>_<level>`` (``noise_15``);
see :func:`benchmark_sets`. The PNG holds the degraded version of the image
that ``LoadImageFromFile`` reads for ``<id>``, so reading it back the same
way gives the exact uint8 array the degradation produced.

Randomness: image ``<id>`` of a set of type ``t`` is degraded by the set's
transform with ``seed=S`` (the benchmark seed), i.e. with the generator
``default_rng([S, stable_int(<id>), stable_int(t)])`` of
:mod:`mmallnet.datasets.transforms.degradations.base`. The bytes therefore
depend only on (seed, type, id, parameters) -- not on the worker count or
the order -- and equal what the same transform produces on the fly in a
pipeline. The noise levels of one image share one normal draw (they differ
only in sigma).

The manifest (``manifest.json``)::

    format, format_version
    settings:  tool, mmallnet_version, seed, dataset {type, split,
               data_root, ann_file, num_images}, layout, randomness
    ids:       the dataset's image ids, in order
    sets:      <set> -> {type, level, level_param, transform (config)}
    images:    <set> -> <id> -> {sha256 (of the PNG file), source_sha256
               (of the clean image file), [depth_sha256], degradation_params}
    environment: numpy / opencv versions (information only)

Re-running on an existing ``DIR`` resumes: images whose file exists and
matches its record are kept, the others are written (to a temporary file,
then renamed), and the manifest is rewritten with the merged records. New
sets may be added to an existing ``DIR``; a different seed, dataset (type,
split or ids), mmallnet version, format version, a different definition
of an existing set or a clean image (or depth map) that changed since the
copy was made raises a :class:`ValueError` instead of mixing copies.

Fog uses the dataset's ground-truth depth when it has one (NYUD-v2,
SynthScenes) and otherwise the documented depth prior of
:class:`~mmallnet.datasets.transforms.Fog`, as on the fly; each record's
``degradation_params['depth_source']`` says which.

Reading a copy back: :func:`attach_degraded_copy` (the ``degraded_root`` /
``degradation`` arguments of the multi-task datasets), the transform
:class:`~mmallnet.datasets.transforms.LoadDegradedImage` and the dataset
:class:`DegradedBenchmarkDataset` (clean set + every stored set).

MMSeg's own datasets (``ADE20KDataset``, ``CityscapesDataset``, ...) work
too: their ids are the image paths relative to the image folder, without
extension (they have no ``img_id``), the fog uses its depth prior, and
:class:`DegradedCopyDataset` reads a set back with the annotation paths
of the clean dataset, for a stock MMSeg model and
:class:`~mmallnet.evaluation.PerDegradationIoUMetric`.

Files: :mod:`.sets` (set definitions), :mod:`.manifest` (manifest and
layout), :mod:`.source` (the clean dataset), :mod:`.jobs` (one image),
:mod:`.writer` (:func:`make_degraded_benchmark`), :mod:`.attach`,
:mod:`.dataset` and :mod:`.copy_dataset` (reading), :mod:`.integrity`
(the stored images checked against the manifest's sha256 when a copy is
read, once per process).
"""
from .attach import attach_degraded_copy
from .copy_dataset import DegradedCopyDataset
from .dataset import DegradedBenchmarkDataset
from .manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    degraded_image_path,
    load_manifest,
    manifest_path,
)
from .sets import (
    BENCHMARK_TYPES,
    DEFAULT_LEVELS,
    LEVEL_PARAMS,
    LEVEL_RECORD_KEYS,
    benchmark_sets,
    set_name,
)
from .writer import make_degraded_benchmark

__all__ = [
    'BENCHMARK_TYPES', 'LEVEL_PARAMS', 'DEFAULT_LEVELS', 'MANIFEST_NAME',
    'FORMAT_VERSION', 'benchmark_sets', 'make_degraded_benchmark',
    'load_manifest', 'manifest_path', 'degraded_image_path',
    'attach_degraded_copy', 'DegradedBenchmarkDataset',
    'DegradedCopyDataset', 'LEVEL_RECORD_KEYS', 'set_name'
]
