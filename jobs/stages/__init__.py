"""Pipeline stages as DataFrame -> DataFrame functions (Spark wiring only; the text logic lives in udfs/).

Contract shared by every stage: the frame carries ``stage`` and ``reason`` columns, both null while a document
is alive. A stage computes its columns for every row but only tags rows that are still alive; a document it
drops gets ``stage=<stage name>`` and ``reason='<filter>:<rule>'``. Rejected rows flow on untouched, so the
final frame holds every record read and ``kept + rejected = read`` holds by construction. ``report`` is called the
same way after the write (``OUTPUT_STAGES`` in jobs/pipeline.py): its frame is every row written, and it filters
nothing.
"""
