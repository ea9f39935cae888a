"""Install mmallnet: ``pip install -e .``.

``install_requires`` holds ranges only (requirements/runtime.txt) and never
torch, torchvision or mmcv: install those first, as for any OpenMMLab
package (mmcv's range: requirements/mminstall.txt, also the extra ``mim``),
so that pip never replaces a working, possibly CUDA, build. The tested
versions are pinned in requirements/tested.txt (tools/install.sh).
"""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name: str) -> list:
    """The requirement lines of requirements/<name>, without comments."""
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        lines = [line.split('#', 1)[0].strip() for line in f]
    return [line for line in lines if line and not line.startswith('-')]


def read_version() -> str:
    namespace: dict = {}
    with open(osp.join(osp.dirname(__file__), 'mmallnet', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmallnet',
    version=read_version(),
    description='ALLNet: multi-task dense prediction for degraded images, '
    'an MMSegmentation 1.x plugin',
    long_description=open('README.md').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'benchmarks',
                                    'projects')),
    python_requires='>=3.8',
    install_requires=read_requirements('runtime.txt'),
    extras_require=dict(
        tests=read_requirements('tests.txt'),
        analysis=read_requirements('analysis.txt'),
        mim=read_requirements('mminstall.txt')),
    license='Apache License 2.0',
    zip_safe=False)
