"""tools/misc/check_environment.py, the requirement files, tools/install.sh.

The requirement files: setup.py's install_requires (requirements/runtime.txt)
and mmcv's range (requirements/mminstall.txt) hold ranges, never torch,
torchvision or mmcv pins; requirements/tested.txt pins the tested stack,
which tools/install.sh installs (it writes no version itself).
"""
import importlib.util
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import setuptools
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / 'requirements'


def _load_tool():
    spec = importlib.util.spec_from_file_location(
        'check_environment', ROOT / 'tools/misc/check_environment.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_environment = _load_tool()


def test_read_requirements_skips_comments_and_blank_lines(tmp_path):
    path = tmp_path / 'req.txt'
    path.write_text('# a comment\n\nnumpy  # inline\nscipy>=1.0\n')
    reqs = check_environment.read_requirements(path)
    assert [str(r) for r in reqs] == ['numpy', 'scipy>=1.0']


@pytest.mark.parametrize('line, match', [
    ('-r other.txt', r"req.txt:2: pip options such as '-r'"),
    ('numpy >= = 1', r"req.txt:2: 'numpy >= = 1' is not a valid requirement"),
])
def test_read_requirements_rejects_what_it_cannot_check(tmp_path, line,
                                                        match):
    path = tmp_path / 'req.txt'
    path.write_text(f'numpy\n{line}\n')
    with pytest.raises(ValueError, match=match):
        check_environment.read_requirements(path)


def test_unmet_requirements_names_missing_and_wrong_versions():
    import pytest as installed_pytest
    Requirement = check_environment.Requirement
    reqs = [
        Requirement('pytest>=1'),
        Requirement('pytest<1'),
        Requirement('mmallnet-no-such-package'),
        Requirement('mmallnet-no-such-package; python_version < "3"'),
    ]
    assert check_environment.unmet_requirements(reqs) == [
        f'pytest<1 is required, {installed_pytest.__version__} is installed',
        'mmallnet-no-such-package is not installed',
    ]


def test_main_fails_and_reports_an_unmet_requirement(tmp_path, capsys):
    path = tmp_path / 'req.txt'
    path.write_text('mmallnet-no-such-package>=2\n')
    assert check_environment.main([str(path)]) == 1
    assert capsys.readouterr().out == (
        '[mmallnet install] to install: mmallnet-no-such-package>=2 is not '
        'installed\n')


def test_main_passes_in_the_installed_test_environment(capsys):
    # The test suite runs after tools/install.sh --tests, so the stack is
    # complete here (and install.sh skipped pip because of this check,
    # called as here).
    reqs = [str(REQUIREMENTS / name)
            for name in ('runtime.txt', 'mminstall.txt', 'tests.txt')]
    assert check_environment.main(['--tested'] + reqs) == 0
    out = capsys.readouterr().out
    assert 'environment complete' in out and str(ROOT) in out


def test_mmcv_only_passes_with_the_installed_mmcv(capsys):
    assert check_environment.check_mmcv() == []
    assert check_environment.main(['--mmcv-only']) == 0
    assert capsys.readouterr().out == ''


def test_mmcv_only_reports_an_unaccepted_version(monkeypatch, capsys):
    import mmcv
    monkeypatch.setattr(mmcv, '__version__', '2.2.0')
    assert check_environment.main(['--mmcv-only']) == 1
    assert capsys.readouterr().out == (
        '[mmallnet install] to install: mmcv 2.2.0 does not meet '
        'mmcv<2.2.0,>=2.0.0rc4 (mminstall.txt: the range mmseg accepts)\n')


def test_check_mmcv_reads_the_accepted_range_from_the_file(tmp_path):
    import mmcv
    path = tmp_path / 'mminstall.txt'
    path.write_text(f'mmengine\nmmcv>{mmcv.__version__}\n')
    assert check_environment.check_mmcv(path) == [
        f'mmcv {mmcv.__version__} does not meet mmcv>{mmcv.__version__} '
        '(mminstall.txt: the range mmseg accepts)']
    path.write_text(f'mmcv=={mmcv.__version__}\n')
    assert check_environment.check_mmcv(path) == []
    path.write_text('mmengine\n')
    with pytest.raises(ValueError, match="no requirement on 'mmcv'"):
        check_environment.check_mmcv(path)


def test_main_rejects_a_missing_requirements_file(tmp_path):
    with pytest.raises(SystemExit):
        check_environment.main([str(tmp_path / 'missing.txt')])


# --- the requirement files -------------------------------------------------

#: Installed before mmallnet (tools/install.sh, or torch + mim): no
#: install_requires may name them, or pip could replace a user's build.
COMPILED = {'torch', 'torchvision', 'mmcv'}


def setup_kwargs() -> dict:
    """The keyword arguments setup.py passes to setuptools.setup."""
    captured = {}
    original = setuptools.setup
    setuptools.setup = lambda **kwargs: captured.update(kwargs)
    try:
        runpy.run_path(str(ROOT / 'setup.py'), run_name='__main__')
    finally:
        setuptools.setup = original
    return captured


def test_install_requires_are_ranges_without_torch_or_mmcv():
    kwargs = setup_kwargs()
    install_requires = [Requirement(r) for r in kwargs['install_requires']]
    assert [str(r) for r in install_requires] == [
        str(r) for r in check_environment.read_requirements(
            REQUIREMENTS / 'runtime.txt')]
    names = {canonicalize_name(r.name) for r in install_requires}
    assert names == {
        'mmengine', 'mmsegmentation', 'mmpretrain', 'setuptools', 'numpy',
        'opencv-python', 'scipy', 'prettytable', 'ftfy', 'regex'}
    pins = [str(r) for r in install_requires
            if any(s.operator in ('==', '===') for s in r.specifier)]
    assert pins == []
    # every OpenMMLab requirement is bounded above (their APIs change
    # between minor versions)
    for req in install_requires:
        if req.name.startswith('mm'):
            assert {s.operator for s in req.specifier} == {'>=', '<'}, req
    mim = [str(r) for r in map(Requirement, kwargs['extras_require']['mim'])]
    assert mim == ['mmcv<2.2.0,>=2.0.0rc4']
    assert kwargs['extras_require']['tests'] == [
        'pytest', 'ruff', 'tensorboard', 'scikit-learn'
    ]


def test_tested_stack_pins_every_package_within_the_declared_ranges():
    tested = check_environment.read_requirements(REQUIREMENTS / 'tested.txt')
    ranges = {
        canonicalize_name(r.name): r
        for name in ('runtime.txt', 'mminstall.txt')
        for r in check_environment.read_requirements(REQUIREMENTS / name)}
    pinned = {}
    for req in tested:
        if req.name == 'setuptools':
            assert str(req) == 'setuptools<81'
            continue
        pinned[req.name] = check_environment.pinned_version(req)
        if req.name in ranges:
            assert ranges[req.name].specifier.contains(
                pinned[req.name], prereleases=True), (req, ranges[req.name])
    assert sorted(pinned) == sorted(
        COMPILED | {'mmengine', 'mmsegmentation', 'mmpretrain'})


@pytest.mark.parametrize('line, match', [
    ('torch>=2', 'torch>=2 is not an exact pin'),
    ('torch==2.*', r'torch==2\.\* is not an exact pin'),
    ('torch==2.1,!=2.1.1', 'torch!=2.1.1,==2.1 is not an exact pin'),
    ('numpy==1', "no requirement on 'torch'"),
])
def test_tested_versions_needs_exact_pins(tmp_path, line, match):
    path = tmp_path / 'tested.txt'
    path.write_text(f'mmcv==2.1.0\n{line}\n')
    with pytest.raises(ValueError, match=rf'tested.txt: {match}'):
        check_environment.tested_versions(['mmcv', 'torch'], path)


def test_tested_versions_and_kept_packages(tmp_path):
    path = tmp_path / 'tested.txt'
    path.write_text('# pins\nTorch==1.2\ntorchvision==0.3  # vision\n'
                    'mmcv==2.1.0\nmm_engine==0.10.7\nnumpy<2\n')
    assert check_environment.tested_versions(
        ['mmcv', 'torch', 'mm-engine'], path) == ['2.1.0', '1.2', '0.10.7']
    assert [str(r) for r in check_environment.tested_requirements(path)] == [
        'mm_engine==0.10.7', 'numpy<2']


def test_main_prints_the_tested_versions_and_pins(tmp_path, monkeypatch,
                                                  capsys):
    path = tmp_path / 'tested.txt'
    path.write_text('torch==9.1\nmmcv==9.2\nmmengine==9.3\nsetuptools<81\n')
    monkeypatch.setattr(check_environment, 'TESTED_REQUIREMENTS', path)
    assert check_environment.main(['--versions', 'mmcv', 'torch']) == 0
    assert capsys.readouterr().out == '9.2 9.1\n'
    assert check_environment.main(['--list-tested']) == 0
    assert capsys.readouterr().out == 'mmengine==9.3\nsetuptools<81\n'
    assert check_environment.main(['--versions', 'setuptools']) == 1
    captured = capsys.readouterr()
    assert captured.out == ''
    assert captured.err == (f'[mmallnet install] {path}: setuptools<81 is '
                            'not an exact pin (name==version)\n')


def test_main_tested_requires_the_pins_except_torch_and_mmcv(
        tmp_path, monkeypatch, capsys):
    import pytest as installed_pytest
    path = tmp_path / 'tested.txt'
    # torch 0.1 and mmcv 0.1 are not installed: a working build is kept
    path.write_text('torch==0.1\ntorchvision==0.1\nmmcv==0.1\n'
                    f'pytest=={installed_pytest.__version__}\n')
    monkeypatch.setattr(check_environment, 'TESTED_REQUIREMENTS', path)
    assert check_environment.main(['--tested']) == 0
    assert 'environment complete' in capsys.readouterr().out
    path.write_text('torch==0.1\npytest==0.1\n')
    assert check_environment.main(['--tested']) == 1
    assert capsys.readouterr().out == (
        '[mmallnet install] to install: pytest==0.1 is required, '
        f'{installed_pytest.__version__} is installed\n')


@pytest.mark.parametrize('argv', [
    ['--versions', 'torch', '--tested'],
    ['--list-tested', 'requirements/runtime.txt'],
    ['--mmcv-only', '--tested'],
    ['--mmcv-only', '--list-tested'],
])
def test_main_rejects_mixed_modes(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        check_environment.main(argv)
    assert exc.value.code == 2
    assert 'error' in capsys.readouterr().err


# --- tools/install.sh, with pip and the torch imports faked ----------------

FAKE_PYTHON = '''#!{python}
"""Stands in for python in tools/install.sh: records pip, fakes imports.

torch imports when FAKE_STATE/torch exists, mmcv (--mmcv-only) when
FAKE_STATE/mmcv does; installing mmcv creates it. Other calls run the
real interpreter (check_environment.py --versions / --list-tested).
"""
import os
import sys
import tarfile
from pathlib import Path

state = Path(os.environ['FAKE_STATE'])
args = sys.argv[1:]


def record(line):
    with open(state / 'calls.txt', 'a') as f:
        f.write(line + '\\n')


if args[:2] == ['-m', 'pip']:
    pip = args[2:]
    if pip[0] == 'download':
        dest = Path(pip[pip.index('-d') + 1])
        pip[pip.index('-d') + 1] = '<build_dir>'
        name = pip[-1].replace('==', '-')
        src = state / name
        src.mkdir()
        (src / 'setup.py').write_text("args = ['-std=c++17']\\n")
        with tarfile.open(dest / f'{{name}}.tar.gz', 'w:gz') as tar:
            tar.add(src, arcname=name)
    record('pip ' + ' '.join(pip))
    if pip[0] == 'install' and pip[-1] == '.' and '-e' not in pip:
        record('built ' + Path.cwd().name + ' with ' +
               Path('setup.py').read_text().strip())
        (state / 'mmcv').touch()
    elif pip[0] == 'install' and any(a.startswith('mmcv==') for a in pip):
        (state / 'mmcv').touch()
    sys.exit(0)
if args == ['--version']:
    print('Python 3 (fake)')
    sys.exit(0)
if args[:1] == ['-c']:
    if args[1] == 'import torch, torchvision':
        sys.exit(0 if (state / 'torch').exists() else 1)
    sys.exit(0)  # version prints, the torch >= 2.13 test, the last import
if args[:2] == ['tools/misc/check_environment.py', '--mmcv-only']:
    sys.exit(0 if (state / 'mmcv').exists() else 1)
os.execv(sys.executable, [sys.executable] + args)
'''

TESTED = '''# made-up versions: install.sh must take them from here
torch==9.1.0
torchvision==9.2.0
mmcv==9.3.0
mmengine==9.4.0
mmsegmentation==9.5.0
mmpretrain==9.6.0
setuptools<81
'''


def run_install(tmp_path, args=(), have=(), wheelhouse=False):
    """Run a copy of install.sh (beside no ../shared/wheels) with fake pip.

    Returns:
        tuple[list[str], str]: The pip calls (and the mmcv build) in order,
        and the script's output.
    """
    repo = tmp_path / 'repo'
    (repo / 'tools' / 'misc').mkdir(parents=True)
    shutil.copy(ROOT / 'tools' / 'install.sh', repo / 'tools')
    shutil.copy(ROOT / 'tools' / 'misc' / 'check_environment.py',
                repo / 'tools' / 'misc')
    shutil.copytree(REQUIREMENTS, repo / 'requirements')
    (repo / 'requirements' / 'tested.txt').write_text(TESTED)
    if wheelhouse:
        (tmp_path / 'shared' / 'wheels').mkdir(parents=True)
    state = tmp_path / 'state'
    state.mkdir()
    for name in have:
        (state / name).touch()
    fake = tmp_path / 'python'
    fake.write_text(FAKE_PYTHON.format(python=sys.executable))
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ('MMCV_WHEELHOUSE', 'PIP_FIND_LINKS')}
    env.update(PYTHON=str(fake), FAKE_STATE=str(state))
    proc = subprocess.run(
        ['bash', str(repo / 'tools' / 'install.sh'), '--reinstall', *args],
        env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return (state / 'calls.txt').read_text().splitlines(), proc.stdout


#: What install.sh installs after torch and mmcv, at the versions of TESTED.
AFTER_MMCV = [
    'pip install -q -r requirements/runtime.txt mmengine==9.4.0 '
    'mmsegmentation==9.5.0 mmpretrain==9.6.0 setuptools<81',
    'pip install -q --no-build-isolation --no-deps -e .',
]


def test_install_builds_the_tested_stack_from_source(tmp_path):
    calls, out = run_install(tmp_path, ['--tests'])
    assert calls == [
        'pip install -q setuptools<81 wheel packaging',
        'pip install -q torch==9.1.0 torchvision==9.2.0 setuptools<81',
        'pip install -q ninja psutil mmengine==9.4.0 setuptools<81',
        'pip download -q --no-deps --no-binary :all: --no-build-isolation '
        '-d <build_dir> mmcv==9.3.0',
        'pip install --no-build-isolation .',
        "built mmcv-9.3.0 with args = ['-std=c++20']",
        *AFTER_MMCV,
        'pip install -q -r requirements/tests.txt',
    ]
    assert 'building mmcv 9.3.0 from source' in out


def test_install_takes_mmcv_from_the_wheelhouse_beside_the_checkout(
        tmp_path):
    calls, out = run_install(tmp_path, have=['torch'], wheelhouse=True)
    wheels = tmp_path / 'shared' / 'wheels'
    assert calls == [
        'pip install -q setuptools<81 wheel packaging',
        f'pip install -q --find-links {wheels} --only-binary mmcv '
        'mmcv==9.3.0',
        *AFTER_MMCV,
    ]
    assert f'installed mmcv 9.3.0 from wheelhouse {wheels}' in out


def test_install_keeps_a_working_torch_and_mmcv(tmp_path):
    calls, out = run_install(tmp_path, have=['torch', 'mmcv'],
                             wheelhouse=True)
    assert calls == ['pip install -q setuptools<81 wheel packaging',
                     *AFTER_MMCV]
    assert '[mmallnet install] reusing torch' in out
    assert '[mmallnet install] reusing mmcv' in out
