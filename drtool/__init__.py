"""drtool: executable disaster-recovery drills for AWS."""

__version__ = "0.1.0"
