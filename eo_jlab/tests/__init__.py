"""Python unit tests for eo_jlab."""
