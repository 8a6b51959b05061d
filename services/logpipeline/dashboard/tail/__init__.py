"""The live tail: raw events from the input topic, filtered on the server and pushed to a page (``hub`` consumes,
``stream`` serves), and the logs of one minute read back from the raw archive (``archive``)."""
