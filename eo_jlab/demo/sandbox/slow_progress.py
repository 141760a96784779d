"""A process that takes its time and says how far it is: an eo_jlab sandbox example process.

Run it asynchronously to watch a job's progress live in the Jobs section: it sleeps
``seconds`` in ``steps`` equal steps and reports each one with
``response.update_status(message, percent)``.

A sandbox process file offers its processes as a module-level ``processes`` list or, as here,
as pywps.Process subclasses whose ``__init__`` takes no arguments.
"""

import time

from pywps import LiteralInput, LiteralOutput, Process
from pywps.inout.literaltypes import ALLOWEDVALUETYPE, AllowedValue


def _range(low, high):
    return [AllowedValue(allowed_type=ALLOWEDVALUETYPE.RANGE, minval=low, maxval=high)]


class SlowProgress(Process):
    def __init__(self):
        super().__init__(
            self._handler,
            identifier="slow_progress",
            title="Slow process with progress",
            abstract="Waits the given number of seconds in equal steps, reporting its progress "
            "after each step: a job to watch while it runs.",
            keywords=["progress", "asynchronous", "demo"],
            version="1.0",
            inputs=[
                LiteralInput(
                    "seconds",
                    "Duration (s)",
                    data_type="integer",
                    abstract="How long the job runs, in seconds.",
                    default=20,
                    min_occurs=0,
                    allowed_values=_range(1, 600),
                ),
                LiteralInput(
                    "steps",
                    "Steps",
                    data_type="integer",
                    abstract="In how many steps (one progress report each).",
                    default=10,
                    min_occurs=0,
                    allowed_values=_range(1, 100),
                ),
            ],
            outputs=[LiteralOutput("summary", "Summary", data_type="string")],
            store_supported=True,
            status_supported=True,
        )

    def _handler(self, request, response):
        seconds = request.inputs["seconds"][0].data if "seconds" in request.inputs else 20
        steps = request.inputs["steps"][0].data if "steps" in request.inputs else 10
        started = time.monotonic()
        for step in range(steps):
            response.update_status(f"Step {step + 1} of {steps}", int(100 * step / steps))
            time.sleep(seconds / steps)
        elapsed = time.monotonic() - started
        response.outputs["summary"].data = f"Ran {steps} steps in {elapsed:.1f} seconds."
        return response
