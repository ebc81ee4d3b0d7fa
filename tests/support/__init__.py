"""Helpers the tests of every area share: serving an app on a port, receiving events and mail,
reading metrics, reaching the databases, waiting for asynchronous work."""
