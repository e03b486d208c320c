"""`baaskit bench`: throughput, latency and cost of a local cluster, against the physical bound."""
