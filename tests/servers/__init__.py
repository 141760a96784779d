"""Real servers for the tests, started on 127.0.0.1 free ports by fixtures."""
