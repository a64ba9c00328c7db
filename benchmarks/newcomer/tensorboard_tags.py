#!/usr/bin/env python3
"""Print every scalar curve (tag, points, last step) in the TensorBoard event files of the run folders given."""

import sys
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

for run in sys.argv[1:]:
    events = EventAccumulator(str(Path(run) / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    tags = events.Tags()
    print(f"{Path(run).name}: {len(tags['scalars'])} scalar curves, {len(tags['images'])} image tags, "
          f"{len(tags['histograms'])} histograms")
    for tag in sorted(tags["scalars"]):
        points = events.Scalars(tag)
        print(f"  {tag}: {len(points)} points, last at step {points[-1].step}")
