"""rootspan serve under concurrent clients (issue 16); writes JSON to the path given, or stdout.

    .venv/bin/python benchmarks/bench_serve.py [OUT.json]     # same as `rootspan bench serve --json`
"""

import json
import sys

from rootspan.agents.serve_bench import bench_serve

result = bench_serve()
text = json.dumps(result, indent=2)
if len(sys.argv) > 1:
    with open(sys.argv[1], "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
print(text)
