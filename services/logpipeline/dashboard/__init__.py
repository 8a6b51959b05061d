"""The Dash dashboard served by gunicorn: pages, components, callbacks and the data-access module.

Pure parts (no I/O, in the import contract): ``timerange`` (ranges and resolutions), ``viewstate`` (view
settings <-> URL), ``buckets`` (minute windows -> coarser buckets), ``model`` (the plain data one refresh
shows), ``figures`` and ``components`` (data -> Plotly figures and Bootstrap components), ``pages``
(layouts). I/O parts: ``data`` (owns the table reader and its cache, the sink's metrics), ``callbacks``,
``app`` (the WSGI app with /healthz, /readyz, /metrics), ``gunicorn_conf``.
"""
