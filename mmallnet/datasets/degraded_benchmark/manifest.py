"""The manifest of a degraded benchmark and the layout of its files.

``DIR/manifest.json`` records the settings, the ids, the sets and one
record per (set, image); ``DIR/<set>/images/<id>.png`` holds the degraded
image. Files are written to a temporary name (``TMP_MARK``), then
renamed, so an interrupted run leaves no half-written file under a real
name.
"""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import List

#: Name and version of the manifest format.
MANIFEST_FORMAT = 'mmallnet-degraded-benchmark'
FORMAT_VERSION = 1
MANIFEST_NAME = 'manifest.json'
#: The script that writes copies (recorded in the manifest).
TOOL = 'tools/misc/make_degraded_benchmark.py'


TMP_MARK = '.tmp-'
def jsonable(value):
    """Plain JSON types (tuples become lists), as a manifest stores them."""
    return json.loads(json.dumps(value))


def degraded_image_path(root: str, set_name: str, img_id: str) -> str:
    """Path of one stored degraded image: ``root/<set>/images/<id>.png``.

    Args:
        root (str): Benchmark directory.
        set_name (str): Set name, e.g. ``'noise_15'``.
        img_id (str): Image id.

    Returns:
        str: The PNG path.
    """
    return osp.join(root, set_name, 'images', f'{img_id}.png')


def manifest_path(root: str) -> str:
    """``root/manifest.json``."""
    return osp.join(root, MANIFEST_NAME)


def load_manifest(root: str) -> dict:
    """Read and check the manifest of a benchmark directory.

    Args:
        root (str): Benchmark directory.

    Returns:
        dict: The manifest.

    Raises:
        FileNotFoundError: No ``manifest.json`` in ``root``.
        ValueError: It is not a readable manifest of this format.
    """
    path = manifest_path(root)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'No degraded benchmark manifest at {path}; write the copy with '
            f'`python {TOOL} CONFIG_OR_DATASET --out {root}`.')
    try:
        with open(path, encoding='utf-8') as f:
            manifest = json.load(f)
    except ValueError as err:
        raise ValueError(f'{path} is not valid JSON: {err}') from err
    if not isinstance(manifest, dict) or manifest.get(
            'format') != MANIFEST_FORMAT:
        raise ValueError(f'{path} is not a degraded benchmark manifest '
                         f"(expected format {MANIFEST_FORMAT!r}).")
    for key in ('settings', 'ids', 'sets', 'images'):
        if key not in manifest:
            raise ValueError(f'{path} has no {key!r} field.')
    return manifest


def write_manifest(root: str, manifest: dict) -> None:
    """Write the manifest atomically, images ordered as ``ids``."""
    order = {img_id: i for i, img_id in enumerate(manifest['ids'])}
    images = OrderedDict()
    for name in manifest['sets']:
        records = manifest['images'].get(name, {})
        images[name] = OrderedDict(
            sorted(records.items(), key=lambda kv: order[kv[0]]))
    out = dict(manifest, images=images)
    path = manifest_path(root)
    tmp = f'{path}{TMP_MARK}{os.getpid()}'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(out, f, indent=1)
        f.write('\n')
    os.replace(tmp, path)


def compare_manifests(existing: dict, wanted: dict) -> List[str]:
    """Differences that forbid writing ``wanted`` into ``existing``'s dir."""
    diffs = []
    if existing.get('format_version') != wanted['format_version']:
        diffs.append(f'format_version: {existing.get("format_version")!r} '
                     f'!= {wanted["format_version"]!r}')
    old, new = existing['settings'], wanted['settings']
    for key in ('seed', 'mmallnet_version'):
        if old.get(key) != new[key]:
            diffs.append(f'{key}: {old.get(key)!r} != {new[key]!r}')
    old_ds, new_ds = old.get('dataset', {}), new['dataset']
    for key in ('type', 'split'):
        if old_ds.get(key) != new_ds[key]:
            diffs.append(f'dataset.{key}: {old_ds.get(key)!r} != '
                         f'{new_ds[key]!r}')
    if existing['ids'] != wanted['ids']:
        diffs.append(f'ids: {len(existing["ids"])} ids != '
                     f'{len(wanted["ids"])} ids (or another order)')
    for name, spec in wanted['sets'].items():
        if name in existing['sets'] and existing['sets'][name] != spec:
            diffs.append(f'sets.{name}: {existing["sets"][name]} != {spec}')
    return diffs
