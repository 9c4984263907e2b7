"""RDS quotas a drill must stay within, as AWS documents them."""

# "You can have up to 20 snapshot copy requests in progress to a single destination Region per account."
# (RDS User Guide, "Copying a DB snapshot for Amazon RDS", Limitations)
SNAPSHOT_COPIES_IN_PROGRESS = 20
