@s3 @replication
Feature: Replicate an S3 bucket to the DR region, in time, completely and intact
  Each replicated bucket is checked the way an outage would test it: its
  replication is configured to reach the DR region with the DR-region key,
  new objects arrive there within the maximum lag, S3's own replication
  metrics stayed within the objectives over the window, and the replica holds
  every object of the source, identical. The drill writes only canary objects
  under drtool-canary/ and removes every version of them on both sides.

  @configuration
  Scenario: Replication is configured as the target expects
    Given each s3-replication target of the drill
    When the replication set-up of both buckets is read
    Then versioning, the rule, its keys, its options and its role are as the target expects

  @canary
  Scenario: Canary objects reach the replica within the maximum lag
    Given each s3-replication target of the drill
    When canary objects are written to the source bucket as production writes its data
    And each canary arrives in the replica bucket
    Then each replica is marked a replica, encrypted with the replica key and identical to its canary
    And the replication lag meets the objective

  @metrics
  Scenario: Replication metrics over the window meet the objectives
    Given each s3-replication target of the drill
    When the replication metrics over the window are read
    Then replication latency, pending and failed operations meet the objectives

  @audit
  Scenario: The replica holds every object of the source, identical
    Given each s3-replication target of the drill
    When the replica is audited against the source
    Then no object is missing, different, stuck or unreplicated for longer than the objective
