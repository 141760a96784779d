"""Processing services (OGC WPS, OGC API - Processes, the local sandbox) and jobs."""
