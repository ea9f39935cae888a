"""Config paths of files and of stock OpenMMLab configs (``mmseg::...``)."""
import importlib.util
import os.path as osp


def resolve_config_path(config: str) -> str:
    """The file of a config path or of a ``package::path`` config.

    ``mmseg::fcn/fcn_r50-d8_4xb4-80k_ade20k-512x512.py`` is the config
    MMSeg installs under ``mmseg/.mim/configs/`` (as ``_base_`` entries
    name them); ``Config.fromfile`` needs the file.

    Args:
        config (str): A config file, or ``package::path``.

    Returns:
        str: The config file.

    Raises:
        FileNotFoundError: No such file, or the package is not installed.
    """
    path = config
    if '::' in config:
        package, rel = config.split('::', 1)
        spec = importlib.util.find_spec(package) if package else None
        if spec is None or spec.origin is None:
            raise FileNotFoundError(f'Config {config}: package {package!r} '
                                    'is not installed.')
        path = osp.join(osp.dirname(spec.origin), '.mim', 'configs', rel)
    if not osp.isfile(path):
        raise FileNotFoundError(f'Config file not found: {config}' +
                                (f' ({path})' if path != config else ''))
    return path
