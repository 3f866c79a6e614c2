"""Splitting a centralized dataset into clients: one partitioner per option
(`conf/data/partition/<option>.yaml` <-> `fedexp/data/partition/<option>.py`), run by `partition`."""

from fedexp.data.partition._base import Partitioner, partition
from fedexp.data.partition.dirichlet import build_dirichlet
from fedexp.data.partition.iid import build_iid
from fedexp.data.partition.shards import build_shards
from fedexp.data.partition.size_skew import build_size_skew
