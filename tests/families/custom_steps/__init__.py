"""A team's own step module, named by a drill file's `steps:` rather than shipped as a family."""
