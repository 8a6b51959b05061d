"""The ``logpipeline`` command line: one sub-command group per capability."""
