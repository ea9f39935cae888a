"""tools/misc/generate_synthscenes.py: generate, reuse, file fallback."""
import importlib.util
import os.path as osp
import subprocess
import sys

import pytest

from mmallnet.datasets.synthscenes_generator import is_synthscenes_complete

H, W = 24, 32
REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(REPO_ROOT, 'tools', 'misc', 'generate_synthscenes.py')


def test_cli(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'generate_synthscenes_cli',
        TOOL)
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    root = str(tmp_path / 'cli')
    argv = [root, '--num-train', '2', '--num-val', '1', '--height', str(H),
            '--width', str(W), '--seed', '4', '--no-progress']
    meta = cli.main(argv)
    assert is_synthscenes_complete(root) and meta['seed'] == 4
    assert 'Generated SynthScenes' in capsys.readouterr().out
    cli.main(argv)
    assert 'Reused existing' in capsys.readouterr().out
    with pytest.raises(FileExistsError):
        cli.main(argv[:-2] + ['5', '--no-progress'])
    assert cli.parse_args([]).out_dir == 'data/synthscenes'


def test_cli_loads_the_generator_files_without_the_package(tmp_path):
    """With ``import mmallnet`` broken, the tool loads the generator package
    and its dependencies by file, and the workers can unpickle its jobs."""
    root = str(tmp_path / 'fallback')
    script = (
        'import sys, importlib.util\n'
        "sys.modules['mmallnet'] = None  # any import of mmallnet fails\n"
        f'spec = importlib.util.spec_from_file_location("cli", {TOOL!r})\n'
        'cli = importlib.util.module_from_spec(spec)\n'
        'spec.loader.exec_module(cli)\n'
        'print(cli.load_generator().__name__)\n'
        f"cli.main([{root!r}, '--num-train', '1', '--num-val', '1', "
        "'--height', '8', '--width', '8', '--num-workers', '2', "
        "'--no-progress'])\n")
    out = subprocess.run([sys.executable, '-c', script], check=True,
                         capture_output=True, text=True).stdout
    assert out.splitlines()[0] == 'mmallnet_synthscenes_generator'
    assert 'Generated SynthScenes' in out
    assert is_synthscenes_complete(root)
