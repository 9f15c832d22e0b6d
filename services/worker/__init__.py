"""The worker service: fetch a page politely, extract, tag, hand the document on."""

import numpy  # noqa: F401  (loads the BLAS library that the limit below applies to)
from threadpoolctl import threadpool_limits

# A worker process computes on one core: its parallelism is the number of processes. numpy's
# BLAS would start a thread per core for each of the topic model's small matrix products, and
# those threads spin on the other processes' cores (measured in `make bench`: the worker's CPU
# per document doubled, and two worker processes ran slower than one). Limited at import,
# whichever module imports numpy first; a prefork child inherits it.
threadpool_limits(limits=1, user_api="blas")
