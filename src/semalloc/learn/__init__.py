"""Learned semantic transmitters, profiled into the performance models.

Needs the optional ``learn`` extra (PyTorch); ``import semalloc`` never does.
:mod:`semalloc.learn.asc` trains the adaptable-semantic-compression network of
Liu et al. (Sec. III) and writes an ``eta(o)`` profile that the
``compression`` generator takes as ``profile=path.json``;
:mod:`semalloc.learn.cli` is the ``semalloc learn`` command group.

Examples
--------
>>> from semalloc.learn.common import kept_count
>>> kept_count(0.8, 64)       # features sent at compression ratio 0.8
13
"""
