"""The run history: one record per run of a drill, in a local directory or an S3 prefix, the run lock beside them,
and the trends and regressions `drtool history` shows."""
