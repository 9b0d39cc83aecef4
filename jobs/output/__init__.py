"""What a run writes: the data (``write``), its accounting (``accounting``) and ``_manifest.json`` (``manifest``).

Small-file and folder access on local and Hadoop filesystems is :mod:`jobs.filesystem`.
"""
