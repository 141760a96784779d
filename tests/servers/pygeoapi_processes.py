"""Test processes for the pygeoapi fixture (tests/servers/pygeoapi.py).

This module runs inside pygeoapi's own venv (``.servers/pygeoapi``), never under pytest: the
fixture copies it next to the generated config and registers its classes by import path.

* ``slow`` sleeps ~3 s in steps and writes its progress into its own job record (pygeoapi
  itself only reports ``accepted`` until 95 %), so status polling sees intermediate progress.
  It also declares an enum, a ranged number, a bbox and a complex input, for describe tests.
* ``fail`` raises with a message of its own.
"""

from __future__ import annotations

import time

from pygeoapi.process.base import BaseProcessor, ProcessorExecuteError

SLOW = {
    "version": "1.0.0",
    "id": "slow",
    "title": "Slow",
    "description": "Counts to the given number of steps, reporting its progress.",
    "jobControlOptions": ["async-execute", "sync-execute"],
    "keywords": ["test"],
    "links": [],
    "inputs": {
        "steps": {
            "title": "Steps",
            "description": "How many steps of 0.5 s to take",
            "schema": {"type": "integer", "minimum": 1, "maximum": 20, "default": 6},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "colour": {
            "title": "Colour",
            "description": "An enumerated literal",
            "schema": {"type": "string", "enum": ["red", "green", "blue"], "default": "red"},
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "tags": {
            "title": "Tags",
            "description": "Repeated literal",
            "schema": {"type": "string"},
            "minOccurs": 0,
            "maxOccurs": "unbounded",
        },
        "area": {
            "title": "Area",
            "description": "A bounding box",
            "schema": {
                "type": "object",
                "required": ["bbox"],
                "properties": {
                    "bbox": {"type": "array", "items": {"type": "number"}},
                    "crs": {
                        "type": "string",
                        "format": "uri",
                        "enum": [
                            "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                            "http://www.opengis.net/def/crs/EPSG/0/4326",
                        ],
                        "default": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                    },
                },
            },
            "minOccurs": 0,
            "maxOccurs": 1,
        },
        "data": {
            "title": "Data",
            "description": "A complex input, inline or by reference",
            "schema": {
                "oneOf": [
                    {"type": "string", "contentMediaType": "application/geo+json"},
                    {"type": "object", "required": ["href"], "properties": {"href": {}}},
                ]
            },
            "minOccurs": 0,
            "maxOccurs": 1,
        },
    },
    "outputs": {
        "count": {
            "title": "Count",
            "description": "The number of steps taken",
            "schema": {"type": "object", "contentMediaType": "application/json"},
        }
    },
}

FAIL = {
    "version": "1.0.0",
    "id": "fail",
    "title": "Fail",
    "description": "Always fails with a message.",
    "jobControlOptions": ["async-execute", "sync-execute"],
    "keywords": ["test"],
    "links": [],
    "inputs": {
        "reason": {
            "title": "Reason",
            "schema": {"type": "string"},
            "minOccurs": 0,
            "maxOccurs": 1,
        }
    },
    "outputs": {"none": {"title": "Nothing", "schema": {"type": "string"}}},
}


class SlowProcessor(BaseProcessor):
    def __init__(self, processor_def):
        super().__init__(processor_def, SLOW)
        self.job_id = None

    def set_job_id(self, job_id):
        self.job_id = job_id

    def _progress(self, percent, message):
        if not self.job_id:
            return
        from pygeoapi.config import get_config
        from pygeoapi.process.manager.base import get_manager

        get_manager(get_config()).update_job(
            self.job_id, {"status": "running", "progress": percent, "message": message}
        )

    def execute(self, data, outputs=None):
        steps = int(data.get("steps", 6))
        for step in range(steps):
            self._progress(int(10 + 80 * step / steps), f"step {step + 1} of {steps}")
            time.sleep(0.5)
        return "application/json", {"id": "count", "value": steps}


class FailProcessor(BaseProcessor):
    def __init__(self, processor_def):
        super().__init__(processor_def, FAIL)

    def execute(self, data, outputs=None):
        raise ProcessorExecuteError(data.get("reason") or "the fail process always fails")
