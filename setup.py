"""Install mmallnet: ``pip install -e .`` (torch, mmcv: tools/install.sh)."""
import os.path as osp

from setuptools import find_packages, setup


def read_requirements(name: str) -> list:
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        return [
            line.strip() for line in f
            if line.strip() and not line.startswith(('#', '-'))
        ]


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
        mim=read_requirements('mminstall.txt')),
    license='Apache License 2.0',
    zip_safe=False)
