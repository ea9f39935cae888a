import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


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
    # complete here (and install.sh skipped pip because of this check).
    reqs = [str(ROOT / 'requirements/runtime.txt'),
            str(ROOT / 'requirements/tests.txt')]
    assert check_environment.main(reqs) == 0
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
        '[mmallnet install] to install: mmcv 2.2.0 is outside '
        '[2.0.0rc4, 2.2.0) required by mmseg\n')


def test_main_rejects_a_missing_requirements_file(tmp_path):
    with pytest.raises(SystemExit):
        check_environment.main([str(tmp_path / 'missing.txt')])
