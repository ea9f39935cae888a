"""Reading a dataset split file: one image id per line."""
import os.path as osp
from typing import List


def read_id_list(ann_file: str, owner: str, split: str) -> List[str]:
    """Read the non-empty, stripped lines of a split file.

    Args:
        ann_file (str): The split file.
        owner (str): Name of the dataset class, for error messages.
        split (str): The split name, for error messages.

    Returns:
        list[str]: The ids, in file order.

    Raises:
        FileNotFoundError: The file does not exist.
        ValueError: The file lists no ids.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'{owner}: split file not found: {ann_file} '
                                f'(split={split!r}).')
    with open(ann_file) as f:
        ids = [line.strip() for line in f if line.strip()]
    if not ids:
        raise ValueError(f'Split file {ann_file} lists no ids.')
    return ids
