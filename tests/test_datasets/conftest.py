"""Fixtures of the dataset and transform tests."""
import pytest

from mmallnet.testing import write_pascal_context


@pytest.fixture
def pascal_root(tmp_path):
    """The 4-image PASCAL-Context tree of :func:`write_pascal_context`."""
    return write_pascal_context(str(tmp_path / 'PASCALContext'))
